package controller

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/admission"
)

// reconcileRestorePending is the slot step: a restore takes one of its project's slots,
// shared with backups; waiting restores go ahead of waiting backups (admission.Before).
// It adds the cancel finalizer first, so a restore is never started without it.
func (r *RestoreRequestReconciler) reconcileRestorePending(ctx context.Context, rr *backupv1alpha1.RestoreRequest, project string) (ctrl.Result, error) {
	if added, err := addFinalizer(ctx, r.Client, rr, RestoreFinalizer); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	} else if added {
		r.writes.record(rr)
	}
	decision, err := r.Slots.AcquireRestore(ctx, project, rr)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !decision.Acquired {
		return r.waitForRestoreSlot(ctx, rr, project, decision)
	}
	now := metav1Now(r.Clock)
	if err := r.patchStatus(ctx, rr, func(st *backupv1alpha1.RestoreRequestStatus) { st.SetAsStarted(now) }); err != nil {
		r.Slots.ReleaseRestore(ctx, project, rr)
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ctrl.LoggerFrom(ctx).Info("restore started", "project", project, "running", decision.Running, "limit", decision.Limit)
	r.recorder().normal(rr, backupv1alpha1.ReasonStarted, "Start", "Restore started (%d of %d slots of project %s in use)", decision.Running, decision.Limit, project)
	return admission.ContinueAfterStart(), nil
}

// waitForRestoreSlot records the queue position; the restore is woken when a request
// of its project frees a slot, the growing requeue is only a safety net.
func (r *RestoreRequestReconciler) waitForRestoreSlot(ctx context.Context, rr *backupv1alpha1.RestoreRequest, project string, d admission.Decision) (ctrl.Result, error) {
	msg := fmt.Sprintf("waiting for a slot: position %d in the queue of project %s (all %d slots in use)", d.Position, project, d.Limit)
	retryAfter := min(max(r.Clock.Since(rr.CreationTimestamp.Time), r.Options.SlotRetryInitial), r.Options.SlotRetryMax)
	ready := rr.Status.Condition(backupv1alpha1.ConditionReady)
	if ready != nil && ready.Reason == string(backupv1alpha1.ReasonWaitingForSlot) && ready.Message == msg {
		return admission.Recheck(retryAfter), nil
	}
	if err := r.patchStatus(ctx, rr, func(st *backupv1alpha1.RestoreRequestStatus) {
		st.SetAsWaiting(msg, r.Clock.Now())
	}); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if ready == nil || ready.Reason != string(backupv1alpha1.ReasonWaitingForSlot) {
		r.recorder().normal(rr, backupv1alpha1.ReasonWaitingForSlot, "Queue", "%s", msg)
	}
	return admission.Recheck(retryAfter), nil
}
