package archiver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/database"
)

// Archiver archives terminal BackupRequests, and RestoreRequests at every phase,
// to the backup history. It is a controller-runtime manager.Runnable that runs on
// the leader only. A nil *Archiver is valid and does nothing (archival disabled).
type Archiver struct {
	opts    Options
	metrics *metrics
	queue   workqueue.TypedRateLimitingInterface[itemKey]

	mu      sync.Mutex
	pending map[itemKey]client.Object // newest state to archive, per object

	// migrated is set once the schema is up to date (or left to others): from then
	// on the history can be queried (CompletedRestore).
	migrated atomic.Bool

	// afterCommit, if set (tests, benchmark), is called when a row is committed.
	afterCommit func(br *backupv1.BackupRequest, committed time.Time)
}

// New returns an Archiver; add it to the manager (mgr.Add) to run it.
func New(opts Options) (*Archiver, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("register archival metrics: %w", err)
	}
	limiter := workqueue.NewTypedItemExponentialFailureRateLimiter[itemKey](opts.InitialBackoff, opts.MaxBackoff)
	return &Archiver{
		opts:    opts,
		metrics: m,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(limiter,
			workqueue.TypedRateLimitingQueueConfig[itemKey]{Name: "archiver"}),
		pending: map[itemKey]client.Object{},
	}, nil
}

// Kinds of the objects archived.
const (
	kindBackup  = "BackupRequest"
	kindRestore = "RestoreRequest"
)

// itemKey names one queued object: a BackupRequest and a RestoreRequest may share
// a namespace and name.
type itemKey struct {
	kind string
	types.NamespacedName
}

func (k itemKey) String() string { return k.kind + " " + k.NamespacedName.String() }

func keyOf(obj client.Object) itemKey {
	kind := kindBackup
	if _, ok := obj.(*backupv1.RestoreRequest); ok {
		kind = kindRestore
	}
	return itemKey{kind: kind, NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}}
}

// NeedLeaderElection makes the Archiver run on the elected leader only.
func (a *Archiver) NeedLeaderElection() bool { return true }

// Enqueue asks for br to be archived if it is in a terminal phase not archived
// yet. It never blocks: when the queue is full the BackupRequest is left to the
// next resync. Safe on a nil Archiver.
func (a *Archiver) Enqueue(br *backupv1.BackupRequest) {
	if a == nil || br == nil || !br.Status.Phase.IsTerminal() || IsArchived(br) {
		return
	}
	a.add(br.DeepCopy())
}

// EnqueueRestore asks for rr's current phase (Pending, InProgress, Succeeded or
// Failed) to be archived if it is not yet. The reconciler calls it on every phase
// change. It never blocks: when the queue is full the RestoreRequest is left to the
// next resync. Safe on a nil Archiver.
func (a *Archiver) EnqueueRestore(rr *backupv1.RestoreRequest) {
	if a == nil || rr == nil || rr.Status.Phase == "" || IsRestoreArchived(rr) {
		return
	}
	a.add(rr.DeepCopy())
}

// HistorySettled reports whether rr's current phase is in the history, or was refused
// by it for good (Archived=False, InvalidRecord). A nil Archiver has no history:
// nothing to wait for.
func (a *Archiver) HistorySettled(rr *backupv1.RestoreRequest) bool {
	return a == nil || IsRestoreArchived(rr) || restoreArchival(rr).rejected()
}

// add keeps the newest state of the object and queues its key once.
func (a *Archiver) add(obj client.Object) bool {
	key := keyOf(obj)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, queued := a.pending[key]; !queued && len(a.pending) >= a.opts.QueueSize {
		return false
	}
	a.pending[key] = obj
	a.metrics.pending.Set(float64(len(a.pending)))
	a.queue.Add(key)
	return true
}

// take returns the state to archive for key.
func (a *Archiver) take(key itemKey) client.Object {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pending[key]
}

// finish forgets obj unless a different state of the object arrived meanwhile
// (a copy of the same resourceVersion, queued by a resync, is the same state).
func (a *Archiver) finish(key itemKey, obj client.Object) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if cur := a.pending[key]; cur == obj || (cur != nil && cur.GetUID() == obj.GetUID() &&
		cur.GetResourceVersion() != "" && cur.GetResourceVersion() == obj.GetResourceVersion()) {
		delete(a.pending, key)
	}
	a.metrics.pending.Set(float64(len(a.pending)))
}

// Start migrates the schema (retrying until PostgreSQL answers), then archives
// until ctx ends. It returns nil on shutdown: backup history problems never stop
// the controller.
func (a *Archiver) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("archiver")
	ctx = ctrl.LoggerInto(ctx, log)
	go func() { <-ctx.Done(); a.queue.ShutDown() }()

	if !a.opts.SkipMigrate && !a.migrate(ctx) {
		return nil
	}
	a.migrated.Store(true)
	var wg sync.WaitGroup
	for range a.opts.Workers {
		wg.Go(func() {
			for a.processNext(ctx) {
			}
		})
	}
	log.Info("archiver started", "workers", a.opts.Workers, "resyncInterval", a.opts.ResyncInterval)
	ticker := time.NewTicker(a.opts.ResyncInterval)
	defer ticker.Stop()
	for {
		a.resync(ctx)
		select {
		case <-ctx.Done():
			wg.Wait()
			log.Info("archiver stopped")
			return nil
		case <-ticker.C:
		}
	}
}

// migrate applies the schema, retrying with backoff; false when ctx ended first.
func (a *Archiver) migrate(ctx context.Context) bool {
	log := ctrl.LoggerFrom(ctx)
	backoff := a.opts.InitialBackoff
	for {
		err := a.opts.Store.Migrate(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if database.IsRetryable(err) {
			a.metrics.failures.WithLabelValues(failureConnection).Inc()
			log.Info("backup history database unavailable, retrying schema migration", "error", err.Error(), "backoff", backoff)
		} else {
			a.metrics.failures.WithLabelValues(failureDatabase).Inc()
			log.Error(err, "backup history schema migration failed, retrying", "backoff", backoff)
		}
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(2*backoff, a.opts.MaxBackoff)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// resync queues every terminal BackupRequest, and every RestoreRequest with a
// phase, whose phase is not archived yet. The two lists are independent: one
// failing does not hold up the other.
func (a *Archiver) resync(ctx context.Context) {
	queued, full := 0, 0
	count := func(obj client.Object) {
		if a.add(obj) {
			queued++
		} else {
			full++
		}
	}
	a.resyncBackups(ctx, count)
	a.resyncRestores(ctx, count)
	if queued > 0 || full > 0 {
		ctrl.LoggerFrom(ctx).Info("archival resync", "queued", queued, "queueFull", full)
	}
}

// resyncBackups queues every ended BackupRequest whose history row is not written yet.
func (a *Archiver) resyncBackups(ctx context.Context, queue func(client.Object)) {
	var backups backupv1.BackupRequestList
	if err := a.opts.Client.List(ctx, &backups); err != nil {
		if ctx.Err() == nil {
			ctrl.LoggerFrom(ctx).Error(err, "list BackupRequests for archival resync")
		}
		return
	}
	for i := range backups.Items {
		br := &backups.Items[i]
		if br.Status.Phase.IsTerminal() && !IsArchived(br) && !backupArchival(br).rejected() {
			queue(br.DeepCopy())
		}
	}
}

// resyncRestores queues every started RestoreRequest whose history row is not current.
func (a *Archiver) resyncRestores(ctx context.Context, queue func(client.Object)) {
	var restores backupv1.RestoreRequestList
	if err := a.opts.Client.List(ctx, &restores); err != nil {
		if ctx.Err() == nil {
			ctrl.LoggerFrom(ctx).Error(err, "list RestoreRequests for archival resync")
		}
		return
	}
	for i := range restores.Items {
		rr := &restores.Items[i]
		if rr.Status.Phase != "" && !IsRestoreArchived(rr) && !restoreArchival(rr).rejected() {
			queue(rr.DeepCopy())
		}
	}
}

func (a *Archiver) processNext(ctx context.Context) bool {
	key, shutdown := a.queue.Get()
	if shutdown {
		return false
	}
	defer a.queue.Done(key)
	obj := a.take(key)
	if obj == nil {
		a.queue.Forget(key)
		return true
	}
	var retryLater bool
	switch o := obj.(type) {
	case *backupv1.BackupRequest:
		log := ctrl.LoggerFrom(ctx).WithValues("backupRequest", key.NamespacedName.String(), "phase", o.Status.Phase)
		retryLater = a.archive(logr.NewContext(ctx, log), key, o)
	case *backupv1.RestoreRequest:
		log := ctrl.LoggerFrom(ctx).WithValues("restoreRequest", key.NamespacedName.String(), "phase", o.Status.Phase)
		retryLater = a.archiveRestore(logr.NewContext(ctx, log), key, o)
	}
	if retryLater && ctx.Err() == nil {
		// Stays pending; retried after the item's exponential backoff.
		a.queue.AddRateLimited(key)
		return true
	}
	a.queue.Forget(key)
	a.finish(key, obj)
	return true
}

// archive upserts br's record and then sets its Archived condition. It returns
// true when the upsert should be retried with backoff.
func (a *Archiver) archive(ctx context.Context, key itemKey, br *backupv1.BackupRequest) bool {
	log := ctrl.LoggerFrom(ctx)
	rec := RecordFromBackupRequest(br, a.opts.Clock.Now())
	changed, err := a.opts.Store.UpsertBackupRecordChanged(ctx, rec)
	if err != nil {
		return a.upsertFailed(ctx, key, br.UID, string(br.Status.Phase), "backup record", err)
	}
	if br.Status.Phase == backupv1.PhaseExpired {
		if err := a.markExpired(ctx, br); err != nil {
			a.metrics.failures.WithLabelValues(failureDatabase).Inc()
			log.Info("mark expired backup deleted in history, will retry", "error", err.Error())
			return ctx.Err() == nil
		}
	}
	committed := a.opts.Clock.Now()
	// Lag of the first commit of this state only (not of a resync's identical rewrite).
	if changed && (br.Status.Phase == backupv1.PhaseSucceeded || br.Status.Phase == backupv1.PhaseFailed) && br.Status.CompletionTime != nil {
		a.metrics.lag.Observe(max(0, committed.Sub(br.Status.CompletionTime.Time).Seconds()))
	}
	if a.afterCommit != nil {
		a.afterCommit(br, committed)
	}
	cond := metav1.Condition{Type: ConditionArchived, Status: metav1.ConditionTrue, Reason: ReasonRecorded,
		Message: recordedMessage(string(br.Status.Phase))}
	if err := a.setCondition(ctx, key, br.UID, string(br.Status.Phase), cond); err != nil {
		a.conditionFailed(ctx, err)
		return false
	}
	log.V(1).Info("backup archived")
	return false
}

// upsertFailed handles the error of upserting the record (what: "backup record",
// "restore record") of the object uid in phase, and returns true when the upsert
// should be retried with backoff: a record the database refuses is rejected for
// good (Archived=False), an unavailable database is retried, as is any other
// database error. Nothing is retried once ctx is done.
func (a *Archiver) upsertFailed(ctx context.Context, key itemKey, uid types.UID, phase, what string, err error) bool {
	log := ctrl.LoggerFrom(ctx)
	var ve *database.ValidationError
	switch {
	case ctx.Err() != nil:
		return false
	case errors.As(err, &ve) || isDataError(err):
		a.metrics.failures.WithLabelValues(failureInvalid).Inc()
		log.Error(err, what+" rejected; it will not be archived")
		a.reject(ctx, key, uid, phase, err)
		return false
	case database.IsRetryable(err):
		a.metrics.failures.WithLabelValues(failureConnection).Inc()
		log.Info("backup history database unavailable, will retry", "error", err.Error(),
			"attempt", a.queue.NumRequeues(key)+1)
		return true
	default:
		a.metrics.failures.WithLabelValues(failureDatabase).Inc()
		log.Error(err, "archive "+what, "attempt", a.queue.NumRequeues(key)+1)
		return true
	}
}

// reject marks the object uid Archived=False so resyncs stop retrying a record
// that cannot be stored.
func (a *Archiver) reject(ctx context.Context, key itemKey, uid types.UID, phase string, cause error) {
	cond := metav1.Condition{Type: ConditionArchived, Status: metav1.ConditionFalse, Reason: ReasonInvalidRecord,
		Message: truncateBytes(fmt.Sprintf("phase %s not recorded in backup history: %v", phase, cause), 1024)}
	if err := a.setCondition(ctx, key, uid, phase, cond); err != nil {
		a.conditionFailed(ctx, err)
	}
}

func (a *Archiver) conditionFailed(ctx context.Context, err error) {
	if errors.Is(err, errSuperseded) || apierrors.IsNotFound(err) || ctx.Err() != nil {
		return // the newer state, if any, is archived on its own
	}
	a.metrics.failures.WithLabelValues(failureCondition).Inc()
	ctrl.LoggerFrom(ctx).Error(err, "set Archived condition; the next resync retries")
}

// markExpired records in the history that retention removed the backup's artefacts:
// marked for deletion at its expiry, deleted now.
func (a *Archiver) markExpired(ctx context.Context, br *backupv1.BackupRequest) error {
	at := a.opts.Clock.Now()
	if br.Status.ExpiresAt != nil {
		at = br.Status.ExpiresAt.Time
	}
	if err := a.opts.Store.MarkBackupForDeletion(ctx, br.Namespace, br.Name, at); err != nil {
		return err
	}
	return a.opts.Store.MarkBackupDeleted(ctx, string(br.UID), a.opts.Clock.Now())
}
