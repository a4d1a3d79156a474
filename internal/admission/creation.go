package admission

import (
	"context"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// The creation path: a BackupRequest or RestoreRequest that the watch reports as
// created (live, or in the informer's initial list when the controller starts) is
// queued at the priority of what its first pass will do, not of how it was seen.
//
//   - A request that would take a free slot now: the default priority, also from the
//     initial list. controller-runtime queues the whole initial list at
//     handler.LowPriority, as a resync of work already done; a request created while
//     the controller started would then wait behind the pass of every request created
//     after it (the first two requests of each project started 8 s after their
//     creation in bench-reconcile), and after a restart behind the retention
//     rechecks of every finished backup.
//   - A request that must wait for a slot: low priority, live or listed. Its first
//     pass only records its place in the queue (and that waits QueuePositionDelay
//     anyway); in a burst it must not take a worker before the requests that start.
//     A slot freed later wakes it at the default priority (WakeSource, SlotFreedHandler).
//   - Anything else (running, finished, being deleted): as controller-runtime does,
//     low priority from the initial list and the default priority otherwise.
//
// The controllers take Create events out of their For watch (NotCreations) and
// watch them with CreationHandler (Creations).

// Creations passes only Create events.
func Creations() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return true },
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// NotCreations passes every event but Create events.
func NotCreations() predicate.Predicate { return predicate.Not(Creations()) }

// CreationHandler queues a created BackupRequest or RestoreRequest at the priority of
// its first pass (see above). Watch Creations of each kind with it.
func (a *Admission) CreationHandler() handler.EventHandler { return creationHandler{a} }

type creationHandler struct{ a *Admission }

func (h creationHandler) Create(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if e.Object == nil {
		return
	}
	req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(e.Object)}
	pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request])
	if !ok {
		q.Add(req)
		return
	}
	var priority *int
	switch {
	case mayStart(e.Object):
		if !h.a.wouldStart(ctx, e.Object) {
			priority = ptr.To(handler.LowPriority)
		}
	case e.IsInInitialList:
		priority = ptr.To(handler.LowPriority)
	}
	pq.AddWithOpts(priorityqueue.AddOpts{Priority: priority}, req)
}

func (creationHandler) Update(context.Context, event.UpdateEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

func (creationHandler) Delete(context.Context, event.DeleteEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

func (creationHandler) Generic(context.Context, event.GenericEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

// mayStart reports whether o is a request whose next pass may take a slot.
func mayStart(o client.Object) bool {
	if !o.GetDeletionTimestamp().IsZero() {
		return false
	}
	switch r := o.(type) {
	case *backupv1alpha1.BackupRequest:
		return r.Status.Phase == "" || r.Status.Phase == backupv1alpha1.PhasePending
	case *backupv1alpha1.RestoreRequest:
		return r.Status.Phase == "" || r.Status.Phase == backupv1alpha1.RestorePhasePending
	}
	return false
}

// wouldStart reports whether request o would take a slot of its project if its pass
// ran now. In doubt (the project cannot be read) it says yes: the pass decides, and
// the default priority only costs order.
func (a *Admission) wouldStart(ctx context.Context, o client.Object) bool {
	project := ""
	switch r := o.(type) {
	case *backupv1alpha1.BackupRequest:
		project = r.Spec.ProjectID
	case *backupv1alpha1.RestoreRequest:
		p, err := a.ProjectOfNamespace(ctx, r.Namespace)
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "find the project of a new restore", "namespace", r.Namespace)
			return true
		}
		project = p
	}
	if project == "" {
		return true // refused by its first pass: let it say so soon
	}
	candidates, err := a.candidates(ctx, project)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list the requests of a new request's project", "project", project)
		return true
	}
	return a.tracker.WouldAcquire(project, o.GetUID(), candidates)
}
