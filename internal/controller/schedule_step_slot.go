package controller

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/schedule"
)

// reconcileSlot decides what to do with the slots that came due since the last pass
// (schedule.Due) and does it: creates (or adopts) the backup of the slot to run,
// records skipped and missed slots, and sets the next slot. It owns
// lastScheduleTime, lastBackup, lastSkipped, missedRuns, lastMissedTime,
// nextScheduleTime and the Ready condition.
func (r *BackupScheduleReconciler) reconcileSlot(ctx context.Context, s *scheduleScope) (stepResult, error) {
	d := schedule.Due(s.cron, scheduleState(s))
	r.recordMissedSlots(s, &d)
	r.recordSkippedSlot(s, &d)
	if !d.Run.IsZero() {
		if err := r.runSlot(ctx, s, d.Run); err != nil {
			return stepResult{}, err
		}
	}
	r.recordNextSlot(s, &d)
	return stepDone, nil
}

// scheduleState is what schedule.Due needs to know of the schedule and its status.
func scheduleState(s *scheduleScope) schedule.State {
	sched, st := s.sched, s.status()
	handled := lastHandled(st)
	state := schedule.State{
		Created:      sched.CreationTimestamp.Time,
		LastHandled:  handled,
		Suspended:    sched.Spec.Suspend,
		WasSuspended: st.WasSuspended(),
		Forbid:       sched.Spec.ConcurrencyPolicy != backupv1alpha1.ConcurrencyAllow,
		Active:       activeBefore(s.children, handled),
		Now:          s.now,
	}
	if d := sched.Spec.StartingDeadlineSeconds; d != nil {
		state.StartingDeadline = ptr.To(time.Duration(*d) * time.Second)
	}
	return state
}

// recordMissedSlots records the slots the controller reached too late, with a
// warning event and the missed-runs metric.
func (r *BackupScheduleReconciler) recordMissedSlots(s *scheduleScope, d *schedule.Decision) {
	if d.Missed <= 0 {
		return
	}
	sched := s.sched
	s.status().RecordMissed(d.Missed, d.LastMissed)
	s.after(func() {
		r.recorder().event(sched, nil, corev1.EventTypeWarning, backupv1alpha1.ReasonMissedRuns, "Schedule",
			"%d slot(s) missed (the controller reached them too late), the last at %s", d.Missed, d.LastMissed.UTC().Format(time.RFC3339))
		if r.Metrics != nil {
			r.Metrics.ScheduleMissed(sched, d.Missed)
		}
	})
}

// recordSkippedSlot records a slot skipped; only a skip forbidden by the concurrency
// policy gets an event, the others say why in status alone.
func (r *BackupScheduleReconciler) recordSkippedSlot(s *scheduleScope, d *schedule.Decision) {
	if d.Skipped.IsZero() {
		return
	}
	sched := s.sched
	s.status().RecordSkipped(d.Skipped, d.SkipReason, d.SkipMessage)
	if d.SkipReason == backupv1alpha1.ReasonConcurrencyForbidden {
		s.after(func() {
			r.recorder().event(sched, nil, corev1.EventTypeNormal, d.SkipReason, "Schedule", "Slot %s skipped: %s", d.Skipped.UTC().Format(time.RFC3339), d.SkipMessage)
		})
	}
}

// recordNextSlot sets the Ready condition and nextScheduleTime, and the schedule
// metrics from the status as it is stored.
func (r *BackupScheduleReconciler) recordNextSlot(s *scheduleScope, d *schedule.Decision) {
	sched, st := s.sched, s.status()
	switch {
	case sched.Spec.Suspend:
		st.SetAsSuspended(s.cron.Effective, s.now)
	case d.Next.IsZero():
		st.SetAsInvalid(fmt.Sprintf("schedule %q has no future slot", sched.Spec.Schedule), s.now)
	default:
		st.SetAsScheduled(s.cron.Effective, d.Next, s.now)
	}
	if r.Metrics == nil {
		return
	}
	interval := s.cron.Interval(s.now)
	s.after(func() {
		var next, success *time.Time
		if st.NextScheduleTime != nil {
			next = &st.NextScheduleTime.Time
		}
		if st.LastSuccessfulTime != nil {
			success = &st.LastSuccessfulTime.Time
		}
		r.Metrics.ScheduleObserved(sched, next, success, interval)
	})
}

// lastHandled is the newest slot the status says a pass disposed of.
func lastHandled(st *backupv1alpha1.BackupScheduleStatus) time.Time {
	var t time.Time
	for _, c := range []*metav1.Time{st.LastScheduleTime, st.LastMissedTime} {
		if c != nil && c.After(t) {
			t = c.Time
		}
	}
	if st.LastSkipped != nil && st.LastSkipped.Time.After(t) {
		t = st.LastSkipped.Time.Time
	}
	return t
}

// activeBefore counts the unfinished backups of slots up to handled: a backup of a
// later slot was created by a pass that stopped before recording it, and is the one
// this pass adopts, not a reason to skip its own slot.
func activeBefore(children []backupv1alpha1.BackupRequest, handled time.Time) int {
	n := 0
	for i := range children {
		br := &children[i]
		if br.Status.Phase.IsTerminal() || !br.DeletionTimestamp.IsZero() {
			continue
		}
		if slot, ok := scheduledAt(br); ok && slot.After(handled) {
			continue
		}
		n++
	}
	return n
}

// scheduledAt is the slot a scheduled backup was created for.
func scheduledAt(br *backupv1alpha1.BackupRequest) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, br.Annotations[backupv1alpha1.ScheduledAtAnnotation])
	return t, err == nil
}

// runSlot creates the backup of slot, or adopts it when a previous pass already
// created it. A BackupRequest of that name the schedule does not control is left
// alone: the slot is recorded as skipped (NameInUse) with a Warning event.
func (r *BackupScheduleReconciler) runSlot(ctx context.Context, s *scheduleScope, slot time.Time) error {
	sched, st := s.sched, s.status()
	br := newScheduledBackup(sched, slot)
	err := r.Create(ctx, br)
	switch {
	case err == nil:
		st.RecordRun(slot, br.Name)
		st.Active = append(st.Active, br.Name)
		s.after(func() {
			ctrl.LoggerFrom(ctx).Info("scheduled backup created", "backup", br.Name, "slot", slot)
			r.recorder().event(sched, br, corev1.EventTypeNormal, backupv1alpha1.ReasonBackupCreated, "Schedule",
				"Created backup %s for the slot %s", br.Name, slot.UTC().Format(time.RFC3339))
		})
		return nil
	case !apierrors.IsAlreadyExists(err):
		return fmt.Errorf("create backup %s: %w", br.Name, err)
	}
	existing := &backupv1alpha1.BackupRequest{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(br), existing); err != nil {
		return fmt.Errorf("read existing backup %s: %w", br.Name, err)
	}
	if metav1.IsControlledBy(existing, sched) {
		st.RecordRun(slot, existing.Name)
		if !existing.Status.Phase.IsTerminal() && !slices.Contains(st.Active, existing.Name) {
			st.Active = append(st.Active, existing.Name)
		}
		s.after(func() {
			r.recorder().event(sched, existing, corev1.EventTypeNormal, backupv1alpha1.ReasonBackupAdopted, "Schedule",
				"Adopted backup %s, created for the slot %s by an earlier pass", existing.Name, slot.UTC().Format(time.RFC3339))
		})
		return nil
	}
	msg := fmt.Sprintf("a BackupRequest named %s exists and does not belong to this schedule; the slot is skipped", br.Name)
	st.RecordSkipped(slot, backupv1alpha1.ReasonNameInUse, msg)
	s.after(func() {
		r.recorder().event(sched, existing, corev1.EventTypeWarning, backupv1alpha1.ReasonNameInUse, "Schedule", "%s", msg)
	})
	return nil
}

// newScheduledBackup is the BackupRequest of sched's slot: a deterministic name, the
// schedule label, the slot and retention annotations, a controller owner reference
// that does not block the schedule's deletion, and the template's spec with the run's
// own destination prefix. Nothing else of the schedule's metadata is copied.
func newScheduledBackup(sched *backupv1alpha1.BackupSchedule, slot time.Time) *backupv1alpha1.BackupRequest {
	annotations := map[string]string{backupv1alpha1.ScheduledAtAnnotation: slot.UTC().Format(time.RFC3339)}
	if sched.Spec.Retention != nil {
		annotations[backupv1alpha1.RetentionAnnotation] = backupv1alpha1.RetentionBySchedule
	}
	return &backupv1alpha1.BackupRequest{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   sched.Namespace,
			Name:        schedule.BackupName(sched.Name, slot),
			Labels:      map[string]string{backupv1alpha1.ScheduleLabel: sched.Name},
			Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         backupv1alpha1.GroupVersion.String(),
				Kind:               "BackupSchedule",
				Name:               sched.Name,
				UID:                sched.UID,
				Controller:         ptr.To(true),
				BlockOwnerDeletion: ptr.To(false),
			}},
		},
		Spec: sched.RunSpec(schedule.SlotStamp(slot)),
	}
}
