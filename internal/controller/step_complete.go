package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// reconcileCompletion completes a backup whose last step finished without completing
// it (the manifest step normally completes the backup in its own status write).
func (r *BackupRequestReconciler) reconcileCompletion(ctx context.Context, br *backupv1alpha1.BackupRequest, _ provider.Provider) (stepResult, error) {
	if br.Status.Phase == backupv1alpha1.PhaseSucceeded {
		return stepDone, nil
	}
	return stepDone, r.complete(ctx, br, nil, nil)
}

// complete marks the backup Succeeded, sets its expiry and frees the slot. The last
// step's outcome (lastStep) goes into the same status write, so finishing a backup
// costs one write, and lastEvent is recorded once that write is stored.
func (r *BackupRequestReconciler) complete(ctx context.Context, br *backupv1alpha1.BackupRequest, lastStep func(*backupv1alpha1.BackupRequestStatus), lastEvent func()) error {
	now := r.now()
	expires := r.expiry(br, now.Time)
	summary := completionSummary(br, now.Time)
	err := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
		if lastStep != nil {
			lastStep(st)
		}
		st.Phase = backupv1alpha1.PhaseSucceeded
		st.CompletionTime = &now
		st.ExpiresAt = &expires
		st.Message = summary
		st.Size = manifest.HumanBytes(backupSize(br))
		st.SetCondition(backupv1alpha1.ConditionReady, metav1.ConditionTrue, backupv1alpha1.ReasonSucceeded, summary, r.Clock.Now())
	})
	if err != nil {
		return err
	}
	r.releaseSlot(ctx, br)
	ctrl.LoggerFrom(ctx).Info("backup succeeded", "summary", summary)
	if lastEvent != nil {
		lastEvent()
	}
	r.normalEvent(br, backupv1alpha1.ReasonSucceeded, "Complete", "Backup succeeded: %s", summary)
	if r.Metrics != nil {
		r.Metrics.Finished(br)
	}
	r.archive(br)
	return nil
}

func backupSize(br *backupv1alpha1.BackupRequest) int64 {
	var size int64
	if br.Status.Database != nil {
		size += br.Status.Database.SizeBytes
	}
	if br.Status.DocumentLibrary != nil {
		size += br.Status.DocumentLibrary.TotalSizeBytes
	}
	return size
}

func completionSummary(br *backupv1alpha1.BackupRequest, now time.Time) string {
	var parts []string
	if db := br.Status.Database; db != nil {
		parts = append(parts, fmt.Sprintf("snapshot %s", db.SnapshotID))
	}
	if dl := br.Status.DocumentLibrary; dl != nil {
		parts = append(parts, fmt.Sprintf("%d files (%s)", dl.ObjectsTotal, manifest.HumanBytes(dl.TotalSizeBytes)))
	}
	took := ""
	if br.Status.StartTime != nil {
		took = " in " + manifest.HumanDuration(now.Sub(br.Status.StartTime.Time))
	}
	return fmt.Sprintf("backed up %s%s", strings.Join(parts, " and "), took)
}

// now is the reconciler clock's time as an API timestamp (second precision, like the API stores it).
func (r *BackupRequestReconciler) now() metav1.Time {
	return metav1.NewTime(r.Clock.Now().Truncate(time.Second))
}
