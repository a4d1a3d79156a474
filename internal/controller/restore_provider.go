package controller

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// manifestURLProviders maps a manifest URL's scheme to the cloud that stores it: a
// manifest does not record its provider, but its URL names the storage it is in.
var manifestURLProviders = map[string]backupv1alpha1.CloudProvider{
	"s3://": backupv1alpha1.ProviderAWS,
}

// defaultBackupProvider is the provider a BackupRequest gets when its spec leaves it
// out (spec.provider's +kubebuilder:default=aws). A restore whose source names no
// provider yet (its BackupRequest is gone before the restore resolved it, or its
// manifest URL is not one the controller reads) uses it, so that the source step
// reports what is wrong with the source rather than a provider that is not there.
const defaultBackupProvider = backupv1alpha1.ProviderAWS

// restoreProvider is the provider of the cloud a restore reads and writes: the one its
// source backup names. A BackupRequest names it in spec.provider; a manifest read from
// a URL (status.source.manifestLocation once resolved, spec.source.manifest before)
// records none, so spec.source.provider names it, else the URL's scheme tells it. A provider this controller does not
// have is a failure (ProviderNotSupported); any other error is worth retrying.
func (r *RestoreRequestReconciler) restoreProvider(ctx context.Context, rr *backupv1alpha1.RestoreRequest) (provider.Provider, backupv1alpha1.CloudProvider, error) {
	name, err := r.restoreProviderName(ctx, rr)
	if err != nil {
		return nil, "", err
	}
	prov, err := r.Providers.Get(string(name))
	if err != nil {
		return nil, "", failWith(backupv1alpha1.ReasonProviderNotSupported, "%s", err.Error())
	}
	return prov, name, nil
}

// restoreProviderName is the name of restoreProvider's provider.
func (r *RestoreRequestReconciler) restoreProviderName(ctx context.Context, rr *backupv1alpha1.RestoreRequest) (backupv1alpha1.CloudProvider, error) {
	resolved := rr.Status.Source
	if name := rr.Spec.Source.BackupRequestName; name != "" {
		br := &backupv1alpha1.BackupRequest{}
		err := r.Get(ctx, client.ObjectKey{Namespace: rr.Namespace, Name: name}, br)
		switch {
		case err == nil && br.Spec.Provider != "" &&
			(resolved == nil || resolved.BackupRequestUID == "" || resolved.BackupRequestUID == string(br.UID)):
			return br.Spec.Provider, nil
		case err != nil && !apierrors.IsNotFound(err):
			return "", fmt.Errorf("get backup request %s/%s: %w", rr.Namespace, name, err)
		}
		// Gone, or replaced by another of the same name: the resolved manifest's URL tells.
	}
	if p := rr.Spec.Source.Provider; p != "" {
		return p, nil
	}
	location := rr.Spec.Source.Manifest
	if resolved != nil && resolved.ManifestLocation != "" {
		location = resolved.ManifestLocation
	}
	for scheme, cloud := range manifestURLProviders {
		if strings.HasPrefix(location, scheme) {
			return cloud, nil
		}
	}
	return defaultBackupProvider, nil
}
