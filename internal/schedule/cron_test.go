package schedule

import (
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func mustParse(t *testing.T, expr, zone string) *Cron {
	t.Helper()
	c, err := Parse(expr, zone, "proj-retail-prd", "nightly")
	if err != nil {
		t.Fatalf("Parse(%q, %q): %v", expr, zone, err)
	}
	return c
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// slots lists the slots after from, up to and including to.
func slots(c *Cron, from, to time.Time) []time.Time {
	var out []time.Time
	for x := c.Next(from); !x.IsZero() && !x.After(to); x = c.Next(x) {
		out = append(out, x)
	}
	return out
}

func formatAll(ts []time.Time, loc *time.Location) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.In(loc).Format("2006-01-02 15:04 MST")
	}
	return out
}

func TestParse(t *testing.T) {
	for _, tc := range []struct{ expr, zone, effective, err string }{
		{expr: "0 2 * * *", effective: "0 2 * * *"},
		{expr: "@daily", zone: "Europe/Berlin", effective: "@daily"},
		{expr: "@hourly", effective: "@hourly"},
		{expr: "@weekly", effective: "@weekly"},
		{expr: "@monthly", effective: "@monthly"},
		{expr: "*/15 9-17 * * 1-5", zone: "America/New_York", effective: "*/15 9-17 * * 1-5"},
		{expr: "0 2 * *", err: "expected exactly 5 fields"},
		{expr: "0 0 2 * * *", err: "expected exactly 5 fields"},
		{expr: "@every 5m", err: "@every is not supported"},
		{expr: "CRON_TZ=Europe/Berlin 0 2 * * *", err: "spec.timeZone"},
		{expr: "@monthly-random", err: "unknown descriptor"},
		{expr: "0 2 * * *", zone: "Mars/Olympus", err: "unknown time zone"},
	} {
		c, err := Parse(tc.expr, tc.zone, "ns", "name")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q, %q) error = %v, want %q", tc.expr, tc.zone, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q, %q): %v", tc.expr, tc.zone, err)
			continue
		}
		if c.Effective != tc.effective {
			t.Errorf("Parse(%q).Effective = %q, want %q", tc.expr, c.Effective, tc.effective)
		}
	}
}

func TestNextInZone(t *testing.T) {
	c := mustParse(t, "0 2 * * *", "Europe/Berlin")
	// 02:00 in Berlin in winter is 01:00 UTC.
	got := c.Next(at(t, "2025-01-15T12:00:00Z"))
	if want := at(t, "2025-01-16T01:00:00Z"); !got.Equal(want) {
		t.Errorf("Next = %s, want %s", got, want)
	}
	// Exactly at a slot: the next one, a day later.
	if got2 := c.Next(got); !got2.Equal(got.Add(24 * time.Hour)) {
		t.Errorf("Next(slot) = %s, want a day later", got2)
	}
}

// TestRobfigAloneGetsDSTWrong records why Cron wraps robfig/cron: evaluated in a
// zone directly, it drops the run of the spring-forward night and runs twice on the
// fall-back night.
func TestRobfigAloneGetsDSTWrong(t *testing.T) {
	s, err := cron.ParseStandard("CRON_TZ=Europe/Berlin 30 2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Berlin")
	var days []string
	for x := s.Next(at(t, "2025-03-29T12:00:00Z")); x.Before(at(t, "2025-03-31T12:00:00Z")); x = s.Next(x) {
		days = append(days, x.In(loc).Format("01-02"))
	}
	if len(days) != 1 || days[0] != "03-31" {
		t.Logf("robfig now runs the spring-forward night: %v (the wrapper still must)", days)
	}
	runs := 0
	for x := s.Next(at(t, "2025-10-25T12:00:00Z")); x.Before(at(t, "2025-10-26T12:00:00Z")); x = s.Next(x) {
		runs++
	}
	if runs != 2 {
		t.Logf("robfig now runs the fall-back night %d time(s)", runs)
	}
}

// TestDaylightSaving: across both transitions of Europe/Berlin and America/New_York,
// a daily slot in the skipped hour runs once (at the end of the gap) and one in the
// repeated hour runs once (its first occurrence); slots outside them keep their
// wall-clock time.
func TestDaylightSaving(t *testing.T) {
	for _, tc := range []struct {
		name, zone, expr, from, to string
		want                       []string
	}{
		{
			name: "Berlin spring forward, slot in the gap", zone: "Europe/Berlin", expr: "30 2 * * *",
			from: "2025-03-28T12:00:00Z", to: "2025-04-01T12:00:00Z",
			want: []string{"2025-03-29 02:30 CET", "2025-03-30 03:00 CEST", "2025-03-31 02:30 CEST", "2025-04-01 02:30 CEST"},
		},
		{
			name: "Berlin fall back, slot in the repeated hour", zone: "Europe/Berlin", expr: "30 2 * * *",
			from: "2025-10-24T12:00:00Z", to: "2025-10-28T12:00:00Z",
			want: []string{"2025-10-25 02:30 CEST", "2025-10-26 02:30 CEST", "2025-10-27 02:30 CET", "2025-10-28 02:30 CET"},
		},
		{
			name: "New York spring forward, slot in the gap", zone: "America/New_York", expr: "30 2 * * *",
			from: "2025-03-07T12:00:00Z", to: "2025-03-11T12:00:00Z",
			want: []string{"2025-03-08 02:30 EST", "2025-03-09 03:00 EDT", "2025-03-10 02:30 EDT", "2025-03-11 02:30 EDT"},
		},
		{
			name: "New York fall back, slot in the repeated hour", zone: "America/New_York", expr: "30 1 * * *",
			from: "2025-10-31T12:00:00Z", to: "2025-11-04T12:00:00Z",
			want: []string{"2025-11-01 01:30 EDT", "2025-11-02 01:30 EDT", "2025-11-03 01:30 EST", "2025-11-04 01:30 EST"},
		},
		{
			name: "Berlin spring forward, several slots in the gap collapse into one", zone: "Europe/Berlin", expr: "*/20 2 * * *",
			from: "2025-03-29T23:00:00Z", to: "2025-03-30T12:00:00Z",
			want: []string{"2025-03-30 03:00 CEST"},
		},
		{
			name: "Berlin fall back, an hourly schedule runs each wall-clock hour once", zone: "Europe/Berlin", expr: "0 * * * *",
			from: "2025-10-25T23:30:00Z", to: "2025-10-26T02:30:00Z",
			want: []string{"2025-10-26 02:00 CEST", "2025-10-26 03:00 CET"},
		},
		{
			name: "Berlin spring forward, an hourly schedule", zone: "Europe/Berlin", expr: "0 * * * *",
			from: "2025-03-29T23:30:00Z", to: "2025-03-30T02:30:00Z",
			want: []string{"2025-03-30 01:00 CET", "2025-03-30 03:00 CEST", "2025-03-30 04:00 CEST"},
		},
		{
			name: "outside the transitions, a fixed UTC time stays put", zone: "UTC", expr: "30 2 * * *",
			from: "2025-03-29T12:00:00Z", to: "2025-03-31T12:00:00Z",
			want: []string{"2025-03-30 02:30 UTC", "2025-03-31 02:30 UTC"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.expr, tc.zone)
			got := formatAll(slots(c, at(t, tc.from), at(t, tc.to)), c.Location())
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("slots\n got %v\nwant %v", got, tc.want)
			}
			// Whatever the pass's starting point, a slot is never produced twice: start
			// at every minute of the window and check Next never goes backwards or repeats.
			all := slots(c, at(t, tc.from), at(t, tc.to))
			for x := at(t, tc.from); x.Before(at(t, tc.to)); x = x.Add(time.Minute) {
				n := c.Next(x)
				if !n.After(x) {
					t.Fatalf("Next(%s) = %s, not after", x, n)
				}
				if n.After(at(t, tc.to)) {
					continue
				}
				found := false
				for _, s := range all {
					found = found || s.Equal(n)
				}
				if !found {
					t.Fatalf("Next(%s) = %s, which is not one of the slots %v", x, n, all)
				}
			}
		})
	}
}

func TestRandomIsStableAndSpread(t *testing.T) {
	a, _ := RandomExpression("@daily-random", "proj-retail-prd", "nightly")
	b, _ := RandomExpression("@daily-random", "proj-retail-prd", "nightly")
	if a != b {
		t.Fatalf("not stable: %q vs %q", a, b)
	}
	c := mustParse(t, "@daily-random", "UTC")
	if c.Effective != a || strings.HasPrefix(c.Effective, "@") {
		t.Fatalf("Effective = %q, want the derived cron %q", c.Effective, a)
	}
	hours := map[string]bool{}
	for i := range 200 {
		e, err := RandomExpression("@daily-random", "proj", "schedule-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		if err != nil {
			t.Fatal(err)
		}
		hours[strings.Fields(e)[1]] = true
		if _, err := Parse(e, "UTC", "", ""); err != nil {
			t.Fatalf("derived %q does not parse: %v", e, err)
		}
	}
	if len(hours) < 15 {
		t.Errorf("200 schedules use only %d distinct hours", len(hours))
	}
	for _, d := range []string{"@hourly-random", "@weekly-random"} {
		e, err := RandomExpression(d, "proj-retail-prd", "nightly")
		if err != nil {
			t.Fatal(err)
		}
		c := mustParse(t, d, "Europe/Berlin")
		if c.Effective != e {
			t.Errorf("%s: Effective %q, want %q", d, c.Effective, e)
		}
	}
	h, _ := RandomExpression("@hourly-random", "ns", "n")
	if f := strings.Fields(h); f[1] != "*" {
		t.Errorf("@hourly-random = %q, want every hour", h)
	}
	w, _ := RandomExpression("@weekly-random", "ns", "n")
	if f := strings.Fields(w); f[2] != "*" || f[3] != "*" || f[4] == "*" {
		t.Errorf("@weekly-random = %q, want one weekday", w)
	}
}

func TestInterval(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want time.Duration
	}{
		{"* * * * *", time.Minute},
		{"@hourly", time.Hour},
		{"0 2 * * *", 24 * time.Hour},
		{"0 2 * * 1-5", 3 * 24 * time.Hour}, // Friday to Monday
		{"@weekly", 7 * 24 * time.Hour},
		{"@monthly", 31 * 24 * time.Hour},
	} {
		c := mustParse(t, tc.expr, "UTC")
		if got := c.Interval(at(t, "2025-01-01T00:00:00Z")); got != tc.want {
			t.Errorf("Interval(%q) = %s, want %s", tc.expr, got, tc.want)
		}
	}
}

func TestBackupName(t *testing.T) {
	slot := time.Date(2025, 11, 9, 2, 0, 0, 0, time.FixedZone("CET", 3600))
	if got := BackupName("nightly", slot); got != "nightly-20251109010000" {
		t.Errorf("BackupName = %q", got)
	}
	long := strings.Repeat("a", 63)
	if n := BackupName(long, slot); len(n) != 78 || len(n) > 253 {
		t.Errorf("longest name is %d characters", len(n))
	}
}
