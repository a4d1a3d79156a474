package schedule

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// independentKeep computes the same policy another way: per rule, group the backups
// by a formatted period label, take each period's newest backup, order the periods by
// that backup and keep the first n; keepLast sorts all and keeps the first n.
func independentKeep(times []time.Time, p Policy, loc *time.Location) map[time.Time]bool {
	kept := map[time.Time]bool{}
	sorted := slices.Clone(times)
	slices.SortFunc(sorted, func(a, b time.Time) int { return b.Compare(a) })
	for i := 0; i < p.Last && i < len(sorted); i++ {
		kept[sorted[i]] = true
	}
	labels := []struct {
		n     int
		label func(time.Time) string
	}{
		{p.Hourly, func(t time.Time) string { return t.Format("2006-01-02T15") }},
		{p.Daily, func(t time.Time) string { return t.Format("2006-01-02") }},
		{p.Weekly, func(t time.Time) string { y, w := t.ISOWeek(); return fmt.Sprintf("%04d-W%02d", y, w) }},
		{p.Monthly, func(t time.Time) string { return t.Format("2006-01") }},
		{p.Yearly, func(t time.Time) string { return t.Format("2006") }},
	}
	for _, rule := range labels {
		newest := map[string]time.Time{}
		for _, t := range times {
			l := rule.label(t.In(loc))
			if cur, ok := newest[l]; !ok || t.After(cur) {
				newest[l] = t
			}
		}
		var heads []time.Time
		for _, t := range newest {
			heads = append(heads, t)
		}
		slices.SortFunc(heads, func(a, b time.Time) int { return b.Compare(a) })
		for i := 0; i < rule.n && i < len(heads); i++ {
			kept[heads[i]] = true
		}
	}
	return kept
}

func checkAgainstIndependent(t *testing.T, times []time.Time, p Policy, loc *time.Location) map[time.Time]bool {
	t.Helper()
	keep := Keep(times, p, loc)
	want := independentKeep(times, p, loc)
	got := map[time.Time]bool{}
	for i, k := range keep {
		if k {
			got[times[i]] = true
		}
	}
	for ts := range want {
		if !got[ts] {
			t.Errorf("policy %+v: %s should be kept", p, ts.In(loc))
		}
	}
	for ts := range got {
		if !want[ts] {
			t.Errorf("policy %+v: %s should not be kept", p, ts.In(loc))
		}
	}
	return got
}

// TestGFSOver400DailyBackups simulates a daily 02:00 Europe/Berlin schedule for 400
// days (through both daylight-saving changes), applying retention after every backup
// the way the controller does, and checks the surviving set each day.
func TestGFSOver400DailyBackups(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	c := mustParse(t, "0 2 * * *", "Europe/Berlin")
	p := Policy{Last: 3, Daily: 7, Weekly: 4, Monthly: 12, Yearly: 3}
	var alive []time.Time
	slot := time.Date(2024, 1, 1, 0, 0, 0, 0, loc)
	for day := range 400 {
		slot = c.Next(slot)
		alive = append(alive, slot)
		kept := checkAgainstIndependent(t, alive, p, loc)
		var next []time.Time
		for _, ts := range alive {
			if kept[ts] {
				next = append(next, ts)
			}
		}
		alive = next
		if t.Failed() {
			t.Fatalf("day %d", day)
		}
	}
	// Expected by hand at the end (last backup 2025-02-03 02:00): 7 daily (Jan 28 to
	// Feb 3), the newest of the 4 latest ISO weeks (Feb 2, Jan 26, Jan 19 plus Feb 3's
	// week: already daily), 12 months (the last day of each month Feb 2024 to Jan 2025,
	// plus Feb 3), 2 years (2024-12-31, 2025-02-03).
	var got []string
	for _, ts := range alive {
		got = append(got, ts.In(loc).Format("2006-01-02"))
	}
	want := []string{
		"2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30", "2024-07-31", "2024-08-31",
		"2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31",
		"2025-01-19", "2025-01-26", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31",
		"2025-02-01", "2025-02-02", "2025-02-03",
	}
	if !slices.Equal(got, want) {
		t.Errorf("kept after 400 days\n got %v\nwant %v", got, want)
	}
	// Every kept backup is at 02:00 local time, across both DST changes, but the one of
	// the spring-forward night 2024-03-31, when 02:00 does not exist: at the gap's end.
	for _, ts := range alive {
		want := 2
		if ts.In(loc).Format("2006-01-02") == "2024-03-31" {
			want = 3
		}
		if h := ts.In(loc).Hour(); h != want || ts.In(loc).Minute() != 0 {
			t.Errorf("%s is not at %02d:00 local", ts.In(loc), want)
		}
	}
}

// TestGFSIrregular: days without backups and days with several, random policies, and
// the hourly rule, against the independent computation.
func TestGFSIrregular(t *testing.T) {
	loc, _ := time.LoadLocation("America/New_York")
	r := rand.New(rand.NewPCG(1, 2))
	var times []time.Time
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, loc)
	for day := range 400 {
		for range r.IntN(4) { // 0 to 3 backups a day
			times = append(times, start.AddDate(0, 0, day).Add(time.Duration(r.IntN(24*60))*time.Minute))
		}
	}
	for range 50 {
		p := Policy{Last: r.IntN(5), Hourly: r.IntN(30), Daily: r.IntN(20), Weekly: r.IntN(10), Monthly: r.IntN(15), Yearly: r.IntN(3)}
		checkAgainstIndependent(t, times, p, loc)
	}
}

func TestGFSEdges(t *testing.T) {
	loc := time.UTC
	if got := Keep(nil, Policy{Last: 3}, loc); len(got) != 0 {
		t.Errorf("empty: %v", got)
	}
	times := []time.Time{at(t, "2025-01-01T00:00:00Z"), at(t, "2025-01-03T00:00:00Z"), at(t, "2025-01-02T00:00:00Z")}
	// Input order does not matter; the newest ones are kept.
	if got := Keep(times, Policy{Last: 2}, loc); !slices.Equal(got, []bool{false, true, true}) {
		t.Errorf("keepLast 2: %v", got)
	}
	// A policy keeping nothing keeps nothing (the API refuses such a policy).
	if got := Keep(times, Policy{}, loc); slices.Contains(got, true) {
		t.Errorf("empty policy: %v", got)
	}
}
