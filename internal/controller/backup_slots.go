package controller

import (
	"context"
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/admission"
)

// acquireSlot starts the request when its project has a free slot and it is first
// in line; otherwise it records its queue position and waits.
func (r *BackupRequestReconciler) acquireSlot(ctx context.Context, br *backupv1alpha1.BackupRequest) (ctrl.Result, error) {
	decision, err := r.slots.Acquire(ctx, br)
	if err != nil {
		return ctrl.Result{}, err
	}
	ctrl.LoggerFrom(ctx).V(1).Info("slot decision", "acquired", decision.Acquired, "position", decision.Position, "running", decision.Running)
	if !decision.Acquired {
		return r.waitForSlot(ctx, br, decision)
	}
	now := r.now()
	// A backup back from a quota wait started before: it resumes, and is not counted twice.
	resumed := br.Status.StartTime != nil
	err = r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) { st.SetAsStarted(now) })
	if err != nil {
		r.slots.Release(ctx, br)
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if resumed {
		ctrl.LoggerFrom(ctx).Info("backup resumed", "running", decision.Running, "limit", decision.Limit)
		r.recorder().normal(br, backupv1alpha1.ReasonStarted, "Resume", "Backup resumed%s (%d of %d slots of project %s in use)",
			quotaWaitNote(br), decision.Running, decision.Limit, br.Spec.ProjectID)
		return admission.ContinueAfterStart(), nil
	}
	ctrl.LoggerFrom(ctx).Info("backup started", "running", decision.Running, "limit", decision.Limit)
	r.recorder().normal(br, backupv1alpha1.ReasonStarted, "Start", "Backup started (%d of %d slots of project %s in use)", decision.Running, decision.Limit, br.Spec.ProjectID)
	if r.Metrics != nil {
		r.Metrics.Started(br)
	}
	// The first step (the claim, with its cloud reads) runs in a pass of its own,
	// queued below new and woken requests: under a burst, every request with a free
	// slot starts before any of them spends a worker on cloud calls.
	return admission.ContinueAfterStart(), nil
}

// waitForSlot records the queue position. The request is woken when a request of its
// project leaves InProgress; the growing requeue is only a safety net.
//
// A request that has to wait within admission.QueuePositionDelay of its creation puts its first
// status write back in the work queue at low priority until then: when many requests
// arrive at once, the API server serves the writes that start backups first, and the
// waiting ones record their place a moment later.
func (r *BackupRequestReconciler) waitForSlot(ctx context.Context, br *backupv1alpha1.BackupRequest, d admission.Decision) (ctrl.Result, error) {
	// The message names only the position, which changes when the queue moves, so a
	// waiting request is not rewritten each time a slot changes hands.
	msg := fmt.Sprintf("waiting for a slot: position %d in the queue of project %s (all %d slots in use)",
		d.Position, br.Spec.ProjectID, d.Limit)
	ready := br.Status.Condition(backupv1alpha1.ConditionReady)
	if ready != nil && ready.Reason == string(backupv1alpha1.ReasonWaitingForSlot) && ready.Message == msg {
		return admission.Recheck(r.slotRetryAfter(br)), nil
	}
	if waited := r.Clock.Since(br.CreationTimestamp.Time); ready == nil && waited < admission.QueuePositionDelay {
		return admission.RecordPositionLater(waited), nil
	}
	err := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
		st.SetAsWaiting(msg, r.Clock.Now())
	})
	if err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if ready == nil || ready.Reason != string(backupv1alpha1.ReasonWaitingForSlot) {
		r.recorder().normal(br, backupv1alpha1.ReasonWaitingForSlot, "Queue", "%s", msg)
	}
	return admission.Recheck(r.slotRetryAfter(br)), nil
}

// slotRetryAfter doubles with the time already spent waiting, within the configured bounds.
func (r *BackupRequestReconciler) slotRetryAfter(br *backupv1alpha1.BackupRequest) time.Duration {
	waited := r.Clock.Since(br.CreationTimestamp.Time)
	return min(max(waited, r.Options.SlotRetryInitial), r.Options.SlotRetryMax)
}
