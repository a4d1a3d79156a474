package controller

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/admission"
)

// reconcileRetention removes a Succeeded or Failed backup's artefacts once it expires,
// keeping the newest successful backups of its project and environment: the expiry
// steps run in order on one scope, the status is stored once, and only then is an
// expired backup deleted (DeleteExpired).
func (r *BackupRequestReconciler) reconcileRetention(ctx context.Context, br *backupv1alpha1.BackupRequest) (ctrl.Result, error) {
	s := r.newRetentionScope(br, "Expiry")
	res, err := r.runRetentionPass(ctx, s, r.expirySteps())
	if err != nil || !s.deleteObject {
		return res, err
	}
	return ctrl.Result{}, client.IgnoreNotFound(r.Delete(ctx, br))
}

// expirySteps are the steps of an expiry, in order; a step that stops keeps the data.
func (r *BackupRequestReconciler) expirySteps() []func(context.Context, *retentionScope) (stepResult, error) {
	return []func(context.Context, *retentionScope) (stepResult, error){
		r.deleteOnceExpired,
		r.waitForSchedule,
		r.ensureExpiry,
		r.waitForExpiry,
		r.keepNewest,
		r.waitForReaders,
		r.removeArtifacts,
		r.markExpired,
	}
}

// expireNow reports whether the backup's schedule dropped it (RetentionAnnotation): it
// expires now, with the same checks as an expiry by date.
func expireNow(br *backupv1alpha1.BackupRequest) bool {
	return br.Annotations[backupv1alpha1.RetentionAnnotation] == backupv1alpha1.RetentionExpire
}

// deleteOnceExpired ends the pass of a backup already expired, deleting the object
// when DeleteExpired asks for it.
func (r *BackupRequestReconciler) deleteOnceExpired(_ context.Context, s *retentionScope) (stepResult, error) {
	if s.br.Status.Phase != backupv1alpha1.PhaseExpired {
		return stepDone, nil
	}
	s.deleteObject = r.Options.DeleteExpired
	return s.stop(ctrl.Result{}), nil
}

// waitForSchedule stops the pass of a successful scheduled backup whose schedule took
// over its expiry (RetentionAnnotation) and keeps it: it waits for the schedule's word.
func (r *BackupRequestReconciler) waitForSchedule(_ context.Context, s *retentionScope) (stepResult, error) {
	br := s.br
	if !expireNow(br) && br.Status.Phase == backupv1alpha1.PhaseSucceeded &&
		br.Annotations[backupv1alpha1.RetentionAnnotation] == backupv1alpha1.RetentionBySchedule {
		return s.stop(ctrl.Result{}), nil
	}
	return stepDone, nil
}

// ensureExpiry sets status.expiresAt (completion + retention days) once. A backup
// refused before its first write has nothing that will ever expire.
func (r *BackupRequestReconciler) ensureExpiry(_ context.Context, s *retentionScope) (stepResult, error) {
	br := s.br
	if expireNow(br) || br.Status.ExpiresAt != nil {
		return stepDone, nil
	}
	if !br.Status.HasArtifacts() {
		return s.stop(ctrl.Result{}), nil
	}
	completed := s.now
	if br.Status.CompletionTime != nil {
		completed = br.Status.CompletionTime.Time
	}
	expires := r.expiry(br, completed)
	s.change(func(st *backupv1alpha1.BackupRequestStatus) { st.ExpiresAt = &expires })
	return stepDone, nil
}

// waitForExpiry stops the pass until status.expiresAt, looking again at least every
// RetentionCheckInterval.
func (r *BackupRequestReconciler) waitForExpiry(_ context.Context, s *retentionScope) (stepResult, error) {
	if expireNow(s.br) {
		return stepDone, nil
	}
	if wait := s.br.Status.ExpiresAt.Sub(s.now); wait > 0 {
		return s.stop(admission.Recheck(min(wait, r.Options.RetentionCheckInterval))), nil
	}
	return stepDone, nil
}

// retentionRecheck is the result of the pass that ended a backup: its retention looks
// at it next, when waitForExpiry would (its own phase change does not wake it; see
// transitionHandler). A backup without an expiry (refused before its first write)
// has nothing to expire.
func (r *BackupRequestReconciler) retentionRecheck(br *backupv1alpha1.BackupRequest) ctrl.Result {
	if br.Status.ExpiresAt == nil {
		return ctrl.Result{}
	}
	return admission.Recheck(max(min(br.Status.ExpiresAt.Sub(r.Clock.Now()), r.Options.RetentionCheckInterval), 0))
}

// keepNewest stops the pass of an expired successful backup that is among the
// RetentionMinKept newest of its project and environment, saying so (once) in the
// ArtifactsRemoved condition. A failed look-up is returned: the backup is kept.
func (r *BackupRequestReconciler) keepNewest(ctx context.Context, s *retentionScope) (stepResult, error) {
	br := s.br
	if br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		return stepDone, nil
	}
	keep, err := r.amongNewestSucceeded(ctx, br)
	if err != nil || !keep {
		return stepDone, err
	}
	if c := br.Status.Condition(backupv1alpha1.ConditionArtifactsRemoved); c == nil || c.Reason != string(backupv1alpha1.ReasonKeptAsNewest) {
		msg := fmt.Sprintf("expired, but kept: it is among the %d newest successful backups of %s/%s", r.Options.RetentionMinKept, br.Spec.ProjectID, br.Spec.Environment)
		s.setArtifactsRemoved(metav1.ConditionFalse, backupv1alpha1.ReasonKeptAsNewest, msg)
	}
	return s.stop(admission.Recheck(r.Options.RetentionCheckInterval)), nil
}

// markExpired moves the backup to phase Expired with the removal's summary; the event
// and the archiving follow the stored status, and so does the object's deletion
// (DeleteExpired), which reconcileRetention does after the write.
func (r *BackupRequestReconciler) markExpired(ctx context.Context, s *retentionScope) (stepResult, error) {
	removed := s.removed
	s.change(func(st *backupv1alpha1.BackupRequestStatus) { st.SetAsExpired(removed, s.now) })
	s.after(func() {
		ctrl.LoggerFrom(ctx).Info("backup expired", "removed", removed)
		r.recorder().normal(s.br, backupv1alpha1.ReasonExpired, "Expire", "Backup expired: %s", removed)
		r.archive(s.br)
	})
	s.deleteObject = r.Options.DeleteExpired
	return stepDone, nil
}
