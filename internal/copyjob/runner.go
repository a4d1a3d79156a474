// Package copyjob runs long document-library copies outside the reconcile loop, so
// a copy of millions of objects never blocks a controller worker (and with it other
// projects). The reconciler starts a job, reads its progress on each pass, and is
// woken through a channel when the job ends. Jobs live in memory only: after a
// restart the reconciler starts the copy again and the provider skips what is done.
package copyjob

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// Func performs the copy, reporting progress through the callback.
type Func func(ctx context.Context, progress func(provider.CopyProgress)) (*Result, error)

// Result is what a finished copy did: the provider's counts and the inventory it
// wrote. Both are set as far as the copy got, even with an error.
type Result struct {
	Copy      *provider.ObjectStorageCopyResult
	Inventory inventory.Summary
	// ObjectsReferenced and BytesReferenced count the objects an Incremental backup
	// found already stored in its repository (not in Copy).
	ObjectsReferenced, BytesReferenced int64
	// PointInTime is the moment the copied versions were current, when the source
	// bucket is versioned; nil when the copy read the live bucket.
	PointInTime *time.Time
}

// Job is one running or finished copy.
type Job struct {
	cancel   context.CancelFunc
	done     chan struct{}
	progress atomic.Pointer[provider.CopyProgress]
	result   *Result
	err      error
}

// Progress returns the latest progress report (zero before the first).
func (j *Job) Progress() provider.CopyProgress {
	if p := j.progress.Load(); p != nil {
		return *p
	}
	return provider.CopyProgress{}
}

// Done reports whether the job has finished, and then its result and error.
func (j *Job) Done() (bool, *Result, error) {
	select {
	case <-j.done:
		return true, j.result, j.err
	default:
		return false, nil, nil
	}
}

// Runner keeps the copy jobs of one controller, keyed by BackupRequest UID.
type Runner struct {
	mu   sync.Mutex
	base context.Context
	jobs map[types.UID]*Job
	// done receives a GenericEvent naming the BackupRequest when its job ends.
	done chan event.GenericEvent
}

// NewRunner returns a Runner whose jobs are cancelled when base ends (controller shutdown).
func NewRunner(base context.Context) *Runner {
	return &Runner{base: base, jobs: map[types.UID]*Job{}, done: make(chan event.GenericEvent, 1024)}
}

// Source is the wake-up path of copy completions: the BackupRequest whose job ended
// is reconciled.
func (r *Runner) Source() source.TypedSource[reconcile.Request] {
	return source.Channel(r.done, &handler.EnqueueRequestForObject{})
}

// Get returns the job of uid, if any.
func (r *Runner) Get(uid types.UID) (*Job, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	j, ok := r.jobs[uid]
	return j, ok
}

// Start runs fn for uid unless a job for uid already exists; it returns the job.
// owner is sent on Events when the job ends, to trigger a reconcile. The job's
// context ends with the Runner's base, not with from (the pass that starts it), but
// carries from's logger, so what the job logs names its request.
func (r *Runner) Start(from context.Context, uid types.UID, owner event.GenericEvent, fn Func) *Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	if j, ok := r.jobs[uid]; ok {
		return j
	}
	ctx, cancel := context.WithCancel(logr.NewContext(r.base, logr.FromContextOrDiscard(from)))
	j := &Job{cancel: cancel, done: make(chan struct{})}
	r.jobs[uid] = j
	go func() {
		defer cancel()
		j.result, j.err = fn(ctx, func(p provider.CopyProgress) { j.progress.Store(&p) })
		close(j.done)
		select {
		case r.done <- owner:
		case <-r.base.Done():
		}
	}()
	return j
}

// Forget drops a finished job's record.
func (r *Runner) Forget(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.jobs, uid)
}

// Cancel stops the job of uid (if running), waits for it to end, and forgets it.
func (r *Runner) Cancel(uid types.UID) {
	r.mu.Lock()
	j, ok := r.jobs[uid]
	delete(r.jobs, uid)
	r.mu.Unlock()
	if ok {
		j.cancel()
		<-j.done
	}
}
