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
)

// reconcileCompletion is the last step: once every other step is done, the backup
// is Succeeded, gets its expiry and frees its slot. It owns the Ready condition and
// the phase.
func (r *BackupRequestReconciler) reconcileCompletion(ctx context.Context, s *backupScope) (stepResult, error) {
	br, st := s.br, s.status()
	if st.Phase == backupv1alpha1.PhaseSucceeded {
		return stepDone, nil
	}
	now := metav1.NewTime(s.now.Truncate(time.Second))
	summary := completionSummary(br, now.Time)
	st.SetAsSucceeded(summary, manifest.HumanBytes(backupSize(br)), now, r.expiry(br, now.Time))
	s.after(func() {
		r.slots.Release(ctx, br)
		ctrl.LoggerFrom(ctx).Info("backup succeeded", "summary", summary)
		r.recorder().normal(br, backupv1alpha1.ReasonSucceeded, "Complete", "Backup succeeded: %s", summary)
		if r.Metrics != nil {
			r.Metrics.Finished(br)
		}
		r.archive(br)
	})
	return stepDone, nil
}

func backupSize(br *backupv1alpha1.BackupRequest) int64 {
	var size int64
	if db := br.Status.Database; db != nil {
		size += db.SizeBytes
		if db.Dump != nil {
			size += db.Dump.SizeBytes
		}
	}
	if br.Status.DocumentLibrary != nil {
		size += br.Status.DocumentLibrary.TotalSizeBytes
	}
	return size
}

func completionSummary(br *backupv1alpha1.BackupRequest, now time.Time) string {
	var parts []string
	if db := br.Status.Database; db != nil && db.SnapshotID != "" {
		if db.SnapshotDeleted {
			parts = append(parts, fmt.Sprintf("snapshot %s released once dumped (keepSnapshot: false)", db.SnapshotID))
		} else {
			parts = append(parts, fmt.Sprintf("snapshot %s", db.SnapshotID))
		}
	}
	if db := br.Status.Database; db != nil && db.Dump != nil {
		parts = append(parts, fmt.Sprintf("a dump (%s)", manifest.HumanBytes(db.Dump.SizeBytes)))
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
