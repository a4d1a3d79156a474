package archiver

import (
	"context"
	"errors"
	"time"

	"k8s.io/utils/clock"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/liferay/lc2-backup-controller/internal/database"
)

// Store is the part of the database client the Archiver uses.
type Store interface {
	Migrate(ctx context.Context) error
	// UpsertBackupRecordChanged writes r and reports whether the row changed.
	UpsertBackupRecordChanged(ctx context.Context, r *database.BackupRecord) (bool, error)
	// MarkBackupForDeletion and MarkBackupDeleted record that retention removed a backup.
	MarkBackupForDeletion(ctx context.Context, namespace, name string, deletionTime time.Time) error
	MarkBackupDeleted(ctx context.Context, uid string, deletedAt time.Time) error
	// UpsertRestoreRecordChanged writes r (a terminal row stays as it is) and reports
	// whether the row changed.
	UpsertRestoreRecordChanged(ctx context.Context, r *database.RestoreRecord) (bool, error)
	// FindCompletedRestore returns the newest Succeeded restore matching k, or nil.
	FindCompletedRestore(ctx context.Context, k database.RestoreKey) (*database.RestoreRecord, error)
}

// Options configures an Archiver. Client and Store are required.
type Options struct {
	// Client lists BackupRequests and RestoreRequests, patches their status and reads
	// namespaces' project labels (the manager's client).
	Client client.Client
	// APIReader, if set, reads the object right before its status patch,
	// bypassing the cache (the manager's GetAPIReader()); defaults to Client.
	APIReader client.Reader
	// Store is the backup-history database.
	Store Store
	// Registerer receives the archival metrics (controller-runtime's
	// metrics.Registry in the controller); nil registers nowhere.
	Registerer prometheus.Registerer

	// QueueSize bounds the objects waiting for archival (default 1024). Enqueue and
	// EnqueueRestore drop what does not fit; the next resync picks it up.
	QueueSize int
	// Workers is the number of concurrent upserts (default 8; archival waits on
	// commits and API round trips, not CPU).
	Workers int
	// ResyncInterval is how often all BackupRequests and RestoreRequests are listed
	// to archive those whose phase lacks Archived=True (default 1 minute).
	ResyncInterval time.Duration
	// InitialBackoff and MaxBackoff bound the per-item exponential backoff after a
	// failed upsert (defaults 200ms and 30s). An item is retried until committed.
	InitialBackoff, MaxBackoff time.Duration
	// SkipMigrate leaves the schema alone at start (it is migrated elsewhere).
	SkipMigrate bool
	// Clock is the time source (default the real clock), like the controller's.
	Clock clock.PassiveClock
}

func (o *Options) defaults() error {
	if o.Client == nil {
		return errors.New("archiver: Options.Client is required")
	}
	if o.Store == nil {
		return errors.New("archiver: Options.Store is required")
	}
	if o.APIReader == nil {
		o.APIReader = o.Client
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1024
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.ResyncInterval <= 0 {
		o.ResyncInterval = time.Minute
	}
	if o.InitialBackoff <= 0 {
		o.InitialBackoff = 200 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxBackoff < o.InitialBackoff {
		o.MaxBackoff = o.InitialBackoff
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return nil
}
