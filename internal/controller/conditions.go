package controller

// Condition types of a BackupRequest.
const (
	// ConditionReady is True once the backup Succeeded; its reason says why it is not (yet).
	ConditionReady = "Ready"
	// ConditionDatabaseSnapshotReady is True once the database snapshot is available.
	ConditionDatabaseSnapshotReady = "DatabaseSnapshotReady"
	// ConditionDocumentLibraryCopied is True once every selected object is at the destination.
	ConditionDocumentLibraryCopied = "DocumentLibraryCopied"
	// ConditionManifestWritten is True once the manifest is stored.
	ConditionManifestWritten = "ManifestWritten"
)

// Reasons used in conditions and events.
const (
	ReasonPending                  = "Pending"
	ReasonWaitingForSlot           = "WaitingForSlot"
	ReasonStarted                  = "Started"
	ReasonInProgress               = "InProgress"
	ReasonSucceeded                = "Succeeded"
	ReasonSnapshotCreating         = "SnapshotCreating"
	ReasonSnapshotAvailable        = "SnapshotAvailable"
	ReasonSnapshotFailed           = "SnapshotFailed"
	ReasonSnapshotMissing          = "SnapshotMissing"
	ReasonCopying                  = "Copying"
	ReasonCopied                   = "Copied"
	ReasonCopyFailed               = "CopyFailed"
	ReasonManifestWritten          = "Written"
	ReasonNoManifestBucket         = "NoManifestBucket"
	ReasonManifestFailed           = "ManifestFailed"
	ReasonProjectMismatch          = "ProjectMismatch"
	ReasonDestinationInUse         = "DestinationInUse"
	ReasonDestinationNotEmpty      = "DestinationNotEmpty"
	ReasonResourceNotOwned         = "ResourceNotOwned"
	ReasonProviderNotSupported     = "ProviderNotSupported"
	ReasonDatabaseTypeNotSupported = "DatabaseTypeNotSupported"
	ReasonDeadlineExceeded         = "DeadlineExceeded"
	ReasonNotFound                 = "NotFound"
	ReasonAccessDenied             = "AccessDenied"
	ReasonConflict                 = "Conflict"
	ReasonInvalidInput             = "InvalidInput"
	ReasonQuotaExceeded            = "QuotaExceeded"
	ReasonTransientError           = "TransientError"
)
