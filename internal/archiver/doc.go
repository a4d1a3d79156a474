// Package archiver writes the history of BackupRequests and RestoreRequests to
// PostgreSQL asynchronously, so the reconcilers never wait on the database.
//
// The backup reconciler calls Enqueue when a BackupRequest reaches a terminal
// phase (Succeeded, Failed, Expired); the restore reconciler calls EnqueueRestore
// on every phase change of a RestoreRequest (Pending, InProgress, Succeeded,
// Failed; a Succeeded or Failed row is final). Workers turn the object into a
// database.BackupRecord or database.RestoreRecord and upsert it, retrying
// connection failures with exponential backoff. Only after the row is committed
// does the object get condition Archived=True together with status.archivedPhase,
// the phase recorded (a record the database refuses gets Archived=False, reason
// InvalidRecord, and archivedPhase too, so it is not retried). At start and every
// resync interval the Archiver lists all BackupRequests and RestoreRequests and
// archives again every phase whose archival has not concluded, so no record is
// lost while PostgreSQL is down or the controller restarts.
//
// CompletedRestore answers the restore reconciler's one-shot question (has this
// backup already been restored into these targets?) from the queue and the history.
package archiver

// RBAC for the manager's role (controller-gen reads these markers).
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=backuprequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=backuprequests/status,verbs=get;patch
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=restorerequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=backup.liferay.cloud,resources=restorerequests/status,verbs=get;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
