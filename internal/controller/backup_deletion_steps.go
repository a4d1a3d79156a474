package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// reconcileDelete stops running work, frees the slot, removes the artefacts (unless
// retained, kept with the schedule or already expired) and only then lets the object
// go: the deletion steps run on one scope, the status is stored once, and the cleanup
// finalizer is removed only after that write.
func (r *BackupRequestReconciler) reconcileDelete(ctx context.Context, br *backupv1alpha1.BackupRequest) (ctrl.Result, error) {
	r.jobs.Cancel(br.UID)
	r.stopDump(ctx, br)
	r.slots.Release(ctx, br)
	if !controllerutil.ContainsFinalizer(br, CleanupFinalizer) {
		return ctrl.Result{}, nil
	}
	s := r.newRetentionScope(br, "Deletion")
	res, err := r.runRetentionPass(ctx, s, r.deletionSteps())
	if err != nil || !s.letGo {
		return res, err
	}
	r.writes.forget(client.ObjectKeyFromObject(br))
	return ctrl.Result{}, removeFinalizer(ctx, r.Client, br, CleanupFinalizer)
}

// deletionSteps are the steps of a deletion, in order; a step that stops or fails
// keeps the finalizer, and with it the data.
func (r *BackupRequestReconciler) deletionSteps() []func(context.Context, *retentionScope) (stepResult, error) {
	return []func(context.Context, *retentionScope) (stepResult, error){
		r.keepWithSchedule,
		r.waitForReadersBeforeDeletion,
		r.removeBeforeDeletion,
		r.releaseFinalizer,
	}
}

// keepWithSchedule keeps the artefacts of a backup deleted with its schedule
// (deletedWithSchedule), with a Warning event. Unsure, it fails the pass: everything
// is kept and the question asked again.
func (r *BackupRequestReconciler) keepWithSchedule(ctx context.Context, s *retentionScope) (stepResult, error) {
	keep, why, err := r.deletedWithSchedule(ctx, s.br)
	if err != nil || !keep {
		return stepDone, err
	}
	s.artifactsStay = true
	s.after(func() {
		r.recorder().warning(s.br, backupv1alpha1.ReasonKeptWithSchedule, "Delete", "BackupRequest deleted with its schedule: artefacts kept (%s)", why)
	})
	return stepDone, nil
}

// removalSkipped reports whether a deletion leaves the artefacts alone: kept with the
// schedule, or already removed by the expiry.
func (s *retentionScope) removalSkipped() bool {
	return s.artifactsStay || s.br.Status.Phase == backupv1alpha1.PhaseExpired
}

// waitForReadersBeforeDeletion waits for the restores reading the backup, unless its
// artefacts stay anyway (retained or skipped).
func (r *BackupRequestReconciler) waitForReadersBeforeDeletion(ctx context.Context, s *retentionScope) (stepResult, error) {
	if s.removalSkipped() || retained(s.br) {
		return stepDone, nil
	}
	return r.waitForReaders(ctx, s)
}

// removeBeforeDeletion removes the artefacts of a deleted backup, with an event once
// the outcome is stored.
func (r *BackupRequestReconciler) removeBeforeDeletion(ctx context.Context, s *retentionScope) (stepResult, error) {
	if s.removalSkipped() {
		return stepDone, nil
	}
	res, err := r.removeArtifacts(ctx, s)
	if err != nil || !res.done {
		return res, err
	}
	removed := s.removed
	s.after(func() {
		r.recorder().normal(s.br, backupv1alpha1.ReasonRemoved, "Delete", "BackupRequest deleted: %s", removed)
	})
	return stepDone, nil
}

// releaseFinalizer lets the object go once every step before it is done;
// reconcileDelete removes the finalizer after the pass's status is stored.
func (r *BackupRequestReconciler) releaseFinalizer(_ context.Context, s *retentionScope) (stepResult, error) {
	s.letGo = true
	return stepDone, nil
}

// deletedWithSchedule reports whether br is being deleted because its schedule is:
// it still has the schedule's controller reference (the schedule's finalizer removes
// it before the schedule goes), and that schedule is being deleted or already gone (a
// schedule of the same name with another uid is another schedule). The garbage
// collector deletes such backups when the schedule is deleted in the foreground (Argo
// CD's default when it prunes); deleting a schedule must leave its backups' data, so
// their artefacts are kept. A failed read is returned, never taken for "not deleted
// with its schedule": that answer deletes the artefacts.
func (r *BackupRequestReconciler) deletedWithSchedule(ctx context.Context, br *backupv1alpha1.BackupRequest) (keep bool, why string, err error) {
	ref := metav1.GetControllerOf(br)
	if ref == nil || ref.Kind != "BackupSchedule" {
		return false, "", nil
	}
	sched := &backupv1alpha1.BackupSchedule{}
	err = r.APIReader.Get(ctx, client.ObjectKey{Namespace: br.Namespace, Name: ref.Name}, sched)
	switch {
	case apierrors.IsNotFound(err), err == nil && sched.UID != ref.UID:
		return true, "its BackupSchedule " + ref.Name + " is gone", nil
	case err != nil:
		return false, "", fmt.Errorf("read BackupSchedule %s to know whether the backup goes with it: %w", ref.Name, err)
	case !sched.DeletionTimestamp.IsZero():
		return true, "its BackupSchedule " + ref.Name + " is being deleted", nil
	}
	return false, "", nil
}
