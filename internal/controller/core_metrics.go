package controller

import (
	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// MetricsRecorder observes backups for Prometheus. Implementations keep label
// values bounded (project and environment, never a backup name).
type MetricsRecorder interface {
	// Started is called when a backup takes a slot.
	Started(br *backupv1alpha1.BackupRequest)
	// WaitingForQuota is called when a backup begins to wait because the cloud refused
	// it for quota (snapshot, instance, storage, other); once per wait.
	WaitingForQuota(br *backupv1alpha1.BackupRequest, quota string)
	// Finished is called when a backup reaches Succeeded or Failed (br has the final status).
	Finished(br *backupv1alpha1.BackupRequest)
	// Copied adds a finished copy's objects and bytes.
	Copied(br *backupv1alpha1.BackupRequest, objects, bytes int64)
	// Referenced adds the objects and bytes an Incremental backup found already stored.
	Referenced(br *backupv1alpha1.BackupRequest, objects, bytes int64)
	// Dumped records a verified dump's size and duration.
	Dumped(br *backupv1alpha1.BackupRequest, bytes int64, seconds float64)
	// DumpInstanceSwept counts a leaked throw-away dump instance the sweep deleted,
	// by the project and environment its owner tags name.
	DumpInstanceSwept(owner provider.BackupOwner)
	// Swept adds the stored objects and bytes a sweep of br's repository removed.
	Swept(br *backupv1alpha1.BackupRequest, objects, bytes int64)
	// RetentionDeleted counts a backup whose artefacts were removed; RetentionFailed a failed attempt.
	RetentionDeleted(br *backupv1alpha1.BackupRequest)
	RetentionFailed(br *backupv1alpha1.BackupRequest)
	// ProviderCall counts a provider API call and whether it failed.
	ProviderCall(operation string, err error)
}

// observeCall counts a provider call for the metrics, if configured.
func (r *BackupRequestReconciler) observeCall(op string, err error) {
	if r.Metrics != nil {
		r.Metrics.ProviderCall(op, err)
	}
}
