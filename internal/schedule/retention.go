package schedule

import (
	"sort"
	"time"
)

// Policy is a grandfather-father-son retention policy; a zero count disables its rule.
type Policy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
}

// Keep says which of the backups taken at times the policy keeps (keep[i] for
// times[i]), with the semantics of restic's and borg's "forget":
//
// Backups are walked from the newest to the oldest. keepLast keeps the first n. Each
// other rule has a period (hour, day, ISO week, month, year, in loc) and a count n:
// a backup is kept by it when its period differs from the period of the previous
// backup that rule kept, while the rule has kept fewer than n; so the rule keeps the
// newest backup of each of the n most recent periods that have a backup (periods
// without a backup do not count). A backup kept by any rule is kept.
func Keep(times []time.Time, p Policy, loc *time.Location) []bool {
	order := make([]int, len(times))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return times[order[a]].After(times[order[b]]) })

	type rule struct {
		left   int
		period func(time.Time) int
		last   int
		used   bool
	}
	rules := []*rule{
		{left: p.Last, period: nil},
		{left: p.Hourly, period: func(t time.Time) int { return ((t.Year()*100+int(t.Month()))*100+t.Day())*100 + t.Hour() }},
		{left: p.Daily, period: func(t time.Time) int { return (t.Year()*100+int(t.Month()))*100 + t.Day() }},
		{left: p.Weekly, period: func(t time.Time) int { y, w := t.ISOWeek(); return y*100 + w }},
		{left: p.Monthly, period: func(t time.Time) int { return t.Year()*100 + int(t.Month()) }},
		{left: p.Yearly, period: func(t time.Time) int { return t.Year() }},
	}
	keep := make([]bool, len(times))
	for _, i := range order {
		t := times[i].In(loc)
		for _, r := range rules {
			if r.left <= 0 {
				continue
			}
			if r.period == nil {
				keep[i] = true
				r.left--
				continue
			}
			if v := r.period(t); !r.used || v != r.last {
				keep[i] = true
				r.left--
				r.last, r.used = v, true
			}
		}
	}
	return keep
}
