package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"text/tabwriter"
)

// printTable writes the medians of both tools side by side with the ratio ours/s5cmd
// (above 1 is better for throughput, below 1 is better for memory).
func printTable(w io.Writer, c benchConfig, results []measurement) {
	fmt.Fprintf(w, "\nDocument-library copy, bucket to bucket on versitygw v1.8.0 (posix backend in %s, keep-alive), %d CPUs, median of %d rounds\n",
		c.workdir, runtime.NumCPU(), c.rounds)
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(w, "load average at the end (the machine may be shared): %s", load)
	}
	fmt.Fprintf(w, "small: %d objects of %s; large: %d objects of %s, our multipart threshold scaled down to %s (parts of %s)\n",
		c.objects, size(c.objectSize), c.large, size(c.largeSize), size(c.threshold), size(c.partSize))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	ourConcurrency := "default"
	if c.concurrency > 0 {
		ourConcurrency = fmt.Sprint(c.concurrency)
	}
	peerWorkers := "256"
	if c.s5cmdWorkers > 0 {
		peerWorkers = fmt.Sprint(c.s5cmdWorkers)
	}
	fmt.Fprintf(w, "our concurrency: %s; s5cmd workers: %s\n\n", ourConcurrency, peerWorkers)
	fmt.Fprintf(tw, "set\tmetric\t%s\t%s\tours/s5cmd\t\n", toolOurs, toolS5cmd)
	for _, set := range []string{smallPrefix, largePrefix} {
		ours, ok1 := median(results, toolOurs, set)
		peer, ok2 := median(results, toolS5cmd, set)
		if !ok1 || !ok2 {
			continue
		}
		name := set[:len(set)-1]
		row := func(metric string, a, b float64, format string) {
			fmt.Fprintf(tw, "%s\t%s\t"+format+"\t"+format+"\t%.2fx\t\n", name, metric, a, b, a/b)
		}
		row("seconds", ours.seconds, peer.seconds, "%.2f")
		row("objects/s", float64(ours.objects)/ours.seconds, float64(peer.objects)/peer.seconds, "%.0f")
		row("MiB/s", mib(ours.bytes)/ours.seconds, mib(peer.bytes)/peer.seconds, "%.1f")
		row("peak RSS MiB", float64(ours.peakRSSKiB)/1024, float64(peer.peakRSSKiB)/1024, "%.1f")
		row("client CPU s", ours.cpuSeconds, peer.cpuSeconds, "%.2f")
	}
	tw.Flush()
	fmt.Fprintln(w, "\nEvery copy was verified: all keys, sizes and ETags; the large objects also byte for byte (MD5 of a full download) in round 1.")
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
