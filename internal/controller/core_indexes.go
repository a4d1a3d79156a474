package controller

import (
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/admission"
)

// Cache indexes of BackupRequests: by spec.projectId (slots, retention) and by
// destination bucket (destination checks), so no pass lists every BackupRequest.
const (
	projectIndex     = admission.ProjectIndex
	destinationIndex = "spec.documentLibrary.destinationBucket"
	// manifestIndex finds the BackupRequest a restore from a manifest URL reads.
	manifestIndex = "status.manifest.location"
)

// indexers are the cache indexes of BackupRequests (RegisterIndexes registers them).
var indexers = map[string]client.IndexerFunc{
	projectIndex: admission.IndexProject,
	destinationIndex: func(o client.Object) []string {
		if dl := o.(*backupv1alpha1.BackupRequest).Spec.DocumentLibrary; dl != nil {
			return []string{string(dl.DestinationBucket)}
		}
		return nil
	},
	manifestIndex: func(o client.Object) []string {
		if m := o.(*backupv1alpha1.BackupRequest).Status.Manifest; m != nil && m.Location != "" {
			return []string{m.Location}
		}
		return nil
	},
}

// Cache indexes of RestoreRequests: by the backup they read, so a BackupRequest's
// retention and deletion find the restores reading it without listing them all.
// Both controllers read them; RegisterIndexes registers them once for both.
const (
	restoreSourceBackupIndex  = "status.source.backupId"
	restoreSourceRequestIndex = "spec.source.backupRequestName"
	// restoreSourceManifestIndex finds a restore from a manifest URL before it has
	// resolved its source (status.source is set by its first step).
	restoreSourceManifestIndex = "spec.source.manifest"
)

// restoreIndexers are the cache indexes of RestoreRequests.
var restoreIndexers = map[string]client.IndexerFunc{
	restoreSourceBackupIndex: func(o client.Object) []string {
		if src := o.(*backupv1alpha1.RestoreRequest).Status.Source; src != nil && src.BackupID != "" {
			return []string{src.BackupID}
		}
		return nil
	},
	restoreSourceRequestIndex: func(o client.Object) []string {
		if name := o.(*backupv1alpha1.RestoreRequest).Spec.Source.BackupRequestName; name != "" {
			return []string{name}
		}
		return nil
	},
	restoreSourceManifestIndex: func(o client.Object) []string {
		if location := o.(*backupv1alpha1.RestoreRequest).Spec.Source.Manifest; location != "" {
			return []string{location}
		}
		return nil
	},
}
