package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/semaphore"
)

// acquireSlot starts the request when its project has a free slot and it is first
// in line; otherwise it records its queue position and waits.
func (r *BackupRequestReconciler) acquireSlot(ctx context.Context, br *backupv1alpha1.BackupRequest) (ctrl.Result, error) {
	var list backupv1alpha1.BackupRequestList
	if err := r.List(ctx, &list, client.MatchingFields{projectIndex: br.Spec.ProjectID}, client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, fmt.Errorf("list backup requests of project %s: %w", br.Spec.ProjectID, err)
	}
	candidates := make([]semaphore.Candidate, 0, len(list.Items))
	for i := range list.Items {
		if item := &list.Items[i]; item.DeletionTimestamp.IsZero() {
			candidates = append(candidates, candidate(item))
		}
	}
	decision := r.slots.Acquire(br.Spec.ProjectID, br.UID, candidates)
	ctrl.LoggerFrom(ctx).V(1).Info("slot decision", "acquired", decision.Acquired, "position", decision.Position, "running", decision.Running)
	if !decision.Acquired {
		return r.waitForSlot(ctx, br, decision)
	}
	r.queueWrites.forget(client.ObjectKeyFromObject(br))
	if failure, err := r.checkDestinationWithSlot(ctx, br); err != nil || failure != nil {
		r.slots.Release(br.Spec.ProjectID, br.UID)
		if err != nil {
			return r.handleStepError(ctx, br, err)
		}
		return ctrl.Result{}, r.fail(ctx, br, failure.reason, failure.message)
	}

	now := r.now()
	err := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
		st.Phase = backupv1alpha1.PhaseInProgress
		st.StartTime = &now
		st.Message = "backup started"
		r.setCondition(st, br.Generation, ConditionReady, "False", ReasonInProgress, "backup in progress")
		if br.Spec.Database == nil {
			r.markCopying(st, br) // the copy is the first step: record its start in the same write
		}
	})
	if err != nil {
		r.slots.Release(br.Spec.ProjectID, br.UID)
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ctrl.LoggerFrom(ctx).Info("backup started", "running", decision.Running, "limit", decision.Limit)
	r.normalEvent(br, ReasonStarted, "Start", "Backup started (%d of %d slots of project %s in use)", decision.Running, decision.Limit, br.Spec.ProjectID)
	if r.Metrics != nil {
		r.Metrics.Started(br)
	}
	// The first step runs in a pass of its own, queued below new and woken requests:
	// under a burst, every request with a free slot starts before any of them
	// spends a worker on cloud calls.
	return ctrl.Result{RequeueAfter: time.Nanosecond, Priority: ptr.To(continuePriority)}, nil
}

// queuePositionDelay is how long a new request that must wait goes without status
// before it records its place in the queue (see waitForSlot).
const queuePositionDelay = time.Second

// waitForSlot records the queue position. The request is woken when a request of its
// project leaves InProgress; the growing requeue is only a safety net.
//
// The first time a request has to wait, its status write is put back in the work
// queue for queuePositionDelay at low priority: when many requests arrive at once,
// the API server serves the writes that start backups first, and the waiting ones
// record their place a moment later.
func (r *BackupRequestReconciler) waitForSlot(ctx context.Context, br *backupv1alpha1.BackupRequest, d semaphore.Decision) (ctrl.Result, error) {
	// The message names only the position, which changes when the queue moves, so a
	// waiting request is not rewritten each time a slot changes hands.
	msg := fmt.Sprintf("waiting for a slot: position %d in the queue of project %s (all %d slots in use)",
		d.Position, br.Spec.ProjectID, d.Limit)
	ready := meta.FindStatusCondition(br.Status.Conditions, ConditionReady)
	if ready != nil && ready.Reason == ReasonWaitingForSlot && ready.Message == msg {
		return recheckAfter(r.slotRetryAfter(br)), nil
	}
	if ready == nil && r.queueWrites.deferOnce(client.ObjectKeyFromObject(br)) {
		return ctrl.Result{RequeueAfter: queuePositionDelay, Priority: ptr.To(handler.LowPriority)}, nil
	}
	err := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
		st.Phase = backupv1alpha1.PhasePending
		st.Message = msg
		r.setCondition(st, br.Generation, ConditionReady, "False", ReasonWaitingForSlot, msg)
	})
	if err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if ready == nil || ready.Reason != ReasonWaitingForSlot {
		r.normalEvent(br, ReasonWaitingForSlot, "Queue", "%s", msg)
	}
	return recheckAfter(r.slotRetryAfter(br)), nil
}

// slotRetryAfter doubles with the time already spent waiting, within the configured bounds.
func (r *BackupRequestReconciler) slotRetryAfter(br *backupv1alpha1.BackupRequest) time.Duration {
	waited := r.Clock.Since(br.CreationTimestamp.Time)
	return min(max(waited, r.Options.SlotRetryInitial), r.Options.SlotRetryMax)
}

// candidate is a BackupRequest as the slot tracker sees it.
func candidate(br *backupv1alpha1.BackupRequest) semaphore.Candidate {
	return semaphore.Candidate{
		UID: br.UID, Namespace: br.Namespace, Name: br.Name,
		Created: br.CreationTimestamp.Time,
		Running: br.Status.Phase == backupv1alpha1.PhaseInProgress,
		Waiting: br.Status.Phase == backupv1alpha1.PhasePending || br.Status.Phase == "",
	}
}

// checkDestinationWithSlot runs the destination check for a request about to start.
func (r *BackupRequestReconciler) checkDestinationWithSlot(ctx context.Context, br *backupv1alpha1.BackupRequest) (*preflightFailure, error) {
	prov, err := r.Providers.Get(string(br.Spec.Provider))
	if err != nil {
		return nil, err
	}
	return r.checkDestination(ctx, br, prov)
}

// deferredWrites remembers the requests whose first queue-position write was put back
// in the work queue once already.
type deferredWrites struct {
	mu   sync.Mutex
	keys map[types.NamespacedName]struct{}
}

// forget drops key (the request started without waiting again).
func (d *deferredWrites) forget(key types.NamespacedName) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.keys, key)
}

// deferOnce reports true the first time it sees key and false (forgetting key) the next.
func (d *deferredWrites) deferOnce(key types.NamespacedName) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.keys == nil {
		d.keys = map[types.NamespacedName]struct{}{}
	}
	if _, seen := d.keys[key]; seen {
		delete(d.keys, key)
		return false
	}
	d.keys[key] = struct{}{}
	return true
}
