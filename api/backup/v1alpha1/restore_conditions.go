package v1alpha1

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types of a RestoreRequest (Ready and Archived are shared with BackupRequest).
const (
	// ConditionSourceVerified is True once the backup is resolved, belongs to the
	// namespace's project, its manifest and inventory checksums verify, and every
	// target passed validation.
	ConditionSourceVerified ConditionType = "SourceVerified"
	// ConditionDatabaseRestored is True once the new instance is available, or the
	// dump is loaded and its tables' row counts checked.
	ConditionDatabaseRestored ConditionType = "DatabaseRestored"
	// ConditionDocumentLibraryRestored is True once every backup object is at the target.
	ConditionDocumentLibraryRestored ConditionType = "DocumentLibraryRestored"
	// ConditionVerified is True once verifyOnly found the backup complete and intact.
	ConditionVerified ConditionType = "Verified"
	// ConditionSearchReindexRequired is True once a database was restored: Liferay's
	// search index is derived from the database and is not backed up, so the restored
	// portal must rebuild it (the message says how).
	ConditionSearchReindexRequired ConditionType = "SearchReindexRequired"
)

// SearchReindexMessage is what SearchReindexRequired tells the user to run.
const SearchReindexMessage = "Liferay's search index is not part of a backup: once the portal runs on the restored database, " +
	"reindex all search indexes (Control Panel > Configuration > Search > Index Actions > Reindex all search indexes, " +
	"or the Reindex action of each indexer); until then search, Documents and Media listings and Asset Publisher results may be empty or stale"

// Reasons of a RestoreRequest's conditions and events (the backup reasons apply too).
const (
	ReasonValidationFailed    Reason = "ValidationFailed"
	ReasonSourceNotReady      Reason = "SourceNotReady"
	ReasonChecksumMismatch    Reason = "ChecksumMismatch"
	ReasonTargetExists        Reason = "TargetExists"
	ReasonTargetNotEmpty      Reason = "TargetNotEmpty"
	ReasonOverwriteNotAllowed Reason = "OverwriteNotConfirmed"
	ReasonAlreadyRestored     Reason = "AlreadyRestored"
	ReasonSourceVerified      Reason = "Verified"
	ReasonRestoringDatabase   Reason = "Restoring"
	ReasonDatabaseAvailable   Reason = "Available"
	ReasonDatabaseFailed      Reason = "RestoreFailed"
	ReasonRestoringFiles      Reason = "RestoringFiles"
	ReasonFilesRestored       Reason = "Restored"
	ReasonBackupIncomplete    Reason = "BackupIncomplete"
	ReasonBackupIntact        Reason = "Intact"
	ReasonInUseByRestore      Reason = "InUseByRestore"
	ReasonRestoreCancelled    Reason = "Cancelled"
	ReasonNotRequested        Reason = "NotRequested"
	// ReasonDatabaseRestoredWithoutIndex: SearchReindexRequired after a database restore.
	ReasonDatabaseRestoredWithoutIndex Reason = "DatabaseRestoredWithoutIndex"
	// ReasonLoadingDump: the dumper is loading the backup's dump into the Secret's database.
	ReasonLoadingDump Reason = "LoadingDump"
	// ReasonDumpLoaded: the dump is loaded, read in full against its record, and the
	// row counts it recorded match the restored tables.
	ReasonDumpLoaded Reason = "DumpLoaded"
	// ReasonRowsMismatch: after a load, a table holds another number of rows than
	// the dump recorded.
	ReasonRowsMismatch Reason = "RowsMismatch"
	// ReasonVerifyingDump: verifyOnly's full read of the backup's dump is running in the dumper.
	ReasonVerifyingDump Reason = "VerifyingDump"
	// ReasonAwaitingHistory: a Succeeded RestoreRequest being deleted waits for its
	// history row, which is what refuses the same restore re-applied later.
	ReasonAwaitingHistory Reason = "AwaitingHistory"
)

// Condition returns the condition of type t, or nil.
func (st *RestoreRequestStatus) Condition(t ConditionType) *metav1.Condition {
	return meta.FindStatusCondition(st.Conditions, string(t))
}

// IsConditionTrue reports whether the condition of type t is True.
func (st *RestoreRequestStatus) IsConditionTrue(t ConditionType) bool {
	return meta.IsStatusConditionTrue(st.Conditions, string(t))
}

// SetCondition sets the condition of type t for st.ObservedGeneration, keeping its
// lastTransitionTime when the status does not change.
func (st *RestoreRequestStatus) SetCondition(t ConditionType, status metav1.ConditionStatus, reason Reason, message string, now time.Time) {
	setCondition(&st.Conditions, st.ObservedGeneration, t, status, reason, message, now)
}

// SetAsWaiting records that the restore waits for a slot of its project.
func (st *RestoreRequestStatus) SetAsWaiting(message string, now time.Time) {
	st.Phase = RestorePhasePending
	st.Message = message
	st.SetCondition(ConditionReady, metav1.ConditionFalse, ReasonWaitingForSlot, message, now)
}

// SetAsStarted records that the restore took a slot of its project.
func (st *RestoreRequestStatus) SetAsStarted(now metav1.Time) {
	st.Phase = RestorePhaseInProgress
	st.StartTime = &now
	st.Message = "restore started"
	st.SetCondition(ConditionReady, metav1.ConditionFalse, ReasonInProgress, "restore in progress", now.Time)
}

// SetAsFailed ends the restore in phase Failed.
func (st *RestoreRequestStatus) SetAsFailed(reason Reason, message string, now metav1.Time) {
	st.Phase = RestorePhaseFailed
	st.Message = message
	st.CompletionTime = &now
	st.SetCondition(ConditionReady, metav1.ConditionFalse, reason, message, now.Time)
}

// SetAsSucceeded ends the restore in phase Succeeded.
func (st *RestoreRequestStatus) SetAsSucceeded(summary string, now metav1.Time) {
	st.Phase = RestorePhaseSucceeded
	st.Message = summary
	st.CompletionTime = &now
	st.SetCondition(ConditionReady, metav1.ConditionTrue, ReasonSucceeded, summary, now.Time)
}
