// Package admission owns when a BackupRequest or RestoreRequest runs: at most N per
// project at once, shared by backups and restores, restores first and otherwise in
// creation order (the Tracker), the work-queue priority of each kind of pass, and the
// wake-ups of the request next in line when a slot frees. The controllers ask it
// whether a request may start, tell it when a request releases its slot, and wire its
// wake-up paths (WakeSource / RestoreWakeSource, SlotFreedHandler /
// RestoreSlotFreedHandler) into themselves.
//
// A RestoreRequest's project is its namespace's project label: restores take their
// slot before the backup they read is resolved, and the project binding (the label
// equals the backup's projectId) is checked right after.
package admission

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
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

// Admission decides and announces which BackupRequests and RestoreRequests run. It
// is safe for concurrent use; one Admission is shared by both controllers.
type Admission struct {
	tracker *Tracker
	reader  client.Reader
	// projectLabel is the namespace label naming a namespace's project (a restore's project).
	projectLabel string
	// clock tells whether a backup waiting for a quota is due to queue again.
	clock clock.PassiveClock
	// wake and wakeRestores carry the BackupRequests and RestoreRequests to reconcile
	// because a slot of their project freed. Only this package writes to them.
	wake, wakeRestores chan event.GenericEvent
}

// New admits limit requests per project, listing projects through reader (the
// manager's cache, with the ProjectIndex registered). A restore's project is its
// namespace's backupv1alpha1.ProjectLabel; SetProjectLabel changes the label.
func New(limit int, reader client.Reader) *Admission {
	return &Admission{tracker: NewTracker(limit), reader: reader, projectLabel: backupv1alpha1.ProjectLabel, clock: clock.RealClock{},
		wake: make(chan event.GenericEvent, 1024), wakeRestores: make(chan event.GenericEvent, 1024)}
}

// SetProjectLabel sets the namespace label that names a restore's project. Call it
// before the controllers start.
func (a *Admission) SetProjectLabel(key string) {
	if key != "" {
		a.projectLabel = key
	}
}

// SetClock sets the time source that says when a backup waiting for a quota queues
// again (the controllers' clock). Call it before the controllers start.
func (a *Admission) SetClock(c clock.PassiveClock) {
	if c != nil {
		a.clock = c
	}
}

// Limit is the number of slots per project.
func (a *Admission) Limit() int { return a.tracker.Limit() }

// Acquire decides whether br may start now. On success the caller must move br to
// InProgress, or call Release if that fails.
func (a *Admission) Acquire(ctx context.Context, br *backupv1alpha1.BackupRequest) (Decision, error) {
	return a.acquire(ctx, br.Spec.ProjectID, br.UID)
}

// AcquireRestore decides whether rr, a restore of project (its namespace's project),
// may start now. On success the caller must move rr to InProgress, or call
// ReleaseRestore if that fails.
func (a *Admission) AcquireRestore(ctx context.Context, project string, rr *backupv1alpha1.RestoreRequest) (Decision, error) {
	return a.acquire(ctx, project, rr.UID)
}

func (a *Admission) acquire(ctx context.Context, project string, uid types.UID) (Decision, error) {
	candidates, err := a.candidates(ctx, project)
	if err != nil {
		return Decision{}, err
	}
	return a.tracker.Acquire(project, uid, candidates), nil
}

// Release gives back br's slot and wakes, at once, the requests of its project now
// first in line, without waiting for the watch to report br's new phase.
func (a *Admission) Release(ctx context.Context, br *backupv1alpha1.BackupRequest) {
	a.release(ctx, br.Spec.ProjectID, br.UID)
}

// ReleaseRestore gives back the slot of rr, a restore of project, and wakes the
// requests of the project now first in line.
func (a *Admission) ReleaseRestore(ctx context.Context, project string, rr *backupv1alpha1.RestoreRequest) {
	a.release(ctx, project, rr.UID)
}

func (a *Admission) release(ctx context.Context, project string, uid types.UID) {
	a.tracker.Release(project, uid)
	for _, next := range a.NextInLine(ctx, project) {
		var woken client.Object = &backupv1alpha1.BackupRequest{}
		ch := a.wake
		if next.Restore {
			woken, ch = &backupv1alpha1.RestoreRequest{}, a.wakeRestores
		}
		woken.SetNamespace(next.Namespace)
		woken.SetName(next.Name)
		select {
		case ch <- event.GenericEvent{Object: woken}:
		default: // full: the slot-freed watch and the waiting requests' own recheck still wake them
		}
	}
}

// NextInLine returns the waiting requests of project that can start now: the first
// in line, as many as there are free slots (see Tracker.InLine). The rest refresh
// their queue position on their own recheck, which keeps a busy project from
// rewriting every waiting request's status on each start.
func (a *Admission) NextInLine(ctx context.Context, project string) []Candidate {
	candidates, err := a.candidates(ctx, project)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list the requests waiting for a slot", "project", project)
		return nil
	}
	return a.tracker.InLine(project, candidates)
}

// candidates is every BackupRequest and RestoreRequest of project in the cache, as
// the tracker sees them; requests being deleted hold no slot.
func (a *Admission) candidates(ctx context.Context, project string) ([]Candidate, error) {
	var list backupv1alpha1.BackupRequestList
	if err := a.reader.List(ctx, &list, client.MatchingFields{ProjectIndex: project}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list backup requests of project %s: %w", project, err)
	}
	candidates := make([]Candidate, 0, len(list.Items))
	now := a.clock.Now()
	for i := range list.Items {
		if br := &list.Items[i]; br.DeletionTimestamp.IsZero() {
			candidates = append(candidates, CandidateOf(br, now))
		}
	}
	restores, err := a.restoresOf(ctx, project)
	if err != nil {
		return nil, err
	}
	return append(candidates, restores...), nil
}

// restoresOf is every RestoreRequest in the namespaces of project, as the tracker sees them.
func (a *Admission) restoresOf(ctx context.Context, project string) ([]Candidate, error) {
	var namespaces corev1.NamespaceList
	if err := a.reader.List(ctx, &namespaces, client.MatchingLabels{a.projectLabel: project}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list namespaces of project %s: %w", project, err)
	}
	var candidates []Candidate
	for i := range namespaces.Items {
		var list backupv1alpha1.RestoreRequestList
		if err := a.reader.List(ctx, &list, client.InNamespace(namespaces.Items[i].Name), client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("list restore requests of namespace %s: %w", namespaces.Items[i].Name, err)
		}
		for j := range list.Items {
			if rr := &list.Items[j]; rr.DeletionTimestamp.IsZero() {
				candidates = append(candidates, RestoreCandidateOf(rr))
			}
		}
	}
	return candidates, nil
}

// ProjectOfNamespace is the project label of namespace ("" without one).
func (a *Admission) ProjectOfNamespace(ctx context.Context, namespace string) (string, error) {
	ns := &corev1.Namespace{}
	if err := a.reader.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return "", fmt.Errorf("get namespace %s: %w", namespace, err)
	}
	return ns.Labels[a.projectLabel], nil
}

// CandidateOf is a BackupRequest as the tracker sees it at now. A backup waiting for
// a quota is out of the line until its retry time: it holds no slot and lets the
// requests behind it run meanwhile. Then it is back in line at its creation's place,
// ahead of the requests created after it, so none of them overtakes it for good.
func CandidateOf(br *backupv1alpha1.BackupRequest, now time.Time) Candidate {
	pending := br.Status.Phase == backupv1alpha1.PhasePending || br.Status.Phase == ""
	return Candidate{
		UID: br.UID, Namespace: br.Namespace, Name: br.Name,
		Created: br.CreationTimestamp.Time,
		Running: br.Status.Phase == backupv1alpha1.PhaseInProgress,
		Waiting: pending && !br.Status.WaitsForQuota(now),
	}
}

// RestoreCandidateOf is a RestoreRequest as the tracker sees it.
func RestoreCandidateOf(rr *backupv1alpha1.RestoreRequest) Candidate {
	return Candidate{
		UID: rr.UID, Namespace: rr.Namespace, Name: rr.Name, Restore: true,
		Created: rr.CreationTimestamp.Time,
		Running: rr.Status.Phase == backupv1alpha1.RestorePhaseInProgress,
		Waiting: rr.Status.Phase == backupv1alpha1.RestorePhasePending || rr.Status.Phase == "",
	}
}

// Wake-up paths. Besides each controller's own watch of its kind and the copy jobs'
// completions, a waiting request is woken by exactly these two:

// WakeSource is the path of releases (Release, ReleaseRestore) for BackupRequests:
// the backups next in line are reconciled at once.
func (a *Admission) WakeSource() source.TypedSource[reconcile.Request] {
	return source.Channel(a.wake, &handler.EnqueueRequestForObject{})
}

// RestoreWakeSource is WakeSource for RestoreRequests.
func (a *Admission) RestoreWakeSource() source.TypedSource[reconcile.Request] {
	return source.Channel(a.wakeRestores, &handler.EnqueueRequestForObject{})
}

// SlotFreedHandler and SlotFreedPredicate are the path of slots freed where Release
// did not run here (a request deleted while running, a controller restarted): a
// BackupRequest or RestoreRequest leaving InProgress, or being deleted, wakes its
// project's BackupRequests next in line. Watch both kinds with them.
func (a *Admission) SlotFreedHandler() handler.EventHandler { return a.slotFreedHandler(false) }

// RestoreSlotFreedHandler is SlotFreedHandler for the RestoreRequests next in line.
func (a *Admission) RestoreSlotFreedHandler() handler.EventHandler { return a.slotFreedHandler(true) }

func (a *Admission) slotFreedHandler(restores bool) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		var project string
		switch obj := o.(type) {
		case *backupv1alpha1.BackupRequest:
			project = obj.Spec.ProjectID
		case *backupv1alpha1.RestoreRequest:
			p, err := a.ProjectOfNamespace(ctx, obj.Namespace)
			if err != nil {
				ctrl.LoggerFrom(ctx).Error(err, "find the project of a restore that freed a slot", "namespace", obj.Namespace)
				return nil
			}
			project = p
		}
		if project == "" {
			return nil
		}
		var reqs []reconcile.Request
		for _, next := range a.NextInLine(ctx, project) {
			if next.Restore == restores {
				reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: next.Namespace, Name: next.Name}})
			}
		}
		return reqs
	})
}

// SlotFreedPredicate passes the events that free a project slot: a BackupRequest or
// RestoreRequest leaving InProgress or going away. Creations and progress writes free nothing.
func SlotFreedPredicate() predicate.Predicate { return slotFreed{} }

type slotFreed struct{ predicate.Funcs }

func (slotFreed) Create(event.CreateEvent) bool   { return false }
func (slotFreed) Generic(event.GenericEvent) bool { return false }
func (slotFreed) Delete(event.DeleteEvent) bool   { return true }

func (slotFreed) Update(e event.UpdateEvent) bool {
	deletionStarted := e.ObjectOld.GetDeletionTimestamp().IsZero() && !e.ObjectNew.GetDeletionTimestamp().IsZero()
	switch oldObj := e.ObjectOld.(type) {
	case *backupv1alpha1.BackupRequest:
		newBR, ok := e.ObjectNew.(*backupv1alpha1.BackupRequest)
		if !ok {
			return false
		}
		leftInProgress := oldObj.Status.Phase == backupv1alpha1.PhaseInProgress && newBR.Status.Phase != backupv1alpha1.PhaseInProgress
		return leftInProgress || deletionStarted
	case *backupv1alpha1.RestoreRequest:
		newRR, ok := e.ObjectNew.(*backupv1alpha1.RestoreRequest)
		if !ok {
			return false
		}
		leftInProgress := oldObj.Status.Phase == backupv1alpha1.RestorePhaseInProgress && newRR.Status.Phase != backupv1alpha1.RestorePhaseInProgress
		return leftInProgress || deletionStarted
	}
	return false
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
