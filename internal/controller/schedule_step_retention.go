package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/schedule"
)

// reconcileScheduleRetention applies the schedule's retention to its successful
// backups: those the policy keeps are marked RetentionBySchedule (their retentionDays
// no longer applies), the others RetentionExpire, which the BackupRequest controller
// turns into an expiry through its normal retention path (the same ownership checks
// and events as any expiry). Without a policy, the marks are removed and each backup's
// retentionDays applies again. It owns the retention annotation of the backups.
func (r *BackupScheduleReconciler) reconcileScheduleRetention(ctx context.Context, s *scheduleScope) (stepResult, error) {
	sched := s.sched
	candidates, times := retentionCandidates(s.children)
	if sched.Spec.Retention == nil {
		if err := r.clearScheduleRetention(ctx, candidates); err != nil {
			return stepResult{}, err
		}
		return stepDone, nil
	}
	keep := schedule.Keep(times, policyOf(sched.Spec.Retention), s.cron.Location())
	if err := r.markScheduleRetention(ctx, sched, candidates, times, keep); err != nil {
		return stepResult{}, err
	}
	return stepDone, nil
}

// retentionCandidates returns the schedule's successful backups not being deleted and
// not yet marked to expire, with the time of each one's slot (its creation time when
// it records none).
func retentionCandidates(children []backupv1alpha1.BackupRequest) ([]*backupv1alpha1.BackupRequest, []time.Time) {
	var candidates []*backupv1alpha1.BackupRequest
	var times []time.Time
	for i := range children {
		br := &children[i]
		if br.Status.Phase != backupv1alpha1.PhaseSucceeded || !br.DeletionTimestamp.IsZero() ||
			br.Annotations[backupv1alpha1.RetentionAnnotation] == backupv1alpha1.RetentionExpire {
			continue
		}
		t, ok := scheduledAt(br)
		if !ok {
			t = br.CreationTimestamp.Time
		}
		candidates = append(candidates, br)
		times = append(times, t)
	}
	return candidates, times
}

// clearScheduleRetention removes the RetentionBySchedule mark of the candidates, so
// their own retentionDays applies again.
func (r *BackupScheduleReconciler) clearScheduleRetention(ctx context.Context, candidates []*backupv1alpha1.BackupRequest) error {
	for _, br := range candidates {
		if br.Annotations[backupv1alpha1.RetentionAnnotation] == backupv1alpha1.RetentionBySchedule {
			if err := r.setRetention(ctx, br, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// markScheduleRetention marks each candidate RetentionBySchedule when keep says the
// policy keeps it, RetentionExpire (with an event) otherwise.
func (r *BackupScheduleReconciler) markScheduleRetention(ctx context.Context, sched *backupv1alpha1.BackupSchedule, candidates []*backupv1alpha1.BackupRequest, times []time.Time, keep []bool) error {
	for i, br := range candidates {
		want := backupv1alpha1.RetentionBySchedule
		if !keep[i] {
			want = backupv1alpha1.RetentionExpire
		}
		if br.Annotations[backupv1alpha1.RetentionAnnotation] == want {
			continue
		}
		if err := r.setRetention(ctx, br, want); err != nil {
			return err
		}
		if want == backupv1alpha1.RetentionExpire {
			r.recorder().event(sched, br, corev1.EventTypeNormal, backupv1alpha1.ReasonRetentionExpiring, "Retention",
				"Backup %s (slot %s) is no longer kept by the schedule's retention; it expires now", br.Name, times[i].UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// setRetention sets (or, for "", removes) the retention annotation of br.
func (r *BackupScheduleReconciler) setRetention(ctx context.Context, br *backupv1alpha1.BackupRequest, value string) error {
	original := br.DeepCopy()
	if value == "" {
		delete(br.Annotations, backupv1alpha1.RetentionAnnotation)
	} else {
		if br.Annotations == nil {
			br.Annotations = map[string]string{}
		}
		br.Annotations[backupv1alpha1.RetentionAnnotation] = value
	}
	if err := r.Patch(ctx, br, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("mark %s for retention %q: %w", br.Name, value, err))
	}
	return nil
}

// policyOf is the API's retention as a schedule.Policy.
func policyOf(p *backupv1alpha1.ScheduleRetention) schedule.Policy {
	n := func(v *int32) int {
		if v == nil {
			return 0
		}
		return int(*v)
	}
	return schedule.Policy{Last: n(p.KeepLast), Hourly: n(p.KeepHourly), Daily: n(p.KeepDaily),
		Weekly: n(p.KeepWeekly), Monthly: n(p.KeepMonthly), Yearly: n(p.KeepYearly)}
}
