package database

import "time"

// BackupRecord is one row of backup_requests: the history of one BackupRequest,
// identified by its Kubernetes uid. Zero values of optional fields are stored as NULL.
type BackupRecord struct {
	UID         string
	Namespace   string
	Name        string
	ProjectID   string
	Environment string
	Provider    string
	Phase       string
	Reason      string
	Message     string

	DBBackupType    string
	DBInstanceID    string
	DBSnapshotID    string
	DBSnapshotARN   string
	DBEngine        string
	DBEngineVersion string
	DBSizeBytes     int64
	// Dump backups only (empty otherwise, stored as NULL): the verified dump's
	// location, size, lowercase hex SHA-256, the dumped server's version, the dump
	// program, and when the dump started and ended (verification included).
	DBDumpLocation       string
	DBDumpSizeBytes      int64
	DBDumpSHA256         string
	DBDumpServerVersion  string
	DBDumpTool           string
	DBDumpStartTime      *time.Time
	DBDumpCompletionTime *time.Time

	DLSourceBucket      string
	DLSourcePrefix      string
	DLDestinationBucket string
	DLDestinationPrefix string
	DLObjectCount       int64
	DLObjectsExcluded   int64
	DLTotalBytes        int64
	// DLMode is Full or Incremental; empty on a row written before migration 0003
	// (Full, when the row has a document library) or without a document library.
	DLMode string
	// Incremental only (zero for Full, stored as NULL): the objects and bytes copied
	// into the repository and those found there and referenced without a copy;
	// copied + referenced is at most DLObjectCount and DLTotalBytes. What a backup
	// stored is DLBytesCopied for Incremental and DLTotalBytes for Full.
	DLObjectsCopied     int64
	DLObjectsReferenced int64
	DLBytesCopied       int64
	DLBytesReferenced   int64
	// DLRepository is the repository of an Incremental backup, s3://bucket/prefix/.
	DLRepository string
	// DLConsistency is PointInTime or Live; DLPointInTime the moment the copied
	// versions were current.
	DLConsistency string
	DLPointInTime *time.Time

	ManifestLocation string
	ManifestChecksum string

	RetentionDays int32

	// RequestedAt is the BackupRequest's creation time; records are ordered by it.
	RequestedAt    time.Time
	StartTime      *time.Time
	CompletionTime *time.Time
	ExpiresAt      *time.Time

	// Set by the database; ignored by UpsertBackupRecord.
	DurationSeconds     *float64
	MarkedForDeletionAt *time.Time
	DeletedAt           *time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// ProjectMetrics is one row of backup_metrics: aggregates of a project environment.
// TotalDLBytes is the document-library bytes the backups stored: DLBytesCopied of
// Incremental backups, DLTotalBytes of Full ones. TotalDLBytesReferenced is the rest
// of the Incremental backups' size (already in the repository).
type ProjectMetrics struct {
	ProjectID              string
	Environment            string
	TotalBackups           int64
	SucceededBackups       int64
	FailedBackups          int64
	ExpiredBackups         int64
	TotalDBSizeBytes       int64
	TotalDLBytes           int64
	TotalDLBytesReferenced int64
	TotalDLObjects         int64
	TimedBackups           int64
	TotalDurationSeconds   float64
	LastBackupAt           *time.Time
	LastSuccessAt          *time.Time
}

// RestoreRecord is one row of restore_requests: the history of one RestoreRequest,
// identified by its Kubernetes uid. Zero values of optional fields are stored as
// NULL. A row is written on every phase change and is final once Succeeded or Failed.
type RestoreRecord struct {
	UID       string
	Namespace string
	Name      string
	// ProjectID and Environment are the backup's; empty when the restore failed
	// before its source was resolved (ProjectID then comes from the namespace's
	// project label, when it has one).
	ProjectID   string
	Environment string
	Phase       string
	Reason      string
	Message     string

	// The resolved source: the BackupRequest (when it still existed), the manifest's
	// backupId, the manifest's location and verified checksum, the snapshot.
	BackupRequestUID string
	BackupName       string
	BackupID         string
	ManifestLocation string
	ManifestChecksum string
	SnapshotID       string

	// The targets. TargetPrefix is the document-library key prefix ending with '/'
	// (empty: the bucket's root). ExistingObjects is Refuse, Skip or Overwrite.
	TargetInstanceID  string
	TargetInstanceARN string
	TargetBucket      string
	TargetPrefix      string
	ExistingObjects   string
	// VerifyOnly: the backup was checked, nothing was written.
	VerifyOnly bool

	// The outcome.
	ObjectsRestored  int64
	ObjectsSkipped   int64
	BytesRestored    int64
	ObjectsMissing   int64
	ObjectsDifferent int64

	// RequestedAt is the RestoreRequest's creation time.
	RequestedAt    time.Time
	StartTime      *time.Time
	CompletionTime *time.Time

	// Set by the database; ignored by UpsertRestoreRecord.
	DurationSeconds *float64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// RestoreKey identifies what a restore wrote, for the one-shot check
// (FindCompletedRestore): the project, the backup (the manifest's backupId) and the
// targets. An empty target field stands for "no such target" and matches only a
// restore that had none either. TargetPrefix is the key prefix as recorded (ending
// with '/', or empty for the bucket's root). ExcludeUID, if set, is a RestoreRequest
// uid whose own row is ignored (the restore asking).
type RestoreKey struct {
	ProjectID        string
	BackupID         string
	TargetInstanceID string
	TargetBucket     string
	TargetPrefix     string
	ExcludeUID       string
}
