package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/liferay/lc2-backup-controller/internal/repository"
	"github.com/liferay/lc2-backup-controller/test/bench/internal/benchenv"
)

// Goals of issue 16.
const (
	goalRequestShare = 0.03 // a nightly Incremental makes at most 3% of a Full's requests
	goalTimeShare    = 0.05 // and takes at most 5% of its time
	goalStorage      = 1.5  // stores at most 1.5 × one full copy after 30 nights
)

// report is everything a run measured.
type report struct {
	c                      benchConfig
	runs                   []backupRun
	snapshots              [][]expected
	changes                []nightChanges
	fullSizes, rcloneSizes []int64
	incBefore, incAfter    storage
	expire, sweep          phase
	// listLibrary and listRepository are one walk of each through the proxy.
	listLibrary, listRepository phase
	sweepResult                 repository.SweepResult
	checked, lost               int64
	restores                    []restoreRun
	elapsed                     time.Duration
}

func (r *report) run(method string, night int) (backupRun, bool) {
	for _, b := range r.runs {
		if b.method == method && b.night == night {
			return b, true
		}
	}
	return backupRun{}, false
}

func (r *report) print(w io.Writer) error {
	var p benchenv.Printer
	c := r.c
	lib, last := r.snapshots[0], r.snapshots[c.nights]
	p.Printf(w, "\nIncremental vs Full vs rclone: %d nights on versitygw v1.8.0 (posix backend in %s, keep-alive) behind a proxy adding %d ms to every request, %d CPUs\n",
		c.nights, c.workdir, c.latency.Milliseconds(), runtime.NumCPU())
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		p.Printf(w, "load average at the end (the machine may be shared): %s", load)
	}
	p.Printf(w, "library: %d objects (%s, mean %s) under %s at first, %d (%s) after the last night; each night %.1f%% added or replaced, %.1f%% deleted; seed %d\n",
		len(lib), human(totalBytes(lib)), human(totalBytes(lib)/int64(len(lib))), sourcePrefix, len(last), human(totalBytes(last)),
		100*c.changeRate, 100*c.deleteRate, c.seed)
	rclone := c.rcloneNights > 0
	if rclone {
		p.Printf(w, "rclone: sync --fast-list --checksum --transfers %d --checkers %d, --copy-dest the previous night's folder, on nights 1-%d\n",
			c.rcloneTransfers, c.rcloneTransfers, c.rcloneNights)
	}

	// Per night.
	p.Printf(w, "\nPer night (copied: objects copied; requests: counted at the proxy; s: wall time):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "night\tobjects\tnew\tversions\tin place\tdeleted\tInc copied\tInc requests\tInc s\tFull copied\tFull requests\tFull s\t"
	if rclone {
		header += "rclone copied\trclone requests\trclone s\t"
	}
	p.Printf(tw, "%sInc/Full requests\tInc/Full time\t\n", header)
	var reqShares, timeShares []float64
	var incReq, incTime, fullReq, fullTime, rcReq, rcTime []float64
	for night := 1; night <= c.nights; night++ {
		inc, _ := r.run(methodIncremental, night)
		full, _ := r.run(methodFull, night)
		ch := r.changes[night]
		reqShare := float64(inc.requests.total()) / float64(full.requests.total())
		timeShare := inc.seconds / full.seconds
		p.Printf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%d\t%d\t%.2f\t", night, len(r.snapshots[night]),
			ch.newFiles, ch.newVersions, ch.replacements, len(ch.deletes),
			inc.copied, inc.requests.total(), inc.seconds, full.copied, full.requests.total(), full.seconds)
		if rc, ok := r.run(methodRclone, night); ok {
			p.Printf(tw, "%d\t%d\t%.2f\t", rc.copied, rc.requests.total(), rc.seconds)
			if night > 1 {
				rcReq, rcTime = append(rcReq, float64(rc.requests.total())), append(rcTime, rc.seconds)
			}
		} else if rclone {
			p.Printf(tw, "-\t-\t-\t")
		}
		p.Printf(tw, "%.2f%%\t%.1f%%\t\n", 100*reqShare, 100*timeShare)
		if night > 1 {
			reqShares, timeShares = append(reqShares, reqShare), append(timeShares, timeShare)
			incReq, incTime = append(incReq, float64(inc.requests.total())), append(incTime, inc.seconds)
			fullReq, fullTime = append(fullReq, float64(full.requests.total())), append(fullTime, full.seconds)
		}
	}
	if len(reqShares) > 0 {
		p.Printf(tw, "median 2-%d\t\t\t\t\t\t\t%.0f\t%.2f\t\t%.0f\t%.2f\t", c.nights, median(incReq), median(incTime), median(fullReq), median(fullTime))
		if len(rcReq) > 0 {
			p.Printf(tw, "\t%.0f\t%.2f\t", median(rcReq), median(rcTime))
		} else if rclone {
			p.Printf(tw, "\t\t\t")
		}
		p.Printf(tw, "%.2f%%\t%.1f%%\t\n", 100*median(reqShares), 100*median(timeShares))
	}
	p.Flush(tw)
	p.Printf(w, "\nRequests by kind, last night:\n")
	for _, m := range []string{methodIncremental, methodFull, methodRclone} {
		if b, ok := r.run(m, c.nights); ok {
			p.Printf(w, "  %-11s %s (server CPU %.2fs)\n", m, b.requests, b.serverCPU)
		}
	}

	// Storage.
	one := r.fullSizes[c.nights]
	ratio := func(n int64) string { return fmt.Sprintf("%.2f×", float64(n)/float64(one)) }
	expired := c.nights - c.keep
	p.Printf(w, "\nStorage (one full copy = night %d's Full backup, data and inventory: %s):\n", c.nights, human(one))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	p.Printf(tw, "method\tafter %d nights\tvs one full copy\tafter expiring the %d oldest (keep %d)\tvs one full copy\t\n", c.nights, expired, c.keep)
	p.Printf(tw, "Incremental (repository + refs + inventories)\t%s\t%s\t%s\t%s\t\n",
		human(r.incBefore.totalBytes), ratio(r.incBefore.totalBytes), human(r.incAfter.totalBytes), ratio(r.incAfter.totalBytes))
	fullAll, fullKept := sum(r.fullSizes[1:]), sum(r.fullSizes[expired+1:])
	p.Printf(tw, "Full (%d copies / the newest %d)\t%s\t%s\t%s\t%s\t\n", c.nights, c.keep, human(fullAll), ratio(fullAll), human(fullKept), ratio(fullKept))
	if c.rcloneNights == c.nights {
		rcAll, rcKept := sum(r.rcloneSizes[1:]), sum(r.rcloneSizes[expired+1:])
		p.Printf(tw, "rclone (%d folders / the newest %d)\t%s\t%s\t%s\t%s\t\n", c.nights, c.keep, human(rcAll), ratio(rcAll), human(rcKept), ratio(rcKept))
	}
	p.Flush(tw)
	if rclone && c.rcloneNights < c.nights {
		p.Printf(w, "rclone ran on nights 1-%d only; each of its folders is a full copy (%s vs Full's %s on those nights)\n",
			c.rcloneNights, human(sum(r.rcloneSizes[1:c.rcloneNights+1])), human(sum(r.fullSizes[1:c.rcloneNights+1])))
	}
	p.Printf(w, "Incremental before the expiry: %s\n", r.incBefore)
	p.Printf(w, "Incremental after the expiry:  %s\n", r.incAfter)
	p.Printf(w, "Full and rclone copies are measured (listed) right after each night's copy and then deleted, so the server's tmpfs holds one at a time; their totals are the sums of those measurements.\n")

	p.Printf(w, "\nOne walk through the proxy, in one range: the library %.2fs (%d requests, CPU client+proxy %.2fs, server %.2fs), the repository %.2fs (%d requests, CPU client+proxy %.2fs, server %.2fs)\n",
		r.listLibrary.seconds, r.listLibrary.requests.total(), r.listLibrary.clientCPU, r.listLibrary.serverCPU,
		r.listRepository.seconds, r.listRepository.requests.total(), r.listRepository.clientCPU, r.listRepository.serverCPU)

	// Expiry, sweep, checks.
	sw := r.sweepResult
	p.Printf(w, "\nExpiry of the %d oldest Incremental backups (inventory parts, then refs): %.2fs, %d requests (%s)\n",
		expired, r.expire.seconds, r.expire.requests.total(), r.expire.requests)
	p.Printf(w, "Sweep until done: %.2fs, %d requests (%s): %d refs read, %d objects referenced, %d kept, %d deleted (%s)\n",
		r.sweep.seconds, r.sweep.requests.total(), r.sweep.requests, sw.Backups, sw.Referenced, sw.Kept, sw.Deleted, human(sw.BytesDeleted))
	p.Printf(w, "Kept inventories: %d entries checked against the repository, %d stored objects missing or of another size\n", r.checked, r.lost)
	for _, rs := range r.restores {
		p.Printf(w, "Restore of night %d: %.2fs, %d requests (%s), %d objects copied, %d (%s) compared byte for byte with the library of that night, %d missing, extra or different\n",
			rs.night, rs.phase.seconds, rs.phase.requests.total(), rs.phase.requests, rs.copied, rs.objects, human(rs.bytes), rs.mismatched)
	}

	// Goals.
	p.Printf(w, "\nGoals:\n")
	if len(reqShares) > 0 {
		m := median(reqShares)
		p.Printf(w, "%s  nightly Incremental requests <= %.0f%% of a Full backup's (median over nights 2-%d): %.2f%%\n",
			passFail(m <= goalRequestShare), 100*goalRequestShare, c.nights, 100*m)
		m = median(timeShares)
		p.Printf(w, "%s  nightly Incremental time <= %.0f%% of a Full backup's (median over nights 2-%d): %.1f%% (%.2fs vs %.2fs)\n",
			passFail(m <= goalTimeShare), 100*goalTimeShare, c.nights, 100*m, median(incTime), median(fullTime))
	} else {
		p.Printf(w, "n/a   nightly shares need at least 2 nights\n")
	}
	before, after := float64(r.incBefore.totalBytes)/float64(one), float64(r.incAfter.totalBytes)/float64(one)
	p.Printf(w, "%s  Incremental storage after %d nights <= %.1f× one full copy: %.2f× before the expiry, %.2f× after\n",
		passFail(before <= goalStorage && after <= goalStorage), c.nights, goalStorage, before, after)
	equal := len(r.restores) > 0
	var nights []string
	for _, rs := range r.restores {
		equal = equal && rs.mismatched == 0 && rs.objects == int64(len(r.snapshots[rs.night]))
		nights = append(nights, fmt.Sprintf("night %d", rs.night))
	}
	p.Printf(w, "%s  restores of the newest and the oldest kept backup (%s) byte-equal to the library of that night\n",
		passFail(equal), strings.Join(nights, ", "))
	p.Printf(w, "%s  zero objects lost by the sweep (%d entries of %d kept inventories checked, %d lost)\n",
		passFail(r.lost == 0 && r.checked > 0), r.checked, c.keep, r.lost)
	p.Printf(w, "\nWhole run: %s\n", r.elapsed.Round(time.Second))
	return p.Err()
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func sum(v []int64) int64 {
	var n int64
	for _, x := range v {
		n += x
	}
	return n
}

// human formats a byte count with a binary unit.
func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
