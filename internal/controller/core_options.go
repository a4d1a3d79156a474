package controller

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/repository"
)

// Options tunes the BackupRequest controller. Zero values take the defaults below.
type Options struct {
	// MaxConcurrentBackupsPerProject is the number of BackupRequests of one project
	// that may be InProgress at once, across all namespaces (MAX_CONCURRENT_BACKUPS_PER_PROJECT).
	MaxConcurrentBackupsPerProject int
	// DefaultRetentionDays applies when spec.retentionDays is omitted (BACKUP_RETENTION_DAYS).
	DefaultRetentionDays int32
	// ProjectLabelKey is the namespace label that names the namespace's project.
	ProjectLabelKey string
	// BackupDeadline fails a backup still InProgress this long after it started.
	BackupDeadline time.Duration
	// SnapshotPollInitial is the wait before the first snapshot status check;
	// later checks wait as long as the snapshot has been running, up to SnapshotPollMax.
	SnapshotPollInitial, SnapshotPollMax time.Duration
	// SlotRetryInitial and SlotRetryMax bound the safety-net requeue of a request
	// waiting for a slot (it is normally woken at once when a slot frees).
	SlotRetryInitial, SlotRetryMax time.Duration
	// QuotaRetryInitial and QuotaRetryMax bound the wait of a backup the cloud refused
	// for an account quota (reason WaitingForQuota): the first retry comes after
	// QuotaRetryInitial, each later one after twice the previous wait, at most
	// QuotaRetryMax.
	QuotaRetryInitial, QuotaRetryMax time.Duration
	// ProgressInterval is how often status.documentLibrary is refreshed during a copy.
	ProgressInterval time.Duration
	// ManifestBucket receives the manifests of database-only backups; when empty
	// such backups have no manifest.
	ManifestBucket string
	// CopyConcurrency and MultipartThreshold are passed to the provider's copy (0: provider default).
	CopyConcurrency    int
	MultipartThreshold int64
	// MaxConcurrentReconciles is the number of reconcile workers. Workers mostly wait
	// on cloud API round trips, so there are many; per-project decisions are serialised.
	MaxConcurrentReconciles int
	// RetentionMinKept is how many of the newest successful backups of a project
	// environment expiry never removes.
	RetentionMinKept int
	// RetentionCheckInterval bounds how long a backup waits before its expiry is checked again.
	RetentionCheckInterval time.Duration
	// DeleteExpired deletes expired BackupRequests instead of keeping them as records
	// (off by default: a GitOps tool would recreate a deleted one and start a new backup).
	DeleteExpired bool
	// ResourceOwnership is how the controller checks that the database instance and
	// buckets a spec names belong to its project: OwnershipTags (the default) reads
	// their OwnershipTagKey tag; OwnershipNone trusts the spec (single-tenant installs).
	ResourceOwnership string
	// OwnershipTagKey is the cloud tag naming a resource's project.
	OwnershipTagKey string
	// LockNamespace holds the Leases that lock Incremental repositories: the
	// controller's own namespace (POD_NAMESPACE), so backups of one project in several
	// namespaces still share one lock.
	LockNamespace string
	// DumpPollInterval bounds how long a running dump waits before its run is looked
	// at again (the run's end wakes it at once; this is the safety net).
	DumpPollInterval time.Duration
	// DumpInstanceEndpoints maps the instances the dumper connects to (throw-away dump
	// instances, and the new instances a RestoreRequest loads a dump into; a
	// path.Match pattern of the instance identifier) to the host:port the dumper uses,
	// instead of the endpoint the provider reports. Local environments and tests only:
	// an emulator's RDS instance has no database behind it, so it is mapped to a local
	// server.
	DumpInstanceEndpoints map[string]string
	// DumpInstanceSweepInterval is how often the stores with a database service are
	// searched for throw-away dump instances no backup will delete (leaked).
	DumpInstanceSweepInterval time.Duration
	// DumperEnv is added to every dumper's environment: the store's configuration
	// (region, endpoint) as the manager has it.
	DumperEnv []corev1.EnvVar
	// SweepMaxDeletes bounds the stored objects one sweep pass removes; the sweep goes
	// on in the next pass, so a restart loses at most one pass.
	SweepMaxDeletes int
}

// Values of Options.ResourceOwnership.
const (
	OwnershipTags = "tags"
	OwnershipNone = "none"
)

// Defaults of Options.
const (
	DefaultMaxConcurrentBackupsPerProject = 2
	DefaultRetentionDays                  = 30
	DefaultProjectLabelKey                = "backup.liferay.cloud/project-id"
	DefaultBackupDeadline                 = 6 * time.Hour
	DefaultSnapshotPollInitial            = 15 * time.Second
	DefaultSnapshotPollMax                = 2 * time.Minute
	DefaultSlotRetryInitial               = 5 * time.Second
	DefaultSlotRetryMax                   = 30 * time.Second
	DefaultQuotaRetryInitial              = time.Minute
	DefaultQuotaRetryMax                  = 30 * time.Minute
	DefaultProgressInterval               = 3 * time.Second
	DefaultMaxConcurrentReconciles        = 32
	DefaultRetentionMinKept               = 1
	DefaultRetentionCheckInterval         = time.Hour
	DefaultDumpInstanceSweepInterval      = 10 * time.Minute
	DefaultLockNamespace                  = "default"
	DefaultDumpPollInterval               = time.Minute
)

// WithDefaults returns o with every zero field set to its default.
func (o Options) WithDefaults() Options {
	positiveOr(&o.MaxConcurrentBackupsPerProject, DefaultMaxConcurrentBackupsPerProject)
	positiveOr(&o.DefaultRetentionDays, DefaultRetentionDays)
	nonEmptyOr(&o.ProjectLabelKey, DefaultProjectLabelKey)
	positiveOr(&o.BackupDeadline, DefaultBackupDeadline)
	positiveOr(&o.SnapshotPollInitial, DefaultSnapshotPollInitial)
	if o.SnapshotPollMax < o.SnapshotPollInitial {
		o.SnapshotPollMax = max(DefaultSnapshotPollMax, o.SnapshotPollInitial)
	}
	positiveOr(&o.SlotRetryInitial, DefaultSlotRetryInitial)
	if o.SlotRetryMax < o.SlotRetryInitial {
		o.SlotRetryMax = max(DefaultSlotRetryMax, o.SlotRetryInitial)
	}
	positiveOr(&o.QuotaRetryInitial, DefaultQuotaRetryInitial)
	if o.QuotaRetryMax < o.QuotaRetryInitial {
		o.QuotaRetryMax = max(DefaultQuotaRetryMax, o.QuotaRetryInitial)
	}
	positiveOr(&o.ProgressInterval, DefaultProgressInterval)
	positiveOr(&o.RetentionMinKept, DefaultRetentionMinKept)
	positiveOr(&o.RetentionCheckInterval, DefaultRetentionCheckInterval)
	positiveOr(&o.DumpInstanceSweepInterval, DefaultDumpInstanceSweepInterval)
	nonEmptyOr(&o.LockNamespace, DefaultLockNamespace)
	positiveOr(&o.SweepMaxDeletes, repository.DefaultMaxDeletes)
	positiveOr(&o.DumpPollInterval, DefaultDumpPollInterval)
	nonEmptyOr(&o.ResourceOwnership, OwnershipTags)
	nonEmptyOr(&o.OwnershipTagKey, backupv1alpha1.OwnershipTagKey)
	positiveOr(&o.MaxConcurrentReconciles, DefaultMaxConcurrentReconciles)
	return o
}

// positiveOr sets *v to def unless it is positive.
func positiveOr[T int | int32 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// nonEmptyOr sets *v to def when it is empty.
func nonEmptyOr(v *string, def string) {
	if *v == "" {
		*v = def
	}
}

// inventoryFlushTimeout bounds the inventory writes of one copy run.
const inventoryFlushTimeout = 10 * time.Minute
