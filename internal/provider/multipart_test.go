package provider

import "testing"

func TestStreamPartSize(t *testing.T) {
	const mib, gib = int64(1) << 20, int64(1) << 30
	cases := []struct {
		hint, want int64
	}{
		{0, 5 * mib},          // unknown: S3's minimum
		{-1, 5 * mib},         // nonsense hints count as unknown
		{35 * gib, 5 * mib},   // 43.75 GiB with the slack still fits 9,000 parts of 5 MiB
		{100 * gib, 15 * mib}, // 125 GiB / 9,000 = 14.2 MiB, rounded up to whole MiB
		{1 << 40, 146 * mib},  // 1.25 TiB / 9,000 = 145.6 MiB
	}
	for _, c := range cases {
		got := StreamPartSize(c.hint)
		if got != c.want {
			t.Errorf("StreamPartSize(%d) = %d MiB, want %d MiB", c.hint, got/mib, c.want/mib)
		}
		withSlack := c.hint + c.hint/4
		if parts := (withSlack + got - 1) / got; parts > StreamPartBudget {
			t.Errorf("StreamPartSize(%d) = %d: a body a quarter over the hint needs %d parts", c.hint, got, parts)
		}
	}
}
