package controller

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/semaphore"
)

// acquireSlot starts the request when its project has a free slot and it is first
// in line; otherwise it records its queue position and waits.
func (r *BackupRequestReconciler) acquireSlot(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider) (ctrl.Result, error) {
	candidates, err := r.projectCandidates(ctx, br.Spec.ProjectID)
	if err != nil {
		return ctrl.Result{}, err
	}
	decision := r.slots.Acquire(br.Spec.ProjectID, br.UID, candidates)
	ctrl.LoggerFrom(ctx).V(1).Info("slot decision", "acquired", decision.Acquired, "position", decision.Position, "running", decision.Running)
	if !decision.Acquired {
		return r.waitForSlot(ctx, br, decision)
	}
	// Cloud reads first (tags, the destination), then the claim: the backup's first
	// write. A refused request has written nothing and has nothing to clean up.
	failure, err := r.checkOwnership(ctx, br, prov)
	var claim *backupv1alpha1.ClaimStatus
	if err == nil && failure == nil {
		// The finalizer goes on before the claim, so deleting the request always
		// removes what it wrote.
		err = r.ensureFinalizer(ctx, br)
	}
	if err == nil && failure == nil {
		claim, failure, err = r.claimDestination(ctx, br, prov)
	}
	if err != nil || failure != nil {
		r.slots.Release(br.Spec.ProjectID, br.UID)
		if err != nil {
			return r.handleStepError(ctx, br, err)
		}
		return ctrl.Result{}, r.fail(ctx, br, failure.reason, failure.message)
	}

	now := r.now()
	err = r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
		st.Phase = backupv1alpha1.PhaseInProgress
		st.Claim = claim
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

// queuePositionDelay is how long after its creation a request that must wait goes
// without status before it records its place in the queue (see waitForSlot).
const queuePositionDelay = time.Second

// waitForSlot records the queue position. The request is woken when a request of its
// project leaves InProgress; the growing requeue is only a safety net.
//
// A request that has to wait within queuePositionDelay of its creation puts its first
// status write back in the work queue at low priority until then: when many requests
// arrive at once, the API server serves the writes that start backups first, and the
// waiting ones record their place a moment later.
func (r *BackupRequestReconciler) waitForSlot(ctx context.Context, br *backupv1alpha1.BackupRequest, d semaphore.Decision) (ctrl.Result, error) {
	// The message names only the position, which changes when the queue moves, so a
	// waiting request is not rewritten each time a slot changes hands.
	msg := fmt.Sprintf("waiting for a slot: position %d in the queue of project %s (all %d slots in use)",
		d.Position, br.Spec.ProjectID, d.Limit)
	ready := meta.FindStatusCondition(br.Status.Conditions, ConditionReady)
	if ready != nil && ready.Reason == ReasonWaitingForSlot && ready.Message == msg {
		return recheckAfter(r.slotRetryAfter(br)), nil
	}
	if waited := r.Clock.Since(br.CreationTimestamp.Time); ready == nil && waited < queuePositionDelay {
		return ctrl.Result{RequeueAfter: queuePositionDelay - waited, Priority: ptr.To(handler.LowPriority)}, nil
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

// projectCandidates is every BackupRequest of project in the cache, as the slot
// tracker sees them; requests being deleted hold no slot.
func (r *BackupRequestReconciler) projectCandidates(ctx context.Context, project string) ([]semaphore.Candidate, error) {
	var list backupv1alpha1.BackupRequestList
	if err := r.List(ctx, &list, client.MatchingFields{projectIndex: project}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list backup requests of project %s: %w", project, err)
	}
	candidates := make([]semaphore.Candidate, 0, len(list.Items))
	for i := range list.Items {
		if item := &list.Items[i]; item.DeletionTimestamp.IsZero() {
			candidates = append(candidates, candidate(item))
		}
	}
	return candidates, nil
}
