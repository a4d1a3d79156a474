package controller

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/artifact"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// checkTargetOutsideBackups adds a problem when the restore's target overlaps a
// backup other than its source: the destination of a BackupRequest that claimed it,
// or a prefix marked by a claim or manifest (a retained backup whose BackupRequest is
// gone). A restore there would write into, or with Overwrite replace, another backup's
// files. Decided from listings, before the first write.
func (r *RestoreRequestReconciler) checkTargetOutsideBackups(ctx context.Context, s *restoreScope, v *validation, target, prefix string) error {
	var all backupv1alpha1.BackupRequestList
	if err := r.List(ctx, &all, client.MatchingFields{destinationIndex: target}, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("list backup requests writing to bucket %s: %w", target, err)
	}
	for i := range all.Items {
		b := &all.Items[i]
		if b.Spec.DocumentLibrary == nil || b.Status.Claim == nil || b.Status.Phase == backupv1alpha1.PhaseExpired {
			continue // never wrote, or its files are gone
		}
		if provider.LocationsOverlap(target, prefix, b.Status.Claim.Bucket, b.Status.Claim.Prefix) {
			v.add(backupv1alpha1.ReasonValidationFailed,
				"spec.documentLibrary.targetPrefix: s3://%s/%s overlaps the backup of BackupRequest %s/%s at s3://%s/%s; choose a prefix outside every backup",
				target, prefix, b.Namespace, b.Name, b.Status.Claim.Bucket, b.Status.Claim.Prefix)
			return nil
		}
	}
	for _, ancestor := range append(layout.Ancestors(prefix), prefix) {
		if ancestor == "" {
			continue
		}
		for _, name := range []string{layout.ClaimName, layout.ManifestName} {
			found, err := artifact.ObjectExists(ctx, s.prov, target, ancestor+name)
			if err != nil {
				return err
			}
			if found {
				v.add(backupv1alpha1.ReasonValidationFailed,
					"spec.documentLibrary.targetPrefix: s3://%s/%s lies inside the backup at s3://%s/%s (its %s); choose a prefix outside every backup",
					target, prefix, target, ancestor, name)
				return nil
			}
		}
	}
	return nil
}
