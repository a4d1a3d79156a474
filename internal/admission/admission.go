// Package admission owns when a BackupRequest runs: at most N per project at once,
// in creation order (the Tracker), the work-queue priority of each kind of pass, and
// the wake-ups of the request next in line when a slot frees. The controller asks it
// whether a request may start, tells it when a request releases its slot, and wires
// its two wake-up paths (WakeSource, SlotFreedWatch) into the controller.
package admission

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// ProjectIndex is the cache index of BackupRequests by spec.projectId that the
// admission lists a project with; register it with IndexProject.
const ProjectIndex = "spec.projectId"

// IndexProject indexes a BackupRequest by its project.
func IndexProject(o client.Object) []string {
	return []string{o.(*backupv1alpha1.BackupRequest).Spec.ProjectID}
}

// Admission decides and announces which BackupRequests run. It is safe for
// concurrent use.
type Admission struct {
	tracker *Tracker
	reader  client.Reader
	// wake carries the requests to reconcile because a slot of their project freed.
	// Only this package writes to it.
	wake chan event.GenericEvent
}

// New admits limit requests per project, listing projects through reader (the
// manager's cache, with the ProjectIndex registered).
func New(limit int, reader client.Reader) *Admission {
	return &Admission{tracker: NewTracker(limit), reader: reader, wake: make(chan event.GenericEvent, 1024)}
}

// Limit is the number of slots per project.
func (a *Admission) Limit() int { return a.tracker.Limit() }

// Acquire decides whether br may start now. On success the caller must move br to
// InProgress, or call Release if that fails.
func (a *Admission) Acquire(ctx context.Context, br *backupv1alpha1.BackupRequest) (Decision, error) {
	candidates, err := a.candidates(ctx, br.Spec.ProjectID)
	if err != nil {
		return Decision{}, err
	}
	return a.tracker.Acquire(br.Spec.ProjectID, br.UID, candidates), nil
}

// Release gives back br's slot and wakes, at once, the requests of its project now
// first in line, without waiting for the watch to report br's new phase.
func (a *Admission) Release(ctx context.Context, br *backupv1alpha1.BackupRequest) {
	a.tracker.Release(br.Spec.ProjectID, br.UID)
	for _, next := range a.NextInLine(ctx, br.Spec.ProjectID) {
		woken := &backupv1alpha1.BackupRequest{}
		woken.Namespace, woken.Name = next.Namespace, next.Name
		select {
		case a.wake <- event.GenericEvent{Object: woken}:
		default: // full: the slot-freed watch and the waiting requests' own recheck still wake them
		}
	}
}

// NextInLine returns the waiting requests of project that can start now: the first
// in line, as many as there are slots. The rest refresh their queue position on
// their own recheck, which keeps a busy project from rewriting every waiting
// request's status on each start.
func (a *Admission) NextInLine(ctx context.Context, project string) []types.NamespacedName {
	candidates, err := a.candidates(ctx, project)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list the requests waiting for a slot", "project", project)
		return nil
	}
	inLine := a.tracker.InLine(project, candidates)
	next := make([]types.NamespacedName, 0, a.Limit())
	for _, c := range inLine[:min(len(inLine), a.Limit())] {
		next = append(next, types.NamespacedName{Namespace: c.Namespace, Name: c.Name})
	}
	return next
}

// candidates is every BackupRequest of project in the cache, as the tracker sees
// them; requests being deleted hold no slot.
func (a *Admission) candidates(ctx context.Context, project string) ([]Candidate, error) {
	var list backupv1alpha1.BackupRequestList
	if err := a.reader.List(ctx, &list, client.MatchingFields{ProjectIndex: project}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list backup requests of project %s: %w", project, err)
	}
	candidates := make([]Candidate, 0, len(list.Items))
	for i := range list.Items {
		if br := &list.Items[i]; br.DeletionTimestamp.IsZero() {
			candidates = append(candidates, CandidateOf(br))
		}
	}
	return candidates, nil
}

// CandidateOf is a BackupRequest as the tracker sees it.
func CandidateOf(br *backupv1alpha1.BackupRequest) Candidate {
	return Candidate{
		UID: br.UID, Namespace: br.Namespace, Name: br.Name,
		Created: br.CreationTimestamp.Time,
		Running: br.Status.Phase == backupv1alpha1.PhaseInProgress,
		Waiting: br.Status.Phase == backupv1alpha1.PhasePending || br.Status.Phase == "",
	}
}

// Wake-up paths. Besides the controller's own watch of BackupRequests and the copy
// jobs' completions, a waiting request is woken by exactly these two:

// WakeSource is the path of releases by this controller (Release): the requests next
// in line are reconciled at once.
func (a *Admission) WakeSource() source.TypedSource[reconcile.Request] {
	return source.Channel(a.wake, &handler.EnqueueRequestForObject{})
}

// SlotFreedHandler and SlotFreedPredicate are the path of slots freed where Release
// did not run here (a request deleted while running, a controller restarted): a
// request leaving InProgress, or being deleted, wakes its project's requests next in line.
func (a *Admission) SlotFreedHandler() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		br, ok := o.(*backupv1alpha1.BackupRequest)
		if !ok {
			return nil
		}
		var reqs []reconcile.Request
		for _, next := range a.NextInLine(ctx, br.Spec.ProjectID) {
			reqs = append(reqs, reconcile.Request{NamespacedName: next})
		}
		return reqs
	})
}

// SlotFreedPredicate passes the events that free a project slot: a request leaving
// InProgress or going away. Creations and progress writes free nothing.
func SlotFreedPredicate() predicate.Predicate { return slotFreed{} }

type slotFreed struct{ predicate.Funcs }

func (slotFreed) Create(event.CreateEvent) bool   { return false }
func (slotFreed) Generic(event.GenericEvent) bool { return false }
func (slotFreed) Delete(event.DeleteEvent) bool   { return true }

func (slotFreed) Update(e event.UpdateEvent) bool {
	oldBR, okOld := e.ObjectOld.(*backupv1alpha1.BackupRequest)
	newBR, okNew := e.ObjectNew.(*backupv1alpha1.BackupRequest)
	if !okOld || !okNew {
		return false
	}
	leftInProgress := oldBR.Status.Phase == backupv1alpha1.PhaseInProgress && newBR.Status.Phase != backupv1alpha1.PhaseInProgress
	return leftInProgress || (oldBR.DeletionTimestamp.IsZero() && !newBR.DeletionTimestamp.IsZero())
}

// Priority rules of the work queue (controller-runtime's priority queue): passes that
// start a backup or wake a request run at the default priority 0; the first step of a
// backup that just started runs below them; passes that only look again run last.
// With thousands of requests queued, every request with a free slot starts before
// any of them spends a worker on cloud calls.
const (
	// ContinuePriority is the priority of the pass running a just-started backup's first step.
	ContinuePriority = handler.LowPriority / 2
	// QueuePositionDelay is how long after its creation a request that must wait goes
	// without status before it records its place in the queue: in a burst, the API
	// server serves the writes that start backups first.
	QueuePositionDelay = time.Second
)

// ContinueAfterStart requeues a just-started backup for its first step, in a pass of
// its own below new and woken requests.
func ContinueAfterStart() ctrl.Result {
	return ctrl.Result{RequeueAfter: time.Nanosecond, Priority: ptr.To(ContinuePriority)}
}

// Recheck requeues a pass that only looks again (a snapshot poll, copy progress, the
// waiting safety net, retention) after d, at low priority.
func Recheck(d time.Duration) ctrl.Result {
	return ctrl.Result{RequeueAfter: d, Priority: ptr.To(handler.LowPriority)}
}

// RecordPositionLater defers a new waiting request's first status write until
// QueuePositionDelay after its creation, at low priority.
func RecordPositionLater(waited time.Duration) ctrl.Result {
	return ctrl.Result{RequeueAfter: QueuePositionDelay - waited, Priority: ptr.To(handler.LowPriority)}
}
