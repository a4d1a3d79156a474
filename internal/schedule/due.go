package schedule

import (
	"fmt"
	"time"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// State is what a pass knows about a schedule: its spec's timing, what its status
// recorded, and the time. Nothing else is kept between passes.
type State struct {
	// Created is the schedule's creation time: no slot at or before it runs.
	Created time.Time
	// LastHandled is the newest slot a previous pass disposed of (ran, skipped or
	// recorded as missed); zero if none.
	LastHandled time.Time
	// Suspended is spec.suspend.
	Suspended bool
	// WasSuspended says the stored status still shows the schedule suspended: this
	// pass is the first after a resume, so the slots that passed meanwhile are not run.
	WasSuspended bool
	// StartingDeadline is spec.startingDeadlineSeconds; nil: no deadline.
	StartingDeadline *time.Duration
	// Forbid is concurrencyPolicy Forbid; Active counts the schedule's unfinished backups.
	Forbid bool
	Active int
	// Now is the pass's time.
	Now time.Time
}

// Decision is what a pass does with the slots due since State.LastHandled.
type Decision struct {
	// Run is the slot to create a backup for; zero: none.
	Run time.Time
	// Skipped is the newest slot not run on purpose, with SkipReason (Suspended or
	// ConcurrencyForbidden) and SkipMessage; zero: none.
	Skipped     time.Time
	SkipReason  backupv1alpha1.Reason
	SkipMessage string
	// Missed counts the slots not run because they were reached too late; LastMissed is the newest.
	Missed     int64
	LastMissed time.Time
	// Handled is the newest slot this decision disposes of (LastHandled for the next
	// pass); zero when no slot was due.
	Handled time.Time
	// Next is the first slot after Now; zero while suspended or when there is none.
	Next time.Time
}

// maxDueSlots bounds the slots one pass walks through (two years of a schedule every
// minute); older ones are counted from there.
const maxDueSlots = 1 << 20

// Due decides what a pass does at s.Now:
//   - The slots due are those after max(Created, LastHandled) up to Now.
//   - Suspended, or on the first pass after a resume: none runs; the newest is
//     recorded as skipped (Suspended), so resuming never fires at once.
//   - Otherwise only the most recent due slot may run (a catch-up of at most one
//     backup); the older ones are missed. The most recent is missed too when it is
//     older than StartingDeadline.
//   - With Forbid and an unfinished backup, the slot that would run is skipped
//     (ConcurrencyForbidden) instead.
func Due(c *Cron, s State) Decision {
	from := s.Created
	if s.LastHandled.After(from) {
		from = s.LastHandled
	}
	var d Decision
	var due int64
	var newest time.Time
	for t := c.Next(from); !t.IsZero() && !t.After(s.Now) && due < maxDueSlots; t = c.Next(t) {
		due++
		newest = t
	}
	if !s.Suspended {
		d.Next = c.Next(s.Now)
	}
	if due == 0 {
		return d
	}
	d.Handled = newest
	switch {
	case s.Suspended || s.WasSuspended:
		d.Skipped, d.SkipReason = newest, backupv1alpha1.ReasonSuspended
		d.SkipMessage = fmt.Sprintf("%d slot(s) passed while the schedule was suspended; resuming does not run them", due)
		return d
	case s.StartingDeadline != nil && s.Now.Sub(newest) > *s.StartingDeadline:
		d.Missed, d.LastMissed = due, newest
		return d
	}
	if due > 1 {
		d.Missed = due - 1
		d.LastMissed = c.previousBefore(from, newest)
	}
	if s.Forbid && s.Active > 0 {
		d.Skipped, d.SkipReason = newest, backupv1alpha1.ReasonConcurrencyForbidden
		d.SkipMessage = fmt.Sprintf("concurrencyPolicy Forbid: %d backup(s) of this schedule still running", s.Active)
		return d
	}
	d.Run = newest
	return d
}

// previousBefore is the last slot after from and before t.
func (c *Cron) previousBefore(from, t time.Time) time.Time {
	var prev time.Time
	for x := c.Next(from); !x.IsZero() && x.Before(t); x = c.Next(x) {
		prev = x
	}
	return prev
}

// SlotStamp is a slot as it appears in names and prefixes: UTC, YYYYMMDDHHMMSS.
func SlotStamp(slot time.Time) string { return slot.UTC().Format("20060102150405") }

// BackupName is the name of the BackupRequest of schedule's slot:
// "<schedule>-<YYYYMMDDHHMMSS UTC>". A schedule name is at most 63 characters (the
// API refuses longer), so the name is at most 78: far below the 253 of an object
// name, and the same slot always gives the same name.
func BackupName(schedule string, slot time.Time) string {
	return schedule + "-" + SlotStamp(slot)
}
