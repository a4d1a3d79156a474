package manifest

import (
	"math"
	"testing"
	"time"
)

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0 B"},
		{1, "1 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{1024*1024 - 1, "1.0 MiB"},
		{1024 * 1024, "1.0 MiB"},
		{48586496000, "45.2 GiB"},
		{48640000000, "45.3 GiB"},
		{135239680000, "126.0 GiB"},
		{1 << 40, "1.0 TiB"},
		{1 << 50, "1.0 PiB"},
		{math.MaxInt64, "8.0 EiB"},
		{-1536, "-1.5 KiB"},
		{math.MinInt64, "-8.0 EiB"},
	}
	for _, tt := range tests {
		if got := HumanBytes(tt.in); got != tt.want {
			t.Errorf("HumanBytes(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{time.Nanosecond, "<1s"},
		{999 * time.Millisecond, "<1s"},
		{time.Second, "1s"},
		{45*time.Second + 900*time.Millisecond, "45s"},
		{2 * time.Minute, "2m"},
		{time.Hour + 2*time.Minute + 3*time.Second, "1h 2m 3s"},
		{time.Hour + 3*time.Second, "1h 3s"},
		{51 * time.Hour, "2d 3h"},
		{24 * time.Hour, "1d"},
		{-90 * time.Second, "-1m 30s"},
		{-time.Millisecond, "-<1s"},
		{math.MaxInt64, "106751d 23h 47m 16s"},
		{math.MinInt64, "-106751d 23h 47m 16s"},
	}
	for _, tt := range tests {
		if got := HumanDuration(tt.in); got != tt.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
