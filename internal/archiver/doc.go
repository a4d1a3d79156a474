// Package archiver writes the history of finished BackupRequests to PostgreSQL
// asynchronously, so the reconciler never waits on the database.
//
// The reconciler calls Enqueue when a BackupRequest reaches a terminal phase
// (Succeeded, Failed, Expired). Workers turn it into a database.BackupRecord and
// upsert it, retrying connection failures with exponential backoff. Only after the
// row is committed does the BackupRequest get condition Archived=True. At start and
// every resync interval the Archiver lists all BackupRequests and archives again
// every terminal one without that condition, so no record is lost while PostgreSQL
// is down or the controller restarts.
package archiver

// RBAC for the manager's role (controller-gen reads these markers).
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=backuprequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=backuprequests/status,verbs=get;patch
