package v1alpha1

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConditionType names a condition of a BackupRequest.
type ConditionType string

// Condition types of a BackupRequest. Each step of a backup owns one.
const (
	// ConditionReady is True once the backup Succeeded; its reason says why it is not (yet).
	ConditionReady ConditionType = "Ready"
	// ConditionClaimed is True once the resources the spec names are verified to belong
	// to its project and the destination is claimed (or there is none to claim).
	ConditionClaimed ConditionType = "Claimed"
	// ConditionDatabaseSnapshotReady is True once the database snapshot is available.
	ConditionDatabaseSnapshotReady ConditionType = "DatabaseSnapshotReady"
	// ConditionDatabaseDumped is True once the logical dump is stored and verified
	// (type: dump).
	ConditionDatabaseDumped ConditionType = "DatabaseDumped"
	// ConditionDocumentLibraryCopied is True once every selected object is at the destination.
	ConditionDocumentLibraryCopied ConditionType = "DocumentLibraryCopied"
	// ConditionManifestWritten is True once the manifest is stored.
	ConditionManifestWritten ConditionType = "ManifestWritten"
	// ConditionArtifactsRemoved reports the removal of a backup's snapshot and files, by
	// retention or deletion; False with reason CleanupFailed while it keeps failing.
	ConditionArtifactsRemoved ConditionType = "ArtifactsRemoved"
	// ConditionArchived is True once the current phase is committed to the backup history.
	ConditionArchived ConditionType = "Archived"
)

// Reason says why a condition has its status; Events use the same words. Each value
// names one thing across all kinds, so no two Reason constants share a value
// (TestReasonsAreDistinct).
type Reason string

// Reasons of a BackupRequest's conditions and events.
const (
	// Ready.
	ReasonWaitingForSlot Reason = "WaitingForSlot"
	// ReasonWaitingForQuota: the cloud refused a call of the backup for an account
	// quota (RDS SnapshotQuotaExceeded, for example). The backup is not failed: it is
	// back in its project's queue (phase Pending) without holding a slot, and tries
	// again at status.quotaWait.retryAt, with a growing interval.
	ReasonWaitingForQuota Reason = "WaitingForQuota"
	ReasonInProgress      Reason = "InProgress"
	ReasonSucceeded       Reason = "Succeeded"
	ReasonExpired         Reason = "Expired"

	// Refusals before the first write.
	ReasonProjectMismatch          Reason = "ProjectMismatch"
	ReasonResourceNotOwned         Reason = "ResourceNotOwned"
	ReasonDestinationInUse         Reason = "DestinationInUse"
	ReasonDestinationNotEmpty      Reason = "DestinationNotEmpty"
	ReasonProviderNotSupported     Reason = "ProviderNotSupported"
	ReasonDatabaseTypeNotSupported Reason = "DatabaseTypeNotSupported"
	ReasonInvalidInput             Reason = "InvalidInput"

	// Failures while running.
	ReasonDeadlineExceeded Reason = "DeadlineExceeded"
	ReasonNotFound         Reason = "NotFound"
	ReasonAccessDenied     Reason = "AccessDenied"
	ReasonConflict         Reason = "Conflict"
	ReasonQuotaExceeded    Reason = "QuotaExceeded"
	ReasonTransientError   Reason = "TransientError"

	// Claimed.
	ReasonClaimed        Reason = "Claimed"
	ReasonNothingToClaim Reason = "NothingToClaim"

	// DatabaseSnapshotReady.
	ReasonSnapshotCreating  Reason = "SnapshotCreating"
	ReasonSnapshotAvailable Reason = "SnapshotAvailable"
	ReasonSnapshotFailed    Reason = "SnapshotFailed"
	ReasonSnapshotMissing   Reason = "SnapshotMissing"

	// DatabaseDumped.
	ReasonDumping Reason = "Dumping"
	ReasonDumped  Reason = "Dumped"
	// ReasonRestoringDumpInstance: the snapshot is being restored into the throw-away
	// instance a Snapshot-source dump reads.
	ReasonRestoringDumpInstance Reason = "RestoringDumpInstance"
	// ReasonDumpInstanceDeleted: the throw-away instance was deleted (event).
	ReasonDumpInstanceDeleted Reason = "DumpInstanceDeleted"
	// ReasonSnapshotReleased: keepSnapshot: false deleted the dumped snapshot (event).
	ReasonSnapshotReleased Reason = "SnapshotReleased"
	// ReasonDumpFailed: a process of the dump exited non-zero or was signalled, the
	// stream ended short, or the upload failed; the upload was aborted.
	ReasonDumpFailed Reason = "DumpFailed"
	// ReasonDumpVerifyFailed: the stored dump differs from what was sent or fails its full read.
	ReasonDumpVerifyFailed Reason = "DumpVerifyFailed"
	// ReasonDumpServerTooNew: the server's major version is newer than the dumper's tools.
	ReasonDumpServerTooNew Reason = "DumpServerTooNew"
	// ReasonDatabaseAuthenticationFailed: the database refused the Secret's user or password.
	ReasonDatabaseAuthenticationFailed Reason = "DatabaseAuthenticationFailed"
	// ReasonDatabaseUnreachable: the database named by the Secret could not be reached.
	ReasonDatabaseUnreachable Reason = "DatabaseUnreachable"
	// ReasonConnectionSecretInvalid: the connection Secret is missing or lacks a key.
	ReasonConnectionSecretInvalid Reason = "ConnectionSecretInvalid"

	// DocumentLibraryCopied.
	ReasonCopying    Reason = "Copying"
	ReasonCopied     Reason = "Copied"
	ReasonCopyFailed Reason = "CopyFailed"
	// ReasonWaitingForRepository: an Incremental copy waits for a sweep of its
	// repository to finish before it reads which objects the repository holds.
	ReasonWaitingForRepository Reason = "WaitingForRepository"

	// ManifestWritten.
	ReasonManifestWritten  Reason = "Written"
	ReasonNoManifestBucket Reason = "NoManifestBucket"
	ReasonManifestFailed   Reason = "ManifestFailed"

	// ArtifactsRemoved.
	ReasonRemoved       Reason = "Removed"
	ReasonCleanupFailed Reason = "CleanupFailed"
	ReasonKeptAsNewest  Reason = "KeptAsNewest"
	// ReasonSweeping: an Incremental backup's own files are gone and the repository's
	// sweep (removing stored objects no remaining backup references) is under way or
	// waits for running backups of the repository.
	ReasonSweeping Reason = "Sweeping"

	// Archived.
	ReasonRecorded      Reason = "Recorded"
	ReasonInvalidRecord Reason = "InvalidRecord"

	// Events only.
	ReasonStarted Reason = "Started"
	// ReasonRepositorySwept: a sweep removed the stored objects no backup references.
	ReasonRepositorySwept Reason = "RepositorySwept"
)

// maxConditionMessage keeps condition messages well within the API's 32768-byte limit.
const maxConditionMessage = 4096

// setCondition sets the condition of type t in conds for generation gen, keeping its
// lastTransitionTime when the status does not change; every kind's SetCondition uses it.
func setCondition(conds *[]metav1.Condition, gen int64, t ConditionType, status metav1.ConditionStatus, reason Reason, message string, now time.Time) {
	if len(message) > maxConditionMessage {
		message = message[:maxConditionMessage-3] + "..."
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type:               string(t),
		Status:             status,
		Reason:             string(reason),
		Message:            message,
		ObservedGeneration: gen,
		LastTransitionTime: metav1.NewTime(now),
	})
}

// Condition returns the condition of type t, or nil.
func (st *BackupRequestStatus) Condition(t ConditionType) *metav1.Condition {
	return meta.FindStatusCondition(st.Conditions, string(t))
}

// IsConditionTrue reports whether the condition of type t is True.
func (st *BackupRequestStatus) IsConditionTrue(t ConditionType) bool {
	return meta.IsStatusConditionTrue(st.Conditions, string(t))
}

// SetCondition sets the condition of type t for st.ObservedGeneration, keeping its
// lastTransitionTime when the status does not change.
func (st *BackupRequestStatus) SetCondition(t ConditionType, status metav1.ConditionStatus, reason Reason, message string, now time.Time) {
	setCondition(&st.Conditions, st.ObservedGeneration, t, status, reason, message, now)
}

// SetAsWaiting records that the request waits for a slot of its project.
func (st *BackupRequestStatus) SetAsWaiting(message string, now time.Time) {
	st.Phase = PhasePending
	st.Message = message
	st.SetCondition(ConditionReady, metav1.ConditionFalse, ReasonWaitingForSlot, message, now)
}

// SetAsWaitingForQuota records that the cloud refused the backup for an account
// quota: it goes back to its project's queue (phase Pending, no slot held) until
// retryAt. The first refusal of a wait starts it (since); later ones count attempts.
// It reports whether this refusal started a new wait.
func (st *BackupRequestStatus) SetAsWaitingForQuota(quota, message string, now, retryAt time.Time) (started bool) {
	st.Phase = PhasePending
	st.Message = message
	if started = !st.QuotaWait.Waiting(quota); started {
		st.QuotaWait = &QuotaWaitStatus{Quota: quota, Since: metav1.NewTime(now)}
	}
	st.QuotaWait.Attempts++
	st.QuotaWait.RetryAt = metav1.NewTime(retryAt)
	st.SetCondition(ConditionReady, metav1.ConditionFalse, ReasonWaitingForQuota, message, now)
	return started
}

// Waiting reports whether w is a wait for quota that has not ended.
func (w *QuotaWaitStatus) Waiting(quota string) bool {
	return w != nil && w.EndTime == nil && w.Quota == quota
}

// EndQuotaWait records that the call the cloud refused for a quota went through;
// status.quotaWait stays as the record of the wait.
func (st *BackupRequestStatus) EndQuotaWait(now time.Time) {
	if w := st.QuotaWait; w != nil && w.EndTime == nil {
		w.EndTime = &metav1.Time{Time: now}
	}
}

// WaitsForQuota reports whether the backup waits for a quota and its next attempt is
// still ahead of now: until then it does not queue for a slot.
func (st *BackupRequestStatus) WaitsForQuota(now time.Time) bool {
	w := st.QuotaWait
	return st.Phase == PhasePending && w != nil && w.EndTime == nil && now.Before(w.RetryAt.Time)
}

// SetAsStarted records that the backup took a slot of its project. A backup resumed
// after a quota wait keeps its first startTime: the backup deadline counts from there.
func (st *BackupRequestStatus) SetAsStarted(now metav1.Time) {
	st.Phase = PhaseInProgress
	if st.StartTime == nil {
		st.StartTime = &now
	}
	st.Message = "backup started"
	st.SetCondition(ConditionReady, metav1.ConditionFalse, ReasonInProgress, "backup in progress", now.Time)
}

// SetAsFailed ends the backup in phase Failed. A backup that left artefacts expires at
// expiresAt; one refused before its first write has nothing to expire.
func (st *BackupRequestStatus) SetAsFailed(reason Reason, message string, now, expiresAt metav1.Time) {
	st.Phase = PhaseFailed
	st.Message = message
	st.CompletionTime = &now
	if st.HasArtifacts() {
		st.ExpiresAt = &expiresAt
	}
	st.SetCondition(ConditionReady, metav1.ConditionFalse, reason, message, now.Time)
}

// SetAsSucceeded ends the backup in phase Succeeded.
func (st *BackupRequestStatus) SetAsSucceeded(summary, size string, now, expiresAt metav1.Time) {
	st.Phase = PhaseSucceeded
	st.CompletionTime = &now
	st.ExpiresAt = &expiresAt
	st.Message = summary
	st.Size = size
	st.SetCondition(ConditionReady, metav1.ConditionTrue, ReasonSucceeded, summary, now.Time)
}

// SetAsExpired records that retention removed the backup's artefacts (or kept them,
// as summary says); the object stays as a record.
func (st *BackupRequestStatus) SetAsExpired(summary string, now time.Time) {
	st.Phase = PhaseExpired
	st.Message = "expired: " + summary
	st.SetCondition(ConditionReady, metav1.ConditionFalse, ReasonExpired, st.Message, now)
}

// HasArtifacts reports whether the backup left anything in the cloud that retention
// could remove: a snapshot, a throw-away dump instance or a claimed destination. A
// request refused before its first write has none.
func (st *BackupRequestStatus) HasArtifacts() bool {
	return st.Claim != nil || (st.Database != nil && (st.Database.SnapshotID != "" && !st.Database.SnapshotDeleted || st.Database.DumpInstance.Pending()))
}
