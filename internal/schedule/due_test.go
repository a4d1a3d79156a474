package schedule

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// pass runs Due the way the controller does: from the state its previous pass
// recorded, at the fake clock's time, and records the decision for the next pass.
type pass struct {
	c      *Cron
	clock  *clocktesting.FakeClock
	state  State
	runs   []time.Time
	missed int64
	skips  []backupv1alpha1.Reason
}

func newPass(t *testing.T, expr string, created time.Time) *pass {
	return &pass{c: mustParse(t, expr, "UTC"), clock: clocktesting.NewFakeClock(created), state: State{Created: created}}
}

func (p *pass) run() Decision {
	p.state.Now = p.clock.Now()
	d := Due(p.c, p.state)
	if !d.Handled.IsZero() {
		p.state.LastHandled = d.Handled
	}
	if !d.Run.IsZero() {
		p.runs = append(p.runs, d.Run)
	}
	if !d.Skipped.IsZero() {
		p.skips = append(p.skips, d.SkipReason)
	}
	p.missed += d.Missed
	p.state.WasSuspended = p.state.Suspended
	return d
}

func TestDueOnTime(t *testing.T) {
	p := newPass(t, "0 * * * *", at(t, "2025-06-01T10:20:00Z"))
	d := p.run()
	if !d.Run.IsZero() || !d.Next.Equal(at(t, "2025-06-01T11:00:00Z")) {
		t.Fatalf("before the first slot: %+v", d)
	}
	for h := range 5 {
		p.clock.SetTime(at(t, "2025-06-01T11:00:05Z").Add(time.Duration(h) * time.Hour))
		d = p.run()
		if want := at(t, "2025-06-01T11:00:00Z").Add(time.Duration(h) * time.Hour); !d.Run.Equal(want) {
			t.Fatalf("hour %d: run %s, want %s", h, d.Run, want)
		}
		// A second pass in the same slot (a retry, a restart) runs nothing more.
		if again := p.run(); !again.Run.IsZero() {
			t.Fatalf("second pass ran %s again", again.Run)
		}
	}
	if len(p.runs) != 5 || p.missed != 0 {
		t.Fatalf("runs %v, missed %d", p.runs, p.missed)
	}
}

func TestCatchUpAfterThreeMissedSlotsRunsExactlyOne(t *testing.T) {
	p := newPass(t, "0 * * * *", at(t, "2025-06-01T10:20:00Z"))
	p.run()
	// The controller is down from 10:20 to 13:30: 11:00, 12:00 and 13:00 passed.
	p.clock.SetTime(at(t, "2025-06-01T13:30:00Z"))
	d := p.run()
	if !d.Run.Equal(at(t, "2025-06-01T13:00:00Z")) {
		t.Fatalf("catch-up ran %s, want the most recent slot 13:00", d.Run)
	}
	if d.Missed != 2 || !d.LastMissed.Equal(at(t, "2025-06-01T12:00:00Z")) {
		t.Fatalf("missed %d (last %s), want 2 (last 12:00)", d.Missed, d.LastMissed)
	}
	if !d.Next.Equal(at(t, "2025-06-01T14:00:00Z")) {
		t.Fatalf("next %s", d.Next)
	}
	for range 3 {
		if again := p.run(); !again.Run.IsZero() || again.Missed != 0 {
			t.Fatalf("a later pass in the same hour: %+v", again)
		}
	}
	if len(p.runs) != 1 {
		t.Fatalf("runs %v, want exactly one", p.runs)
	}
}

func TestStartingDeadline(t *testing.T) {
	deadline := 10 * time.Minute
	p := newPass(t, "0 * * * *", at(t, "2025-06-01T10:20:00Z"))
	p.state.StartingDeadline = &deadline
	p.run()

	By := func(now string) Decision { p.clock.SetTime(at(t, now)); return p.run() }
	// Reached 5 minutes late: within the deadline, it runs.
	if d := By("2025-06-01T11:05:00Z"); !d.Run.Equal(at(t, "2025-06-01T11:00:00Z")) {
		t.Fatalf("5 minutes late: %+v", d)
	}
	// Reached 15 minutes late: missed, not run.
	d := By("2025-06-01T12:15:00Z")
	if !d.Run.IsZero() || d.Missed != 1 || !d.LastMissed.Equal(at(t, "2025-06-01T12:00:00Z")) {
		t.Fatalf("15 minutes late: %+v", d)
	}
	// Down for three slots, the newest reached 30 minutes late: all three missed.
	d = By("2025-06-01T15:30:00Z")
	if !d.Run.IsZero() || d.Missed != 3 {
		t.Fatalf("three slots, newest too late: %+v", d)
	}
	// Down for three slots, the newest within the deadline: it runs, two missed.
	d = By("2025-06-01T18:02:00Z")
	if !d.Run.Equal(at(t, "2025-06-01T18:00:00Z")) || d.Missed != 2 {
		t.Fatalf("three slots, newest in time: %+v", d)
	}
	if p.missed != 6 {
		t.Fatalf("missed %d in all, want 6", p.missed)
	}
}

func TestForbidSkipsWhileABackupRuns(t *testing.T) {
	p := newPass(t, "0 * * * *", at(t, "2025-06-01T10:20:00Z"))
	p.state.Forbid = true
	p.run()
	p.clock.SetTime(at(t, "2025-06-01T11:00:01Z"))
	if d := p.run(); !d.Run.Equal(at(t, "2025-06-01T11:00:00Z")) {
		t.Fatalf("first slot: %+v", d)
	}
	// The 11:00 backup is still running at 12:00 and 13:00: both slots are skipped, with the reason.
	p.state.Active = 1
	for _, now := range []string{"2025-06-01T12:00:01Z", "2025-06-01T13:00:01Z"} {
		p.clock.SetTime(at(t, now))
		d := p.run()
		if !d.Run.IsZero() || d.SkipReason != backupv1alpha1.ReasonConcurrencyForbidden || d.SkipMessage == "" {
			t.Fatalf("%s: %+v", now, d)
		}
	}
	// It finished: the 14:00 slot runs; the skipped ones are not caught up.
	p.state.Active = 0
	p.clock.SetTime(at(t, "2025-06-01T14:00:01Z"))
	if d := p.run(); !d.Run.Equal(at(t, "2025-06-01T14:00:00Z")) {
		t.Fatalf("after the long backup: %+v", d)
	}
	if len(p.runs) != 2 || len(p.skips) != 2 || p.missed != 0 {
		t.Fatalf("runs %v skips %v missed %d", p.runs, p.skips, p.missed)
	}

	// Allow runs regardless.
	q := newPass(t, "0 * * * *", at(t, "2025-06-01T10:20:00Z"))
	q.state.Active = 3
	q.clock.SetTime(at(t, "2025-06-01T11:00:01Z"))
	if d := q.run(); d.Run.IsZero() {
		t.Fatalf("Allow: %+v", d)
	}
}

func TestSuspendAndResumeDoesNotFireAtOnce(t *testing.T) {
	p := newPass(t, "0 * * * *", at(t, "2025-06-01T10:20:00Z"))
	p.run()
	p.state.Suspended = true
	p.clock.SetTime(at(t, "2025-06-01T10:30:00Z"))
	if d := p.run(); !d.Next.IsZero() {
		t.Fatalf("suspended: next %s", d.Next)
	}
	// 11:00 and 12:00 pass while suspended (some passes happen, some do not).
	p.clock.SetTime(at(t, "2025-06-01T11:00:30Z"))
	if d := p.run(); !d.Run.IsZero() || d.SkipReason != backupv1alpha1.ReasonSuspended {
		t.Fatalf("suspended slot: %+v", d)
	}
	p.clock.SetTime(at(t, "2025-06-01T12:40:00Z"))
	// Resumed at 12:40 with 12:00 not yet seen by any pass: it is not run.
	p.state.Suspended = false
	d := p.run()
	if !d.Run.IsZero() || d.SkipReason != backupv1alpha1.ReasonSuspended || !d.Next.Equal(at(t, "2025-06-01T13:00:00Z")) {
		t.Fatalf("resume pass: %+v", d)
	}
	p.clock.SetTime(at(t, "2025-06-01T12:50:00Z"))
	if d := p.run(); !d.Run.IsZero() {
		t.Fatalf("after the resume: %+v", d)
	}
	p.clock.SetTime(at(t, "2025-06-01T13:00:02Z"))
	if d := p.run(); !d.Run.Equal(at(t, "2025-06-01T13:00:00Z")) {
		t.Fatalf("first slot after the resume: %+v", d)
	}
	if len(p.runs) != 1 || p.missed != 0 {
		t.Fatalf("runs %v missed %d", p.runs, p.missed)
	}
}

func TestNoSlotAtOrBeforeCreation(t *testing.T) {
	p := newPass(t, "0 * * * *", at(t, "2025-06-01T11:00:00Z"))
	if d := p.run(); !d.Run.IsZero() || d.Missed != 0 {
		t.Fatalf("created exactly at a slot: %+v", d)
	}
}

func TestLongOutageIsCountedWithoutRunningEachSlot(t *testing.T) {
	p := newPass(t, "* * * * *", at(t, "2025-01-01T00:00:30Z"))
	p.run()
	p.clock.SetTime(at(t, "2025-01-31T00:00:30Z")) // 30 days of minutes
	d := p.run()
	if !d.Run.Equal(at(t, "2025-01-31T00:00:00Z")) || d.Missed != 30*24*60-1 {
		t.Fatalf("%+v", d)
	}
}
