package manifest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// byteUnits are the binary (IEC) units HumanBytes uses; int64 cannot exceed
// 8 EiB, so the list ends there.
var byteUnits = []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// HumanBytes formats a byte count with binary units for logs, events and
// status messages. Counts below 1024 are printed exactly with unit "B"
// ("0 B", "1023 B"); larger counts use the largest unit that keeps the value
// below 1024, rounded to one decimal ("1.0 KiB", "1.5 MiB",
// "45.3 GiB"). A value that would round up to 1024.0 is shown in the next
// unit instead ("1.0 MiB", not "1024.0 KiB"). Negative counts get a leading
// "-".
func HumanBytes(n int64) string {
	sign := ""
	// Converting through uint64 keeps math.MinInt64 correct, where -n
	// would overflow.
	u := uint64(n)
	if n < 0 {
		sign = "-"
		u = -u
	}
	if u < 1024 {
		return sign + strconv.FormatUint(u, 10) + " B"
	}
	v := float64(u) / 1024
	i := 0
	// 1023.95 and above prints as "1024.0", so move up a unit before that.
	for v >= 1023.95 && i < len(byteUnits)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%s%.1f %s", sign, v, byteUnits[i])
}

// HumanDuration formats a duration for logs, events and status messages as
// space-separated components in days ("d", 24 hours each), hours ("h"),
// minutes ("m") and seconds ("s"), largest first, omitting zero components:
// "45s", "2m", "1h 2m 3s", "2d 3h". The duration is truncated to whole
// seconds; zero prints "0s" and a positive duration under one second prints
// "<1s" so that a short step does not read as not having run. Negative
// durations get a leading "-".
func HumanDuration(d time.Duration) string {
	sign := ""
	// Converting through uint64 keeps math.MinInt64 correct, where -d
	// would overflow.
	u := uint64(d)
	if d < 0 {
		sign = "-"
		u = -u
	}
	secs := u / uint64(time.Second)
	if secs == 0 {
		if u == 0 {
			return "0s"
		}
		return sign + "<1s"
	}
	parts := make([]string, 0, 4)
	for _, c := range []struct {
		size uint64
		unit string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if q := secs / c.size; q > 0 {
			parts = append(parts, strconv.FormatUint(q, 10)+c.unit)
			secs %= c.size
		}
	}
	return sign + strings.Join(parts, " ")
}
