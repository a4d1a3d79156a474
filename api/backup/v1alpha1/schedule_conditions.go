package v1alpha1

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A BackupSchedule has one condition, Ready (ConditionReady): True while it runs on
// its schedule, False with reason Suspended or InvalidSchedule when it does not.

// Reasons of a BackupSchedule's condition and events.
const (
	// Ready.
	ReasonScheduled Reason = "Scheduled"
	// ReasonSuspended: spec.suspend is true (Ready), or a slot passed while it was
	// (status.lastSkipped; resuming does not run it).
	ReasonSuspended       Reason = "Suspended"
	ReasonInvalidSchedule Reason = "InvalidSchedule"

	// Slots (events, status.lastSkipped).
	ReasonBackupCreated Reason = "BackupCreated"
	ReasonBackupAdopted Reason = "BackupAdopted"
	// ReasonConcurrencyForbidden: concurrencyPolicy Forbid skipped a slot because a
	// backup of the schedule was still running.
	ReasonConcurrencyForbidden Reason = "ConcurrencyForbidden"
	ReasonNameInUse            Reason = "NameInUse"
	ReasonMissedRuns           Reason = "MissedRuns"

	// Retention and deletion (events).
	ReasonRetentionExpiring Reason = "RetentionExpiring"
	ReasonBackupsOrphaned   Reason = "BackupsOrphaned"
	// ReasonKeptWithSchedule: a backup deleted together with its schedule (garbage
	// collection in the foreground) keeps its artefacts.
	ReasonKeptWithSchedule Reason = "KeptWithSchedule"
)

// Condition returns the condition of type t, or nil.
func (st *BackupScheduleStatus) Condition(t ConditionType) *metav1.Condition {
	return meta.FindStatusCondition(st.Conditions, string(t))
}

// SetCondition sets the condition of type t for st.ObservedGeneration, keeping its
// lastTransitionTime when the status does not change.
func (st *BackupScheduleStatus) SetCondition(t ConditionType, status metav1.ConditionStatus, reason Reason, message string, now time.Time) {
	setCondition(&st.Conditions, st.ObservedGeneration, t, status, reason, message, now)
}

// SetAsScheduled records that the schedule runs, next at next.
func (st *BackupScheduleStatus) SetAsScheduled(effective string, next time.Time, now time.Time) {
	st.EffectiveSchedule = effective
	n := metav1.NewTime(next)
	st.NextScheduleTime = &n
	st.SetCondition(ConditionReady, metav1.ConditionTrue, ReasonScheduled, "next run at "+next.UTC().Format(time.RFC3339), now)
}

// SetAsSuspended records that the schedule is suspended: it has no next run.
func (st *BackupScheduleStatus) SetAsSuspended(effective string, now time.Time) {
	st.EffectiveSchedule = effective
	st.NextScheduleTime = nil
	st.SetCondition(ConditionReady, metav1.ConditionFalse, ReasonSuspended, "suspended: no new runs until spec.suspend is false", now)
}

// SetAsInvalid records that the schedule cannot run as written.
func (st *BackupScheduleStatus) SetAsInvalid(message string, now time.Time) {
	st.EffectiveSchedule = ""
	st.NextScheduleTime = nil
	st.SetCondition(ConditionReady, metav1.ConditionFalse, ReasonInvalidSchedule, message, now)
}

// WasSuspended reports whether the stored status says the schedule is suspended.
func (st *BackupScheduleStatus) WasSuspended() bool {
	c := st.Condition(ConditionReady)
	return c != nil && c.Reason == string(ReasonSuspended)
}

// RecordSkipped records slot as skipped on purpose.
func (st *BackupScheduleStatus) RecordSkipped(slot time.Time, reason Reason, message string) {
	st.LastSkipped = &ScheduleSlotRecord{Time: metav1.NewTime(slot), Reason: reason, Message: message}
}

// RecordMissed adds n missed slots, the newest at last.
func (st *BackupScheduleStatus) RecordMissed(n int64, last time.Time) {
	if n <= 0 {
		return
	}
	st.MissedRuns += n
	t := metav1.NewTime(last)
	st.LastMissedTime = &t
}

// RecordRun records the backup created (or adopted) for slot.
func (st *BackupScheduleStatus) RecordRun(slot time.Time, name string) {
	t := metav1.NewTime(slot)
	st.LastScheduleTime = &t
	st.LastBackup = name
}
