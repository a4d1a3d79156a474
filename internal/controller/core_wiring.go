package controller

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/admission"
)

// RegisterIndexes registers every cache index the controllers read, on both kinds,
// with indexer (the manager's field indexer). Call it once per manager, before
// setting up the controllers.
//
// Why one call rather than one per controller: the controllers read each other's
// kind by index (a backup's retention and deletion find the RestoreRequests reading
// it; a restore counts its project's backups for a slot and finds the backups writing
// to its target), and controller-runtime refuses a second registration of an index.
// Registering them once, in one place, means neither controller has to be set up
// first, and a controller set up alone still finds the indexes it reads (as Cluster
// API's index.AddDefaultIndexes, called by main before the reconcilers).
func RegisterIndexes(ctx context.Context, indexer client.FieldIndexer) error {
	for field, index := range indexers {
		if err := indexer.IndexField(ctx, &backupv1alpha1.BackupRequest{}, field, index); err != nil {
			return fmt.Errorf("index backup requests by %s: %w", field, err)
		}
	}
	for field, index := range restoreIndexers {
		if err := indexer.IndexField(ctx, &backupv1alpha1.RestoreRequest{}, field, index); err != nil {
			return fmt.Errorf("index restore requests by %s: %w", field, err)
		}
	}
	return nil
}

// NewSlots is the project slot admission for opts: one is shared by the BackupRequest
// and RestoreRequest controllers, so backups and restores count against the same
// per-project limit. reader must serve the indexes RegisterIndexes registers; clk is
// the controllers' clock (it says when a backup waiting for a quota queues again).
func NewSlots(opts Options, reader client.Reader, clk clock.PassiveClock) *admission.Admission {
	opts = opts.WithDefaults()
	slots := admission.New(opts.MaxConcurrentBackupsPerProject, reader)
	slots.SetProjectLabel(opts.ProjectLabelKey)
	slots.SetClock(clk)
	return slots
}

// dependency is a field a controller cannot run without, and whether it is set.
type dependency struct {
	field string
	set   bool
}

// requireDependencies refuses a controller missing any of deps, naming each missing
// field: a dependency left out is a wiring mistake that must stop the manager from
// starting, not turn into a nil dereference mid-reconcile or a quiet fallback (a
// private slot admission would stop backups and restores sharing a project's limit).
func requireDependencies(controller string, deps ...dependency) error {
	var errs []error
	for _, d := range deps {
		if !d.set {
			errs = append(errs, fmt.Errorf("%s controller: %s is required", controller, d.field))
		}
	}
	return errors.Join(errs...)
}

// phaseChanged passes creations, deletions and updates that change status.phase,
// start deletion or change the retention a schedule set; progress-only status writes
// do not wake the reconciler.
type phaseChanged struct{ predicate.Funcs }

func (phaseChanged) Update(e event.UpdateEvent) bool {
	oldBR, okOld := e.ObjectOld.(*backupv1alpha1.BackupRequest)
	newBR, okNew := e.ObjectNew.(*backupv1alpha1.BackupRequest)
	if !okOld || !okNew {
		return true
	}
	return oldBR.Status.Phase != newBR.Status.Phase || oldBR.DeletionTimestamp.IsZero() != newBR.DeletionTimestamp.IsZero() ||
		oldBR.Annotations[backupv1alpha1.RetentionAnnotation] != newBR.Annotations[backupv1alpha1.RetentionAnnotation]
}

// lifecycleChanged passes deletions and updates that start deletion or change the
// retention a schedule set: the BackupRequest For watch's share of the changes that
// do not raise the generation. Phase changes go through transitionHandler.
type lifecycleChanged struct{ predicate.Funcs }

func (lifecycleChanged) Update(e event.UpdateEvent) bool {
	oldBR, okOld := e.ObjectOld.(*backupv1alpha1.BackupRequest)
	newBR, okNew := e.ObjectNew.(*backupv1alpha1.BackupRequest)
	if !okOld || !okNew {
		return true
	}
	return oldBR.DeletionTimestamp.IsZero() != newBR.DeletionTimestamp.IsZero() ||
		oldBR.Annotations[backupv1alpha1.RetentionAnnotation] != newBR.Annotations[backupv1alpha1.RetentionAnnotation]
}

// transitionHandler queues a BackupRequest whose status.phase changed, unless the
// change is this controller's own last write (wrote): the pass that wrote it already
// returned when to look again (the first step after a start, the waiting safety net,
// the retention recheck after an ending), and a second pass would find nothing to
// do. A change written elsewhere (another controller process, a restart racing its
// own writes) is queued at the priority of what its pass will do: a start's first
// step below new and woken requests, a wait or an ending's retention last.
type transitionHandler struct {
	wrote func(oldBR, newBR *backupv1alpha1.BackupRequest) bool
}

func (h transitionHandler) Update(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	oldBR, okOld := e.ObjectOld.(*backupv1alpha1.BackupRequest)
	newBR, okNew := e.ObjectNew.(*backupv1alpha1.BackupRequest)
	if !okOld || !okNew || oldBR.Status.Phase == newBR.Status.Phase || h.wrote(oldBR, newBR) {
		return
	}
	req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(newBR)}
	pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request])
	if !ok {
		q.Add(req)
		return
	}
	pq.AddWithOpts(priorityqueue.AddOpts{Priority: transitionPriority(newBR.Status.Phase)}, req)
}

// transitionPriority is the work-queue priority of a pass after a change to phase.
func transitionPriority(phase backupv1alpha1.BackupPhase) *int {
	switch {
	case phase == backupv1alpha1.PhaseInProgress:
		return ptr.To(admission.ContinuePriority)
	case phase == backupv1alpha1.PhasePending, phase.IsTerminal():
		return ptr.To(handler.LowPriority)
	}
	return nil
}

func (transitionHandler) Create(context.Context, event.CreateEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

func (transitionHandler) Delete(context.Context, event.DeleteEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

func (transitionHandler) Generic(context.Context, event.GenericEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}
