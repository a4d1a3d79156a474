package controller

import (
	"context"
	"errors"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// retentionScope is what one expiry or deletion pass over a backup works on. Like
// backupScope, its steps change the status in memory (each its own part: expiresAt,
// the ArtifactsRemoved condition, the phase) and queue their events and metrics with
// after; the pass stores the status in one write at its end (pass.close) and only
// then runs the effects and the object's own changes (deleting an expired backup,
// releasing the cleanup finalizer), which must never run ahead of the status they
// follow from. The only destructive step, the removal of the artefacts, needs nothing
// stored before it: what it removed is recorded by the same pass's write.
type retentionScope struct {
	br  *backupv1alpha1.BackupRequest
	now time.Time
	// action names the pass in conditions and events: "Expiry" or "Deletion".
	action string
	// result is what the step that stopped the pass asked for (empty: a watch wakes it).
	result ctrl.Result
	// removed summarises what the removal step did, for the Expired condition and events.
	removed string
	// artifactsStay: a deletion keeps the artefacts (its schedule is being deleted).
	artifactsStay bool
	// deleteObject: delete the expired BackupRequest once its status is stored.
	deleteObject bool
	// letGo: remove the cleanup finalizer once the status is stored.
	letGo bool
	pass[*backupv1alpha1.BackupRequest]
}

// newRetentionScope starts an expiry or deletion pass over br.
func (r *BackupRequestReconciler) newRetentionScope(br *backupv1alpha1.BackupRequest, action string) *retentionScope {
	return &retentionScope{br: br, now: r.Clock.Now(), action: action, pass: newPass(br, backupStatusOf)}
}

// change applies a status change in memory, for the pass's write.
func (s *retentionScope) change(mutate func(*backupv1alpha1.BackupRequestStatus)) {
	mutate(&s.br.Status)
}

// setArtifactsRemoved sets the ArtifactsRemoved condition, the one condition the
// expiry and deletion steps own.
func (s *retentionScope) setArtifactsRemoved(status metav1.ConditionStatus, reason backupv1alpha1.Reason, message string) {
	s.change(func(st *backupv1alpha1.BackupRequestStatus) {
		st.SetCondition(backupv1alpha1.ConditionArtifactsRemoved, status, reason, message, s.now)
	})
}

// stop ends the pass at the current step with res.
func (s *retentionScope) stop(res ctrl.Result) stepResult {
	s.result = res
	return stepResult{}
}

// runRetentionPass runs steps in order on s until one stops or fails, stores the
// status once and returns what the stopping step asked for. A step's error is
// returned (the workqueue retries with backoff) after the status is stored, so a
// failure's condition is shown; nothing destructive follows an error.
func (r *BackupRequestReconciler) runRetentionPass(ctx context.Context, s *retentionScope, steps []func(context.Context, *retentionScope) (stepResult, error)) (ctrl.Result, error) {
	_, stepErr := runSteps(ctx, s, steps)
	if err := s.close(ctx, r.statusStore(), s.br, r.writes.record); err != nil {
		// Nothing follows a status that was not stored.
		s.deleteObject, s.letGo = false, false
		if stepErr != nil {
			return ctrl.Result{}, errors.Join(stepErr, err)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return s.result, stepErr
}
