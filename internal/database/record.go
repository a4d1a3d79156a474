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

	DLSourceBucket      string
	DLSourcePrefix      string
	DLDestinationBucket string
	DLDestinationPrefix string
	DLObjectCount       int64
	DLObjectsExcluded   int64
	DLTotalBytes        int64

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
type ProjectMetrics struct {
	ProjectID            string
	Environment          string
	TotalBackups         int64
	SucceededBackups     int64
	FailedBackups        int64
	ExpiredBackups       int64
	TotalDBSizeBytes     int64
	TotalDLBytes         int64
	TotalDLObjects       int64
	TimedBackups         int64
	TotalDurationSeconds float64
	LastBackupAt         *time.Time
	LastSuccessAt        *time.Time
}
