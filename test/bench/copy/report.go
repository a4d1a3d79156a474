package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"text/tabwriter"

	"github.com/liferay/lc2-backup-controller/test/bench/internal/benchenv"
)

// printTable writes, per scenario, the medians of both tools side by side with the
// ratio ours/s5cmd (above 1 is better for throughput, below 1 is better for memory and
// CPU), then a summary across scenarios.
func printTable(w io.Writer, c benchConfig, scenarios []scenario, results []measurement) error {
	var p benchenv.Printer
	p.Printf(w, "\nDocument-library copy, bucket to bucket on versitygw v1.8.0 (posix backend in %s, keep-alive) behind a delaying proxy, %d CPUs, median of %d rounds\n",
		c.workdir, runtime.NumCPU(), c.rounds)
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		p.Printf(w, "load average at the end (the machine may be shared): %s", load)
	}
	p.Printf(w, "small: %d objects of %s; large: %d objects of %s, our multipart threshold scaled down to %s (parts of %s)\n",
		c.objects, size(c.objectSize), c.large, size(c.largeSize), size(c.threshold), size(c.partSize))
	ourConcurrency := "default (adaptive, ceiling 512)"
	if c.concurrency > 0 {
		ourConcurrency = fmt.Sprintf("adaptive, ceiling %d", c.concurrency)
	}
	if c.rateCap > 0 {
		ourConcurrency += fmt.Sprintf(", capped at %.0f requests/s", c.rateCap)
	}
	peerWorkers := "256"
	if c.s5cmdWorkers > 0 {
		peerWorkers = fmt.Sprint(c.s5cmdWorkers)
	}
	p.Printf(w, "our concurrency: %s; s5cmd workers: %s\n", ourConcurrency, peerWorkers)

	for _, sc := range scenarios {
		p.Printf(w, "\n%s per request:\n", sc.name())
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		p.Printf(tw, "set\tmetric\t%s\t%s\tours/s5cmd\t\n", toolOurs, toolS5cmd)
		for _, set := range []string{smallPrefix, largePrefix} {
			ours, ok1 := median(results, sc.name(), toolOurs, set)
			peer, ok2 := median(results, sc.name(), toolS5cmd, set)
			if !ok1 || !ok2 {
				continue
			}
			name := set[:len(set)-1]
			row := func(metric string, a, b float64, format string) {
				p.Printf(tw, "%s\t%s\t"+format+"\t"+format+"\t%.2fx\t\n", name, metric, a, b, a/b)
			}
			row("seconds", ours.seconds, peer.seconds, "%.2f")
			row("objects/s", float64(ours.objects)/ours.seconds, float64(peer.objects)/peer.seconds, "%.0f")
			row("MiB/s", mib(ours.bytes)/ours.seconds, mib(peer.bytes)/peer.seconds, "%.1f")
			row("peak RSS MiB", float64(ours.peakRSSKiB)/1024, float64(peer.peakRSSKiB)/1024, "%.1f")
			row("client CPU s", ours.cpuSeconds, peer.cpuSeconds, "%.2f")
			row("server CPU s", ours.serverCPU, peer.serverCPU, "%.2f")
			row("proxy CPU s", ours.proxyCPU, peer.proxyCPU, "%.2f")
			// The share of the machine the three processes kept busy during the copy.
			row("machine busy %", 100*(ours.cpuSeconds+ours.serverCPU+ours.proxyCPU)/ours.seconds/float64(runtime.NumCPU()),
				100*(peer.cpuSeconds+peer.serverCPU+peer.proxyCPU)/peer.seconds/float64(runtime.NumCPU()), "%.0f")
			if sc.throttle > 0 {
				p.Printf(tw, "%s\tobjects/s vs limit\t%.0f%%\t%.0f%%\t\t\n", name,
					100*float64(ours.objects)/ours.seconds/sc.throttle, 100*float64(peer.objects)/peer.seconds/sc.throttle)
				p.Printf(tw, "%s\tfailed objects (worst)\t%d\t%d\t\t\n", name, ours.failed, peer.failed)
			}
		}
		p.Flush(tw)
	}

	// Summary: small objects/s and large MiB/s per scenario, and how much of our own
	// first (lowest latency) throughput each latency keeps.
	p.Printf(w, "\nSummary (small objects/s; large MiB/s):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	p.Printf(tw, "scenario\tours obj/s\ts5cmd obj/s\tratio\tours vs first\tours RSS\ts5cmd RSS\tours CPU\ts5cmd CPU\tours MiB/s large\ts5cmd MiB/s large\tratio\t\n")
	var base float64
	for _, sc := range scenarios {
		ours, ok1 := median(results, sc.name(), toolOurs, smallPrefix)
		peer, ok2 := median(results, sc.name(), toolS5cmd, smallPrefix)
		if !ok1 || !ok2 {
			continue
		}
		o, s := float64(ours.objects)/ours.seconds, float64(peer.objects)/peer.seconds
		if base == 0 {
			base = o
		}
		large := "\t\t\t"
		if lo, ok := median(results, sc.name(), toolOurs, largePrefix); ok {
			if lp, ok := median(results, sc.name(), toolS5cmd, largePrefix); ok {
				a, b := mib(lo.bytes)/lo.seconds, mib(lp.bytes)/lp.seconds
				large = fmt.Sprintf("%.0f\t%.0f\t%.2fx\t", a, b, a/b)
			}
		}
		p.Printf(tw, "%s\t%.0f\t%.0f\t%.2fx\t%.0f%%\t%.1f MiB\t%.1f MiB\t%.2f s\t%.2f s\t%s\n", sc.name(), o, s, o/s, 100*o/base,
			float64(ours.peakRSSKiB)/1024, float64(peer.peakRSSKiB)/1024, ours.cpuSeconds, peer.cpuSeconds, large)
	}
	p.Flush(tw)
	p.Printf(w, "\nEvery copy was verified: all keys, sizes and ETags; the large objects also byte for byte (MD5 of a full download) in round 1 of each scenario.\n")
	return p.Err()
}

func size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
