package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// preflightFailure is a reason the request can never run.
type preflightFailure struct {
	reason, message string
}

// preflight runs the checks that need neither a slot nor the cloud, and resolves the
// provider: a request for another project's data fails before anything is called in
// the cloud. The destination check, which reads the bucket, runs once a slot is free
// (checkDestination).
func (r *BackupRequestReconciler) preflight(ctx context.Context, br *backupv1alpha1.BackupRequest) (provider.Provider, *preflightFailure, error) {
	if f, err := r.checkTenant(ctx, br); f != nil || err != nil {
		return nil, f, err
	}
	if br.Spec.Database != nil && br.Spec.Database.Type == backupv1alpha1.DatabaseBackupDump {
		return nil, &preflightFailure{ReasonDatabaseTypeNotSupported,
			"spec.database.type \"dump\" is not implemented yet; use \"snapshot\""}, nil
	}
	prov, err := r.Providers.Get(string(br.Spec.Provider))
	if err != nil {
		return nil, &preflightFailure{ReasonProviderNotSupported, fmt.Sprintf("spec.provider %q is not supported yet; only aws is implemented", br.Spec.Provider)}, nil
	}
	return prov, nil, nil
}

// checkTenant enforces that a namespace backs up only its own project.
func (r *BackupRequestReconciler) checkTenant(ctx context.Context, br *backupv1alpha1.BackupRequest) (*preflightFailure, error) {
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, client.ObjectKey{Name: br.Namespace}, ns); err != nil {
		return nil, fmt.Errorf("get namespace %s: %w", br.Namespace, err)
	}
	key := r.Options.ProjectLabelKey
	label, ok := ns.Labels[key]
	switch {
	case !ok:
		return &preflightFailure{ReasonProjectMismatch, fmt.Sprintf(
			"namespace %s has no %s label; a cluster administrator must label it with its project before it can take backups", br.Namespace, key)}, nil
	case label != br.Spec.ProjectID:
		return &preflightFailure{ReasonProjectMismatch, fmt.Sprintf(
			"spec.projectId %q does not match namespace %s, which belongs to project %q (label %s)", br.Spec.ProjectID, br.Namespace, label, key)}, nil
	}
	return nil, nil
}

// destinationPrefix is spec.documentLibrary.destinationPrefix with a trailing '/'.
func destinationPrefix(dl *backupv1alpha1.DocumentLibraryBackupSpec) string {
	p := string(dl.DestinationPrefix)
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// prefixesOverlap is true when one prefix contains the other: retention deleting
// one backup would then delete the other's files.
func prefixesOverlap(a, b string) bool {
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

// checkDestination refuses a destination that holds, or is claimed by, another backup.
func (r *BackupRequestReconciler) checkDestination(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider) (*preflightFailure, error) {
	dl := br.Spec.DocumentLibrary
	if dl == nil {
		return nil, nil
	}
	bucket, prefix := string(dl.DestinationBucket), destinationPrefix(dl)

	var all backupv1alpha1.BackupRequestList
	if err := r.List(ctx, &all, client.MatchingFields{destinationIndex: bucket}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list backup requests writing to bucket %s: %w", bucket, err)
	}
	for i := range all.Items {
		other := &all.Items[i]
		if other.UID == br.UID || other.Spec.DocumentLibrary == nil || other.Status.Phase == backupv1alpha1.PhaseExpired {
			continue
		}
		if string(other.Spec.DocumentLibrary.DestinationBucket) != bucket || !prefixesOverlap(prefix, destinationPrefix(other.Spec.DocumentLibrary)) {
			continue
		}
		// Of two requests claiming one destination the older keeps it.
		if other.CreationTimestamp.Before(&br.CreationTimestamp) ||
			(other.CreationTimestamp.Equal(&br.CreationTimestamp) && other.UID < br.UID) {
			return &preflightFailure{ReasonDestinationInUse, fmt.Sprintf(
				"s3://%s/%s overlaps the destination of BackupRequest %s/%s; choose another spec.documentLibrary.destinationPrefix",
				bucket, prefix, other.Namespace, other.Name)}, nil
		}
	}

	rc, err := prov.DownloadObject(ctx, bucket, prefix+manifestName)
	if provider.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look for an existing manifest at s3://%s/%s%s: %w", bucket, prefix, manifestName, err)
	}
	defer rc.Close()
	var existing struct {
		BackupID string `json:"backupId"`
	}
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read existing manifest: %w", err)
	}
	if json.Unmarshal(data, &existing) != nil || existing.BackupID != backupID(br) {
		return &preflightFailure{ReasonDestinationInUse, fmt.Sprintf(
			"s3://%s/%s already holds the backup %q (its manifest.json); choose another spec.documentLibrary.destinationPrefix",
			bucket, prefix, existing.BackupID)}, nil
	}
	return nil, nil
}
