package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/admission"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// CleanupFinalizer makes deleting a BackupRequest delete its cloud artefacts first.
const CleanupFinalizer = "backup.liferay.cloud/cleanup"

// retained reports whether the user asked (deletion-policy: retain) to keep the cloud
// artefacts of a backup, or what a restore created.
func retained(obj metav1.Object) bool {
	return strings.EqualFold(obj.GetAnnotations()[backupv1alpha1.DeletionPolicyAnnotation], "retain")
}

// ensureFinalizer adds the cleanup finalizer (br is updated in place).
func (r *BackupRequestReconciler) ensureFinalizer(ctx context.Context, br *backupv1alpha1.BackupRequest) error {
	if controllerutil.ContainsFinalizer(br, CleanupFinalizer) {
		return nil
	}
	original := br.DeepCopy()
	controllerutil.AddFinalizer(br, CleanupFinalizer)
	if err := r.Patch(ctx, br, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("add cleanup finalizer: %w", err)
	}
	r.writes.record(br)
	return nil
}

// expiry is completionTime + retention days.
func (r *BackupRequestReconciler) expiry(br *backupv1alpha1.BackupRequest, completed time.Time) metav1.Time {
	days := r.Options.DefaultRetentionDays
	if br.Spec.RetentionDays != nil {
		days = *br.Spec.RetentionDays
	}
	return metav1.NewTime(completed.Add(time.Duration(days) * 24 * time.Hour))
}

// reconcileRetention removes a Succeeded or Failed backup's artefacts once it expires,
// keeping the newest successful backups of its project and environment.
func (r *BackupRequestReconciler) reconcileRetention(ctx context.Context, br *backupv1alpha1.BackupRequest) (ctrl.Result, error) {
	if br.Status.Phase == backupv1alpha1.PhaseExpired {
		if r.Options.DeleteExpired {
			return ctrl.Result{}, client.IgnoreNotFound(r.Delete(ctx, br))
		}
		return ctrl.Result{}, nil
	}
	// A scheduled backup's schedule may take over its expiry (RetentionAnnotation): a
	// successful one it keeps waits for its word, one it drops expires now.
	expireNow := br.Annotations[backupv1alpha1.RetentionAnnotation] == backupv1alpha1.RetentionExpire
	if !expireNow && br.Status.Phase == backupv1alpha1.PhaseSucceeded &&
		br.Annotations[backupv1alpha1.RetentionAnnotation] == backupv1alpha1.RetentionBySchedule {
		return ctrl.Result{}, nil
	}
	// One the schedule dropped goes straight to the removal below, with the same checks
	// as an expiry by date.
	if !expireNow && br.Status.ExpiresAt == nil {
		if !br.Status.HasArtifacts() {
			return ctrl.Result{}, nil // refused before its first write: nothing will ever expire
		}
		completed := r.Clock.Now()
		if br.Status.CompletionTime != nil {
			completed = br.Status.CompletionTime.Time
		}
		expires := r.expiry(br, completed)
		if err := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) { st.ExpiresAt = &expires }); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	if !expireNow {
		if wait := br.Status.ExpiresAt.Sub(r.Clock.Now()); wait > 0 {
			return admission.Recheck(min(wait, r.Options.RetentionCheckInterval)), nil
		}
	}
	if br.Status.Phase == backupv1alpha1.PhaseSucceeded {
		keep, err := r.amongNewestSucceeded(ctx, br)
		if err != nil {
			return ctrl.Result{}, err
		}
		if keep {
			if c := br.Status.Condition(backupv1alpha1.ConditionArtifactsRemoved); c == nil || c.Reason != string(backupv1alpha1.ReasonKeptAsNewest) {
				msg := fmt.Sprintf("expired, but kept: it is among the %d newest successful backups of %s/%s", r.Options.RetentionMinKept, br.Spec.ProjectID, br.Spec.Environment)
				if err := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
					st.SetCondition(backupv1alpha1.ConditionArtifactsRemoved, metav1.ConditionFalse, backupv1alpha1.ReasonKeptAsNewest, msg, r.Clock.Now())
				}); err != nil {
					return ctrl.Result{}, err
				}
			}
			return admission.Recheck(r.Options.RetentionCheckInterval), nil
		}
	}
	if wait, err := r.waitForRestores(ctx, br, "Expiry"); err != nil {
		return ctrl.Result{}, err
	} else if wait {
		// Woken when the restore ends (restoreEndedHandler); the recheck is a safety net.
		return admission.Recheck(r.Options.RetentionCheckInterval), nil
	}
	removed, err := r.removeArtifacts(ctx, br)
	if p, pending := isSweepPending(err); pending {
		return ctrl.Result{RequeueAfter: p.after}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	err = r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
		st.SetAsExpired(removed, r.Clock.Now())
	})
	if err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ctrl.LoggerFrom(ctx).Info("backup expired", "removed", removed)
	r.normalEvent(br, backupv1alpha1.ReasonExpired, "Expire", "Backup expired: %s", removed)
	r.archive(br)
	if r.Options.DeleteExpired {
		return ctrl.Result{}, client.IgnoreNotFound(r.Delete(ctx, br))
	}
	return ctrl.Result{}, nil
}

// amongNewestSucceeded reports whether fewer than RetentionMinKept successful backups
// of the same project and environment completed after br.
func (r *BackupRequestReconciler) amongNewestSucceeded(ctx context.Context, br *backupv1alpha1.BackupRequest) (bool, error) {
	var list backupv1alpha1.BackupRequestList
	if err := r.List(ctx, &list, client.MatchingFields{projectIndex: br.Spec.ProjectID}, client.UnsafeDisableDeepCopy); err != nil {
		return false, fmt.Errorf("list backups of project %s: %w", br.Spec.ProjectID, err)
	}
	newer := 0
	for i := range list.Items {
		o := &list.Items[i]
		if o.UID == br.UID || o.Spec.Environment != br.Spec.Environment || o.Status.Phase != backupv1alpha1.PhaseSucceeded ||
			o.Status.CompletionTime == nil || !o.DeletionTimestamp.IsZero() {
			continue
		}
		if o.Status.CompletionTime.After(br.Status.CompletionTime.Time) ||
			(o.Status.CompletionTime.Equal(br.Status.CompletionTime) && o.CreationTimestamp.After(br.CreationTimestamp.Time)) {
			newer++
		}
	}
	return newer < r.Options.RetentionMinKept, nil
}

// removeArtifacts deletes what the backup provably wrote (all idempotent) unless the
// retain policy is set: its snapshot when the snapshot's tags name this backup, and
// under its claimed destination only the objects its inventories list plus its own
// inventory, manifest and claim. A failure is shown as a condition, a Warning event
// and a metric, and returned so the workqueue retries with backoff.
func (r *BackupRequestReconciler) removeArtifacts(ctx context.Context, br *backupv1alpha1.BackupRequest) (string, error) {
	if retained(br) {
		return "artefacts kept (deletion-policy: retain)", nil
	}
	if !br.Status.HasArtifacts() {
		return "nothing to remove", nil
	}
	var done []string
	var errs []error
	prov, err := r.Providers.Get(string(br.Spec.Provider))
	if err != nil {
		// The backup wrote artefacts through a provider this manager no longer has
		// (a changed configuration): keep them and retry, never read it as "nothing".
		errs = append(errs, fmt.Errorf("spec.provider %q: no such provider in this manager, so the artefacts are kept: %w", br.Spec.Provider, err))
	} else {
		done, errs = r.removeEach(ctx, br, prov)
	}
	return r.reportRemoval(ctx, br, done, errs)
}

// removeEach removes the snapshot and the claimed objects, collecting what was done
// and what failed.
func (r *BackupRequestReconciler) removeEach(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider) (done []string, errs []error) {
	if db := br.Status.Database; db != nil && db.SnapshotID != "" {
		if summary, err := r.removeSnapshot(ctx, br, prov, db.SnapshotID); err != nil {
			errs = append(errs, err)
		} else {
			done = append(done, summary)
		}
	}
	if claim := br.Status.Claim; claim != nil {
		var summary string
		var err error
		if incremental(br) {
			summary, err = r.removeFromRepository(ctx, br, prov, claim)
		} else {
			summary, err = r.removeClaimedObjects(ctx, br, prov, claim.Bucket, claim.Prefix)
		}
		if err != nil {
			errs = append(errs, err)
		} else {
			done = append(done, summary)
		}
	}
	return done, errs
}

// reportRemoval records the outcome of a removal: a pending sweep, a failure
// (condition, Warning event, metric, and the error so the workqueue retries) or the
// summary of what was removed.
func (r *BackupRequestReconciler) reportRemoval(ctx context.Context, br *backupv1alpha1.BackupRequest, done []string, errs []error) (string, error) {
	if pending, ok := isSweepPending(errors.Join(errs...)); ok && len(errs) == 1 {
		if perr := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
			st.SetCondition(backupv1alpha1.ConditionArtifactsRemoved, metav1.ConditionFalse, backupv1alpha1.ReasonSweeping, pending.why, r.Clock.Now())
		}); perr != nil {
			return "", perr
		}
		return "", pending
	}
	if err := errors.Join(errs...); err != nil {
		if r.Metrics != nil {
			r.Metrics.RetentionFailed(br)
		}
		r.warningEvent(br, backupv1alpha1.ReasonCleanupFailed, "Cleanup", "Removing backup artefacts failed, will retry: %v", err)
		if perr := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
			st.SetCondition(backupv1alpha1.ConditionArtifactsRemoved, metav1.ConditionFalse, backupv1alpha1.ReasonCleanupFailed, err.Error(), r.Clock.Now())
		}); perr != nil {
			return "", errors.Join(err, perr)
		}
		return "", fmt.Errorf("remove backup artefacts: %w", err)
	}
	summary := strings.Join(done, "; ")
	if r.Metrics != nil {
		r.Metrics.RetentionDeleted(br)
	}
	return summary, r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
		st.SetCondition(backupv1alpha1.ConditionArtifactsRemoved, metav1.ConditionTrue, backupv1alpha1.ReasonRemoved, summary, r.Clock.Now())
	})
}

// removeSnapshot deletes the snapshot only when its owner tags name this backup.
func (r *BackupRequestReconciler) removeSnapshot(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider, id string) (string, error) {
	st, err := prov.GetDatabaseSnapshotStatus(ctx, id)
	r.observeCall("GetDatabaseSnapshotStatus", err)
	if provider.IsNotFound(err) {
		return "snapshot " + id + " already gone", nil
	}
	if err != nil {
		return "", fmt.Errorf("check snapshot %s before deleting it: %w", id, err)
	}
	if st.Owner.UID != string(br.UID) {
		return fmt.Sprintf("snapshot %s kept: its tags do not name this backup", id), nil
	}
	err = prov.DeleteDatabaseSnapshot(ctx, id)
	r.observeCall("DeleteDatabaseSnapshot", err)
	if err != nil {
		return "", fmt.Errorf("delete snapshot %s: %w", id, err)
	}
	return "removed snapshot " + id, nil
}

// removeClaimedObjects deletes, under a destination this backup claimed, the objects
// listed in its inventory parts (each part after its objects), then its manifest and
// last its claim, so an interrupted removal resumes where it stopped. Nothing is
// deleted when the claim is gone (already removed) or names another backup. An
// Incremental backup's inventory lists stored objects of its repository, which other
// backups share: only its parts are deleted, and the sweep sees to the objects.
func (r *BackupRequestReconciler) removeClaimedObjects(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider, bucket, prefix string) (string, error) {
	where := fmt.Sprintf("s3://%s/%s", bucket, prefix)
	claim, err := readClaim(ctx, prov, bucket, prefix)
	if err != nil {
		return "", fmt.Errorf("read the claim of %s: %w", where, err)
	}
	if claim == nil {
		return "nothing left under " + where, nil
	}
	if claim.UID != string(br.UID) {
		return fmt.Sprintf("nothing removed under %s: it is claimed by the backup %q", where, claim.BackupID), nil
	}
	parts, err := prov.ListObjects(ctx, bucket, layout.InventoryPrefix(prefix))
	r.observeCall("ListObjects", err)
	if err != nil {
		return "", fmt.Errorf("list the inventory of %s: %w", where, err)
	}
	removed := 0
	for _, p := range parts {
		if !layout.IsPartKey(strings.TrimPrefix(p.Key, prefix)) {
			continue // not ours to read, nor to delete
		}
		if incremental(br) {
			if err := deleteObjects(ctx, prov, bucket, []string{p.Key}, r.observeCall); err != nil {
				return "", err
			}
			continue
		}
		data, err := provider.ReadSmallObject(ctx, prov, bucket, p.Key)
		if provider.IsNotFound(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("read inventory part: %w", err)
		}
		var keys []string
		var foreign error
		if _, err := inventory.Read(data, func(e inventory.Entry) error {
			// The copy stores every key under data/ (any key there, ".." segments
			// included, is literal and stays there); a line that is not was not written
			// by it. Refused, not skipped: deleting the rest and then the part would
			// hide it for good.
			if !layout.IsDataKey(e.StoredKey) {
				foreign = fmt.Errorf("inventory part s3://%s/%s lists the stored key %q, which is not under %s, so the objects it lists are kept",
					bucket, p.Key, e.StoredKey, layout.DataDir)
				return foreign
			}
			keys = append(keys, prefix+e.StoredKey)
			return nil
		}); foreign != nil {
			return "", foreign
		} else if err != nil {
			return "", fmt.Errorf("inventory part s3://%s/%s is unreadable, so its objects are kept: %w", bucket, p.Key, err)
		}
		if err := deleteObjects(ctx, prov, bucket, append(keys, p.Key), r.observeCall); err != nil {
			return "", err
		}
		removed += len(keys)
	}
	if err := r.deleteOwnManifest(ctx, br, prov, bucket, layout.ManifestKey(prefix)); err != nil {
		return "", err
	}
	if err := deleteObjects(ctx, prov, bucket, []string{layout.ClaimKey(prefix)}, r.observeCall); err != nil {
		return "", err
	}
	if incremental(br) {
		return "removed the backup's inventory and own files under " + where, nil
	}
	return fmt.Sprintf("removed %d objects and the backup's own files under %s", removed, where), nil
}

// deleteOwnManifest deletes the manifest at key when it is this backup's.
func (r *BackupRequestReconciler) deleteOwnManifest(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider, bucket, key string) error {
	data, err := provider.ReadSmallObject(ctx, prov, bucket, key)
	if provider.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read manifest before deleting it: %w", err)
	}
	if m, err := manifest.Parse(data); err != nil || m.BackupID != backupID(br) {
		return nil // not ours: keep it
	}
	return deleteObjects(ctx, prov, bucket, []string{key}, r.observeCall)
}

// deleteObjects deletes the named keys and counts the call with observe.
func deleteObjects(ctx context.Context, prov provider.Provider, bucket string, keys []string, observe func(op string, err error)) error {
	_, err := prov.DeleteObjects(ctx, bucket, keys)
	observe("DeleteObjects", err)
	if err != nil {
		return fmt.Errorf("delete %d objects in s3://%s: %w", len(keys), bucket, err)
	}
	return nil
}

// reconcileDelete stops running work, frees the slot, removes the artefacts (unless
// retained or already expired) and only then lets the object go.
func (r *BackupRequestReconciler) reconcileDelete(ctx context.Context, br *backupv1alpha1.BackupRequest) (ctrl.Result, error) {
	r.jobs.Cancel(br.UID)
	r.slots.Release(ctx, br)
	if !controllerutil.ContainsFinalizer(br, CleanupFinalizer) {
		return ctrl.Result{}, nil
	}
	keep, why, err := r.deletedWithSchedule(ctx, br)
	if err != nil {
		// Unsure whether the schedule is going: keep everything and ask again.
		return ctrl.Result{}, err
	}
	if keep {
		r.warningEvent(br, backupv1alpha1.ReasonKeptWithSchedule, "Delete", "BackupRequest deleted with its schedule: artefacts kept (%s)", why)
	} else if br.Status.Phase != backupv1alpha1.PhaseExpired {
		if !retained(br) {
			if wait, err := r.waitForRestores(ctx, br, "Deletion"); err != nil {
				return ctrl.Result{}, err
			} else if wait {
				return admission.Recheck(r.Options.RetentionCheckInterval), nil
			}
		}
		removed, err := r.removeArtifacts(ctx, br)
		if p, pending := isSweepPending(err); pending {
			return ctrl.Result{RequeueAfter: p.after}, nil
		}
		if err != nil {
			return ctrl.Result{}, err
		}
		r.normalEvent(br, backupv1alpha1.ReasonRemoved, "Delete", "BackupRequest deleted: %s", removed)
	}
	original := br.DeepCopy()
	controllerutil.RemoveFinalizer(br, CleanupFinalizer)
	r.writes.forget(client.ObjectKeyFromObject(br))
	return ctrl.Result{}, client.IgnoreNotFound(r.Patch(ctx, br, client.MergeFrom(original)))
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
