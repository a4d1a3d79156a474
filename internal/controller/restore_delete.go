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
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// reconcileRestoreDelete is cancel by delete: it stops the copy and the polling, frees
// the slot, removes what the restore itself created, and only then lets the object go.
//
// What is removed depends on how far the restore got:
//   - Pending, InProgress or Failed: the instance it started (only when its owner tags
//     name this restore: the provider refuses any other) and exactly the keys its
//     record lists (keys it wrote into absent places; never a key that was there
//     before, and none at all in Overwrite mode), then the record. With the annotation
//     backup.liferay.cloud/deletion-policy: retain, only the record goes.
//   - Succeeded: only the record. A finished restore's data and instance are the
//     user's now: deleting the RestoreRequest (a GitOps prune, a cleanup of old
//     objects) must never undo a restore that people may already be using. The
//     finalizer stays until the history row is written (awaitHistory).
func (r *RestoreRequestReconciler) reconcileRestoreDelete(ctx context.Context, rr *backupv1alpha1.RestoreRequest) (ctrl.Result, error) {
	r.jobs.Cancel(rr.UID)
	project, err := r.Slots.ProjectOfNamespace(ctx, rr.Namespace)
	if err != nil {
		project = "" // unknown: no slot to free
	}
	r.forgetRestore(ctx, rr, project)
	if !controllerutil.ContainsFinalizer(rr, RestoreFinalizer) {
		return ctrl.Result{}, nil
	}
	if wait := r.awaitHistory(ctx, rr); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	prov, err := r.restoreProvider(ctx, rr)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("cancel restore: %w", err)
	}
	summary, err := r.cancelRestore(ctx, rr, prov)
	if err != nil {
		r.restoreWarning(rr, backupv1alpha1.ReasonCleanupFailed, "Cancel", "Removing what the restore created failed, will retry: %v", err)
		return ctrl.Result{}, err
	}
	ctrl.LoggerFrom(ctx).Info("restore deleted", "removed", summary)
	r.restoreNormal(rr, backupv1alpha1.ReasonRestoreCancelled, "Delete", "RestoreRequest deleted: %s", summary)
	original := rr.DeepCopy()
	controllerutil.RemoveFinalizer(rr, RestoreFinalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.Patch(ctx, rr, client.MergeFrom(original)))
}

// historyWaitRecheck is how often a deletion waiting for the history row looks again
// when no Archived change wakes it (the database is down).
const historyWaitRecheck = 30 * time.Second

// awaitHistory keeps a Succeeded RestoreRequest's finalizer until its history row is
// written: the row is what refuses the same restore re-applied from Git after this
// deletion, so letting the object go first (a controller restart between success and
// archival) would let that restore run again over live data. It returns how long to
// wait; zero when there is nothing to wait for: no history database, another phase,
// a verifyOnly restore (it wrote nothing), or the row written or refused for good.
func (r *RestoreRequestReconciler) awaitHistory(ctx context.Context, rr *backupv1alpha1.RestoreRequest) time.Duration {
	if r.Archiver == nil || rr.Status.Phase != backupv1alpha1.RestorePhaseSucceeded || rr.Spec.VerifyOnly || r.Archiver.HistorySettled(rr) {
		return 0
	}
	r.archiveRestore(rr)
	ctrl.LoggerFrom(ctx).Info("deletion waits for the restore's history row")
	r.restoreNormal(rr, backupv1alpha1.ReasonAwaitingHistory, "Delete",
		"Waiting for the restore's row in the history database before letting the RestoreRequest go: it is what refuses this restore if it is applied again")
	return historyWaitRecheck
}

// cancelRestore removes what the restore created, as reconcileRestoreDelete describes,
// and says what it did. Every removal is idempotent, so a retry resumes.
func (r *RestoreRequestReconciler) cancelRestore(ctx context.Context, rr *backupv1alpha1.RestoreRequest, prov provider.Provider) (string, error) {
	st := rr.Status
	if st.Source == nil || rr.Spec.VerifyOnly {
		return "nothing was written", nil
	}
	rec := recordOf(rr)
	undo := st.Phase != backupv1alpha1.RestorePhaseSucceeded && !retained(rr)
	var done []string
	if db := rr.Spec.Database; undo && db != nil && (st.Database != nil && st.Database.Created || st.IsConditionTrue(backupv1alpha1.ConditionSourceVerified)) {
		// Also when created was not stored yet (a crash right after the call): the
		// provider deletes the instance only if its owner tags name this restore.
		err := prov.DeleteDatabaseInstance(ctx, db.TargetInstanceID, restoreOwner(rr))
		r.observeCall("DeleteDatabaseInstance", err)
		switch {
		case err == nil:
			done = append(done, "deleted instance "+db.TargetInstanceID)
		case provider.KindOf(err) == provider.KindConflict:
			done = append(done, "kept instance "+db.TargetInstanceID+": its owner tags do not name this restore")
		default:
			return "", fmt.Errorf("delete instance %s: %w", db.TargetInstanceID, err)
		}
	}
	if rr.Spec.DocumentLibrary != nil && rec.bucket != "" {
		removed := 0
		err := r.recordedEntries(ctx, prov, rec, func(partKey string, entries []inventory.Entry) error {
			keys := make([]string, len(entries))
			for i, e := range entries {
				keys[i] = e.StoredKey
			}
			if undo && len(keys) > 0 {
				if err := deleteObjects(ctx, prov, rec.target, keys, r.observeCall); err != nil {
					return err
				}
				removed += len(keys)
			}
			return deleteObjects(ctx, prov, rec.bucket, []string{partKey}, r.observeCall)
		})
		if err != nil {
			return "", err
		}
		if err := deleteObjects(ctx, prov, rec.bucket, []string{layout.ClaimKey(rec.prefix)}, r.observeCall); err != nil {
			return "", err
		}
		if undo {
			done = append(done, fmt.Sprintf("removed the %d objects the restore wrote to s3://%s/%s", removed, rec.target, rr.Spec.DocumentLibrary.TargetKeyPrefix()))
		} else {
			done = append(done, "restored objects kept")
		}
		done = append(done, "removed the restore record "+rec.location())
	}
	if !undo && rr.Spec.Database != nil {
		done = append(done, "instance "+rr.Spec.Database.TargetInstanceID+" kept")
	}
	if len(done) == 0 {
		return "nothing to remove", nil
	}
	return strings.Join(done, "; "), nil
}
