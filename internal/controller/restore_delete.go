package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/artifact"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// reconcileRestoreDelete is cancel by delete: it stops the copy and the polling, frees
// the slot, removes what the restore itself created, and only then lets the object go.
//
// What is removed depends on how far the restore got:
//   - Pending, InProgress or Failed: the instance it started, restored from the
//     snapshot or created for a dump load (only when its owner tags name this
//     restore: the provider refuses any other) and exactly the keys its record
//     lists (keys it wrote into absent places; never a key that was there before,
//     and none at all in Overwrite mode), then the record. With the annotation
//     backup.liferay.cloud/deletion-policy: retain, only the record goes.
//   - Succeeded: only the record. A finished restore's data and instance are the
//     user's now: deleting the RestoreRequest (a GitOps prune, a cleanup of old
//     objects) must never undo a restore that people may already be using. The
//     finalizer stays until the history row is written (awaitRestoreHistory).
//
// The steps run in order on a per-pass scope, like an InProgress restore's; a step that
// is not finished stops the pass, and any error keeps the finalizer (and so everything
// not yet removed) for a retry. Only a pass whose every step finished removes it.
func (r *RestoreRequestReconciler) reconcileRestoreDelete(ctx context.Context, rr *backupv1alpha1.RestoreRequest) (ctrl.Result, error) {
	s := newRestoreDeletion(rr)
	res, stepErr := runSteps(ctx, s, r.restoreDeletionSteps())
	if err := r.closeRestoreDeletion(ctx, s, stepErr == nil && res.done); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if stepErr != nil || res.done {
		return ctrl.Result{}, stepErr
	}
	// A plain requeue, not admission.Recheck: Recheck's low priority would put this
	// wait, once due, behind every ready request of normal priority; the plain one
	// keeps the priority the pass came with, as before.
	return ctrl.Result{RequeueAfter: res.requeueAfter}, nil
}

// restoreDeletionSteps are the steps of a restore's deletion, in order. Each owns one
// part of the cleanup; the deletion sets no condition.
func (r *RestoreRequestReconciler) restoreDeletionSteps() []func(context.Context, *restoreDeletion) (stepResult, error) {
	return []func(context.Context, *restoreDeletion) (stepResult, error){
		r.cancelRestoreCopy,
		r.stopDeletedRestoreDumper,
		r.forgetDeletedRestore,
		holdsRestoreFinalizer,
		r.awaitRestoreHistory,
		r.resolveDeletionProvider,
		r.removeRestoredInstance,
		r.removeDumpLoadRecord,
		r.removeRestoredFiles,
		r.announceRestoreDeleted,
	}
}

// restoreDeletion is what one pass over a deleted RestoreRequest works on: the request,
// its provider (resolved once the history row no longer holds the pass) and what the
// cleanup did, for the event. Unlike restoreScope it does not stamp the generation:
// the deletion writes no status of its own, so closeRestoreDeletion stores one only if
// a step changed it, and runs the queued effects after the pass's writes.
type restoreDeletion struct {
	rr   *backupv1alpha1.RestoreRequest
	prov provider.Provider
	// undo says the instance and the objects the restore wrote go too, not only its
	// record: an unfinished restore not marked retain.
	undo bool
	// removed says what the cleanup did, in order.
	removed []string
	pass[*backupv1alpha1.RestoreRequest]
}

func newRestoreDeletion(rr *backupv1alpha1.RestoreRequest) *restoreDeletion {
	return &restoreDeletion{
		rr:   rr,
		undo: rr.Status.Phase != backupv1alpha1.RestorePhaseSucceeded && !retained(rr),
		pass: newPass(rr, restoreStatusOf),
	}
}

// wroteNothing is a restore that never wrote in the cloud: its source was never
// resolved, or it only verified the backup.
func (s *restoreDeletion) wroteNothing() bool {
	return s.rr.Status.Source == nil || s.rr.Spec.VerifyOnly
}

// summary says what the deletion removed and kept, for its event.
func (s *restoreDeletion) summary() string {
	if s.wroteNothing() {
		return "nothing was written"
	}
	done := s.removed
	switch db := s.rr.Spec.Database; {
	case db != nil && db.TargetInstanceID != "":
		// A new instance (restored from the snapshot, or created for the dump) was
		// deleted above when undone; a finished restore's is the user's.
		if !s.undo {
			done = append(done, "instance "+db.TargetInstanceID+" kept")
		}
	case db != nil && db.ConnectionSecretRef != nil:
		// Never dropped: the database is the user's, named by their Secret.
		done = append(done, "the database of Secret "+db.ConnectionSecretRef.Name+" kept as loaded")
	}
	if len(done) == 0 {
		return "nothing to remove"
	}
	return strings.Join(done, "; ")
}

// closeRestoreDeletion stores the status if a step changed it, then, when every step
// finished, removes the finalizer (the object goes), and then runs the queued effects.
// A failed write keeps the effects: nothing is announced that did not happen, and the
// next pass repeats the steps, which are idempotent.
func (r *RestoreRequestReconciler) closeRestoreDeletion(ctx context.Context, s *restoreDeletion, finished bool) error {
	if err := s.storeIfChanged(ctx, storeOf(r, r.APIReader), s.rr, r.writes.record); err != nil {
		return err
	}
	if finished {
		if err := removeFinalizer(ctx, r.Client, s.rr, RestoreFinalizer); err != nil {
			return err
		}
	}
	s.runEffects()
	return nil
}

// cancelRestoreCopy stops the restore's copy job, if one runs in this process.
func (r *RestoreRequestReconciler) cancelRestoreCopy(_ context.Context, s *restoreDeletion) (stepResult, error) {
	r.jobs.Cancel(s.rr.UID)
	return stepDone, nil
}

// stopDeletedRestoreDumper stops the restore's dumper runs: a stopped PostgreSQL
// load rolls back; what a MySQL or MariaDB load committed stays (it is in a database
// the user named, which this controller never drops).
func (r *RestoreRequestReconciler) stopDeletedRestoreDumper(ctx context.Context, s *restoreDeletion) (stepResult, error) {
	r.stopRestoreDumper(ctx, s.rr)
	return stepDone, nil
}

// forgetDeletedRestore frees the restore's slot and what this process holds for it.
// Right away, not as an effect: nothing in the status says the slot is held, and
// other requests of the project may start as soon as it is free.
func (r *RestoreRequestReconciler) forgetDeletedRestore(ctx context.Context, s *restoreDeletion) (stepResult, error) {
	project, err := r.Slots.ProjectOfNamespace(ctx, s.rr.Namespace)
	if err != nil {
		project = "" // unknown: no slot to free
	}
	r.forgetRestore(ctx, s.rr, project)
	return stepDone, nil
}

// holdsRestoreFinalizer stops the pass when the finalizer is gone: the cleanup is
// done (or was removed by hand), and the object goes without another look.
func holdsRestoreFinalizer(_ context.Context, s *restoreDeletion) (stepResult, error) {
	if !controllerutil.ContainsFinalizer(s.rr, RestoreFinalizer) {
		return stepResult{}, nil
	}
	return stepDone, nil
}

// historyWaitRecheck is how often a deletion waiting for the history row looks again
// when no Archived change wakes it (the database is down).
const historyWaitRecheck = 30 * time.Second

// awaitRestoreHistory keeps a Succeeded RestoreRequest's finalizer until its history
// row is written: the row is what refuses the same restore re-applied from Git after
// this deletion, so letting the object go first (a controller restart between success
// and archival) would let that restore run again over live data. There is nothing to
// wait for without a history database, in another phase, for a verifyOnly restore (it
// wrote nothing), or once the row is written or refused for good.
func (r *RestoreRequestReconciler) awaitRestoreHistory(ctx context.Context, s *restoreDeletion) (stepResult, error) {
	rr := s.rr
	if r.Archiver == nil || rr.Status.Phase != backupv1alpha1.RestorePhaseSucceeded || rr.Spec.VerifyOnly || r.Archiver.HistorySettled(rr) {
		return stepDone, nil
	}
	s.after(func() {
		r.archiveRestore(rr)
		ctrl.LoggerFrom(ctx).Info("deletion waits for the restore's history row")
		r.recorder().normal(rr, backupv1alpha1.ReasonAwaitingHistory, "Delete",
			"Waiting for the restore's row in the history database before letting the RestoreRequest go: it is what refuses this restore if it is applied again")
	})
	return stepResult{requeueAfter: historyWaitRecheck}, nil
}

// resolveDeletionProvider resolves the provider the cleanup removes through. An error
// keeps everything and is retried.
func (r *RestoreRequestReconciler) resolveDeletionProvider(ctx context.Context, s *restoreDeletion) (stepResult, error) {
	prov, _, err := r.restoreProvider(ctx, s.rr)
	if err != nil {
		return stepResult{}, fmt.Errorf("cancel restore: %w", err)
	}
	s.prov = prov
	return stepDone, nil
}

// removeRestoredInstance deletes the instance an unfinished restore started. The
// provider deletes it only if its owner tags name this restore; another's is kept.
func (r *RestoreRequestReconciler) removeRestoredInstance(ctx context.Context, s *restoreDeletion) (stepResult, error) {
	db := s.rr.Spec.Database
	if s.wroteNothing() || !s.undo || db == nil || db.TargetInstanceID == "" || !mayHaveStartedInstance(s.rr) {
		return stepDone, nil
	}
	err := s.prov.DeleteDatabaseInstance(ctx, db.TargetInstanceID, restoreOwner(s.rr))
	r.observeCall("DeleteDatabaseInstance", err)
	switch {
	case err == nil:
		s.removed = append(s.removed, "deleted instance "+db.TargetInstanceID)
	case provider.KindOf(err) == provider.KindConflict:
		s.removed = append(s.removed, "kept instance "+db.TargetInstanceID+": its owner tags do not name this restore")
	default:
		return stepResult{}, r.restoreCleanupFailed(s, fmt.Errorf("delete instance %s: %w", db.TargetInstanceID, err))
	}
	return stepDone, nil
}

// mayHaveStartedInstance is a restore that created its instance, or may have: also
// when created was not stored yet (a crash right after the call) once the source is
// verified, since the instance is created right after.
func mayHaveStartedInstance(rr *backupv1alpha1.RestoreRequest) bool {
	st := rr.Status
	return st.Database != nil && st.Database.Created || st.IsConditionTrue(backupv1alpha1.ConditionSourceVerified)
}

// removeRestoredFiles removes, part by part, the keys the restore's record lists (only
// for an unfinished restore not marked retain), each part once its keys are gone, and
// then the record's claim. A recorded key outside the target prefix is an error: that
// part's keys and the rest of the record are kept.
func (r *RestoreRequestReconciler) removeRestoredFiles(ctx context.Context, s *restoreDeletion) (stepResult, error) {
	rec := recordOf(s.rr)
	if s.wroteNothing() || s.rr.Spec.DocumentLibrary == nil || rec.bucket == "" {
		return stepDone, nil
	}
	removed := 0
	err := r.recordedEntries(ctx, s.prov, rec, func(partKey string, entries []inventory.Entry) error {
		if s.undo && len(entries) > 0 {
			if err := artifact.DeleteObjects(ctx, s.prov, rec.target, storedKeys(entries), r.observeCall); err != nil {
				return err
			}
			removed += len(entries)
		}
		return artifact.DeleteObjects(ctx, s.prov, rec.bucket, []string{partKey}, r.observeCall)
	})
	if err == nil {
		err = artifact.DeleteObjects(ctx, s.prov, rec.bucket, []string{layout.ClaimKey(rec.prefix)}, r.observeCall)
	}
	if err != nil {
		return stepResult{}, r.restoreCleanupFailed(s, err)
	}
	if s.undo {
		s.removed = append(s.removed, fmt.Sprintf("removed the %d objects the restore wrote to s3://%s/%s", removed, rec.target, rec.targetPrefix))
	} else {
		s.removed = append(s.removed, "restored objects kept")
	}
	s.removed = append(s.removed, "removed the restore record "+rec.location())
	return stepDone, nil
}

// removeDumpLoadRecord removes the dumper's record of a dump load (restore.json) from
// the restore's record, and the record's claim when no file restore shares it.
func (r *RestoreRequestReconciler) removeDumpLoadRecord(ctx context.Context, s *restoreDeletion) (stepResult, error) {
	rec := recordOf(s.rr)
	if s.wroteNothing() || !restoresDump(s.rr) || rec.bucket == "" {
		return stepDone, nil
	}
	keys := []string{layout.RestoreResultKey(rec.prefix)}
	if s.rr.Spec.DocumentLibrary == nil {
		keys = append(keys, layout.ClaimKey(rec.prefix))
	}
	if err := artifact.DeleteObjects(ctx, s.prov, rec.bucket, keys, r.observeCall); err != nil {
		return stepResult{}, r.restoreCleanupFailed(s, err)
	}
	if s.rr.Spec.DocumentLibrary == nil {
		s.removed = append(s.removed, "removed the restore record "+rec.location())
	}
	return stepDone, nil
}

// storedKeys are the target keys of a record part's entries.
func storedKeys(entries []inventory.Entry) []string {
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.StoredKey
	}
	return keys
}

// restoreCleanupFailed queues the warning that the cleanup failed and will retry, and
// returns err for the retry.
func (r *RestoreRequestReconciler) restoreCleanupFailed(s *restoreDeletion, err error) error {
	s.after(func() {
		r.recorder().warning(s.rr, backupv1alpha1.ReasonCleanupFailed, "Cancel", "Removing what the restore created failed, will retry: %v", err)
	})
	return err
}

// announceRestoreDeleted queues the event saying what the deletion did, released once
// the finalizer is removed.
func (r *RestoreRequestReconciler) announceRestoreDeleted(ctx context.Context, s *restoreDeletion) (stepResult, error) {
	summary := s.summary()
	s.after(func() {
		ctrl.LoggerFrom(ctx).Info("restore deleted", "removed", summary)
		r.recorder().normal(s.rr, backupv1alpha1.ReasonRestoreCancelled, "Delete", "RestoreRequest deleted: %s", summary)
	})
	return stepDone, nil
}
