package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// CleanupFinalizer makes deleting a BackupRequest delete its cloud artefacts first.
const CleanupFinalizer = "backup.liferay.cloud/cleanup"

// ConditionArtifactsRemoved reports the removal of a backup's snapshot and files,
// by retention or deletion; False with reason CleanupFailed while it keeps failing.
const ConditionArtifactsRemoved = "ArtifactsRemoved"

// Reasons of retention and cleanup.
const (
	ReasonExpired       = "Expired"
	ReasonRemoved       = "Removed"
	ReasonRetained      = "Retained"
	ReasonCleanupFailed = "CleanupFailed"
	ReasonKeptAsNewest  = "KeptAsNewest"
)

// retained reports whether the user asked to keep the cloud artefacts.
func retained(br *backupv1alpha1.BackupRequest) bool {
	return strings.EqualFold(br.Annotations[backupv1alpha1.DeletionPolicyAnnotation], "retain")
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
	if br.Status.ExpiresAt == nil {
		completed := r.Clock.Now()
		if br.Status.CompletionTime != nil {
			completed = br.Status.CompletionTime.Time
		}
		expires := r.expiry(br, completed)
		if err := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) { st.ExpiresAt = &expires }); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	if wait := br.Status.ExpiresAt.Sub(r.Clock.Now()); wait > 0 {
		return recheckAfter(min(wait, r.Options.RetentionCheckInterval)), nil
	}
	if br.Status.Phase == backupv1alpha1.PhaseSucceeded {
		keep, err := r.amongNewestSucceeded(ctx, br)
		if err != nil {
			return ctrl.Result{}, err
		}
		if keep {
			if c := meta.FindStatusCondition(br.Status.Conditions, ConditionArtifactsRemoved); c == nil || c.Reason != ReasonKeptAsNewest {
				msg := fmt.Sprintf("expired, but kept: it is among the %d newest successful backups of %s/%s", r.Options.RetentionMinKept, br.Spec.ProjectID, br.Spec.Environment)
				if err := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
					r.setCondition(st, br.Generation, ConditionArtifactsRemoved, "False", ReasonKeptAsNewest, msg)
				}); err != nil {
					return ctrl.Result{}, err
				}
			}
			return recheckAfter(r.Options.RetentionCheckInterval), nil
		}
	}
	removed, err := r.removeArtifacts(ctx, br)
	if err != nil {
		return ctrl.Result{}, err
	}
	err = r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
		st.Phase = backupv1alpha1.PhaseExpired
		st.Message = "expired: " + removed
		r.setCondition(st, br.Generation, ConditionReady, "False", ReasonExpired, st.Message)
	})
	if err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ctrl.LoggerFrom(ctx).Info("backup expired", "removed", removed)
	r.normalEvent(br, ReasonExpired, "Expire", "Backup expired: %s", removed)
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

// removeArtifacts deletes the backup's snapshot, files and manifest (all idempotent)
// unless the retain policy is set. A failure is shown as a condition, a Warning event
// and a metric, and returned so the workqueue retries with backoff.
func (r *BackupRequestReconciler) removeArtifacts(ctx context.Context, br *backupv1alpha1.BackupRequest) (string, error) {
	if retained(br) {
		return "artefacts kept (deletion-policy: retain)", nil
	}
	prov, err := r.Providers.Get(string(br.Spec.Provider))
	if err != nil {
		return "nothing to remove (provider not supported)", nil
	}
	var done []string
	var errs []error
	if db := br.Status.Database; db != nil && db.SnapshotID != "" {
		err := prov.DeleteDatabaseSnapshot(ctx, db.SnapshotID)
		r.observeCall("DeleteDatabaseSnapshot", err)
		if err != nil {
			errs = append(errs, fmt.Errorf("delete snapshot %s: %w", db.SnapshotID, err))
		} else {
			done = append(done, "snapshot "+db.SnapshotID)
		}
	}
	bucket, key := r.manifestLocation(br)
	prefix := key
	if dl := br.Spec.DocumentLibrary; dl != nil {
		prefix = destinationPrefix(dl)
	}
	if bucket != "" {
		n, err := prov.DeletePrefix(ctx, bucket, prefix)
		r.observeCall("DeletePrefix", err)
		if err != nil {
			errs = append(errs, fmt.Errorf("delete s3://%s/%s: %w", bucket, prefix, err))
		} else {
			done = append(done, fmt.Sprintf("%d objects under s3://%s/%s", n, bucket, prefix))
		}
	}
	if err := errors.Join(errs...); err != nil {
		if r.Metrics != nil {
			r.Metrics.RetentionFailed(br)
		}
		r.warningEvent(br, ReasonCleanupFailed, "Cleanup", "Removing backup artefacts failed, will retry: %v", err)
		if perr := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
			r.setCondition(st, br.Generation, ConditionArtifactsRemoved, "False", ReasonCleanupFailed, err.Error())
		}); perr != nil {
			return "", errors.Join(err, perr)
		}
		return "", fmt.Errorf("remove backup artefacts: %w", err)
	}
	summary := "removed " + strings.Join(done, " and ")
	if len(done) == 0 {
		summary = "nothing to remove"
	}
	if r.Metrics != nil {
		r.Metrics.RetentionDeleted(br)
	}
	return summary, r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
		r.setCondition(st, br.Generation, ConditionArtifactsRemoved, "True", ReasonRemoved, summary)
	})
}

// reconcileDelete stops running work, frees the slot, removes the artefacts (unless
// retained or already expired) and only then lets the object go.
func (r *BackupRequestReconciler) reconcileDelete(ctx context.Context, br *backupv1alpha1.BackupRequest) (ctrl.Result, error) {
	r.jobs.Cancel(br.UID)
	r.releaseSlot(ctx, br)
	if !controllerutil.ContainsFinalizer(br, CleanupFinalizer) {
		return ctrl.Result{}, nil
	}
	if br.Status.Phase != backupv1alpha1.PhaseExpired {
		removed, err := r.removeArtifacts(ctx, br)
		if err != nil {
			return ctrl.Result{}, err
		}
		r.normalEvent(br, ReasonRemoved, "Delete", "BackupRequest deleted: %s", removed)
	}
	original := br.DeepCopy()
	controllerutil.RemoveFinalizer(br, CleanupFinalizer)
	r.writes.forget(client.ObjectKeyFromObject(br))
	return ctrl.Result{}, client.IgnoreNotFound(r.Patch(ctx, br, client.MergeFrom(original)))
}
