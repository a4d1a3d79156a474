// Package schedule is the clock-free logic of BackupSchedules: parsing a cron
// schedule and evaluating it in an IANA time zone (Cron), deciding what a pass does
// with the slots that came due since the last one (Due), naming the backup of a slot
// (BackupName), and grandfather-father-son retention (Keep). Nothing here reads a
// clock or keeps state between calls: the controller passes the time and what its
// status recorded, so a restarted controller decides exactly as the stopped one would.
package schedule

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// parser reads standard 5-field cron expressions and the @ descriptors (robfig/cron,
// as Kubernetes CronJob, Velero and CNPG use it).
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Cron is a parsed schedule in a time zone.
type Cron struct {
	// Effective is the expression in use: the schedule as written, or for the
	// -random descriptors the cron expression derived from the schedule's identity.
	Effective string
	loc       *time.Location
	spec      *cron.SpecSchedule
}

// Parse reads schedule in the IANA zone timeZone (empty: UTC). The -random
// descriptors derive their time from namespace/name (see RandomExpression).
func Parse(schedule, timeZone, namespace, name string) (*Cron, error) {
	if timeZone == "" {
		timeZone = "UTC"
	}
	loc, err := time.LoadLocation(timeZone)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: use an IANA name such as Europe/Berlin", timeZone)
	}
	expr := strings.TrimSpace(schedule)
	if strings.Contains(expr, "TZ=") {
		return nil, fmt.Errorf("schedule %q: set the time zone with spec.timeZone, not in the schedule", schedule)
	}
	if strings.HasPrefix(expr, "@every") {
		return nil, fmt.Errorf("schedule %q: @every is not supported; use a cron expression", schedule)
	}
	if strings.HasSuffix(expr, "-random") {
		expr, err = RandomExpression(expr, namespace, name)
		if err != nil {
			return nil, err
		}
	}
	parsed, err := parser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", schedule, err)
	}
	spec, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("schedule %q is not a calendar schedule", schedule)
	}
	// The expression is evaluated on wall-clock fields held in UTC, where no
	// daylight-saving change happens; Next maps the wall-clock times to instants.
	spec.Location = time.UTC
	return &Cron{Effective: expr, loc: loc, spec: spec}, nil
}

// RandomExpression is the cron expression of @hourly-random, @daily-random or
// @weekly-random for the schedule namespace/name: minute, hour and weekday are taken
// from the SHA-256 of "namespace/name", so each schedule keeps its time across
// restarts and edits while a fleet of schedules spreads over the period.
func RandomExpression(descriptor, namespace, name string) (string, error) {
	sum := sha256.Sum256([]byte(namespace + "/" + name))
	minute := binary.BigEndian.Uint32(sum[0:4]) % 60
	hour := binary.BigEndian.Uint32(sum[4:8]) % 24
	weekday := binary.BigEndian.Uint32(sum[8:12]) % 7
	switch descriptor {
	case "@hourly-random":
		return fmt.Sprintf("%d * * * *", minute), nil
	case "@daily-random":
		return fmt.Sprintf("%d %d * * *", minute, hour), nil
	case "@weekly-random":
		return fmt.Sprintf("%d %d * * %d", minute, hour, weekday), nil
	}
	return "", fmt.Errorf("unknown descriptor %q: use @hourly-random, @daily-random or @weekly-random", descriptor)
}

// Location is the schedule's time zone.
func (c *Cron) Location() *time.Location { return c.loc }

// Next is the first slot strictly after after, or the zero time if there is none.
//
// The expression is matched against wall-clock time in the schedule's zone. A
// wall-clock slot that a daylight-saving change skips (02:30 on the spring-forward
// night in Europe/Berlin) runs once, at the end of the gap (03:00); several slots
// in the gap collapse into that one run. A wall-clock slot the change repeats
// (02:30 on the fall-back night) runs once, at its first occurrence.
func (c *Cron) Next(after time.Time) time.Time {
	w := wallClock(after.In(c.loc))
	// Bounded: each round moves w forward to the next matching wall-clock time.
	for range 10000 {
		wn := c.spec.Next(w)
		if wn.IsZero() {
			return time.Time{}
		}
		if t := c.instant(wn); t.After(after) {
			return t
		}
		w = wn
	}
	return time.Time{}
}

// Interval is the longest gap between consecutive slots over the year after from (at
// most 1000 slots): the longest a healthy schedule goes without a run, which an
// alert on the last success compares against.
func (c *Cron) Interval(from time.Time) time.Duration {
	var longest time.Duration
	prev := c.Next(from)
	end := from.AddDate(1, 0, 0)
	for i := 0; i < 1000 && !prev.IsZero() && prev.Before(end); i++ {
		next := c.Next(prev)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(prev))
		prev = next
	}
	return longest
}

// wallClock is t's wall-clock fields as a UTC time.
func wallClock(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// instant is the earliest instant whose wall clock in the schedule's zone is w; for a
// wall-clock time inside a daylight-saving gap, the first instant after the gap.
func (c *Cron) instant(w time.Time) time.Time {
	// The zone offsets in force around w (a day either side covers every zone's offset).
	_, before := w.Add(-24 * time.Hour).In(c.loc).Zone()
	_, after := w.Add(24 * time.Hour).In(c.loc).Zone()
	var best time.Time
	for _, off := range []int{before, after} {
		t := w.Add(-time.Duration(off) * time.Second)
		if wallClock(t.In(c.loc)).Equal(w) && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	if !best.IsZero() {
		return best
	}
	// w falls in a gap: find the transition, the first instant whose wall clock is past w.
	lo := w.Add(-time.Duration(max(before, after)) * time.Second)
	hi := w.Add(-time.Duration(min(before, after)) * time.Second)
	for hi.Sub(lo) > time.Second {
		mid := lo.Add((hi.Sub(lo) / 2).Truncate(time.Second))
		if wallClock(mid.In(c.loc)).After(w) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}
