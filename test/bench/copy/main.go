// Command copy benchmarks the document-library copy of internal/provider/aws against
// s5cmd on a local versitygw S3 server. hack/bench-copy.sh builds the tools and runs it.
//
// It starts versitygw on a free port behind a proxy that adds a fixed delay to every
// request (a realistic network: S3 answers a CopyObject in tens of milliseconds) and
// can answer SlowDown above a set write rate (a throttling store), seeds a source bucket
// with many small objects and a few large ones, then for each latency and round copies
// both sets bucket to bucket through the proxy with our provider (as a child process of
// this binary, so its peak RSS is its own) and with s5cmd, verifies every destination
// against the source, and prints objects/s, MiB/s, peak RSS and client CPU with the
// ratio of the two per latency.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/liferay/lc2-backup-controller/test/bench/internal/benchenv"
)

// config is the benchmark's command line.
type benchConfig struct {
	versitygw, s5cmd, workdir string
	objects, large, rounds    int
	objectSize, largeSize     int64
	threshold, partSize       int64
	concurrency               int
	s5cmdWorkers              int
	cpuProfile                string
	// latencies are the per-request delays of the proxy, one scenario each.
	latencies []time.Duration
	// throttle (writes/s the server accepts before answering SlowDown) adds a
	// throttling scenario at throttleLatency; rateCap is our requests/s cap (0: none).
	throttle        float64
	throttleLatency time.Duration
	rateCap         float64
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == childCommand {
		os.Exit(runChildCopy(os.Args[2:]))
	}
	var c benchConfig
	flag.StringVar(&c.versitygw, "versitygw", "versitygw", "path of the versitygw binary")
	flag.StringVar(&c.s5cmd, "s5cmd", "s5cmd", "path of the s5cmd binary")
	flag.StringVar(&c.workdir, "workdir", "", "directory for the server's data (default: a new temporary directory)")
	flag.IntVar(&c.objects, "objects", 2000, "number of small objects")
	flag.Int64Var(&c.objectSize, "object-size", 16<<10, "size of each small object in bytes")
	flag.IntVar(&c.large, "large", 3, "number of large objects")
	flag.Int64Var(&c.largeSize, "large-size", 64<<20, "size of each large object in bytes")
	flag.Int64Var(&c.threshold, "threshold", 16<<20, "our multipart threshold, scaled down from S3's 5 GiB single-copy limit so large objects take the multipart path")
	flag.Int64Var(&c.partSize, "part-size", 8<<20, "our multipart part size")
	flag.IntVar(&c.concurrency, "concurrency", 0, "our copy concurrency (0: the provider default)")
	flag.IntVar(&c.s5cmdWorkers, "s5cmd-workers", 0, "s5cmd --numworkers (0: s5cmd's default of 256)")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of our small-object copy (last round) to this file")
	flag.IntVar(&c.rounds, "rounds", 5, "rounds per tool; the table shows the median")
	latencies := flag.String("latencies", "0,20,50,100", "comma-separated delays in ms the proxy adds to every request, one scenario each (empty: none, for the throttling scenario alone)")
	flag.Float64Var(&c.throttle, "throttle", 0, "add a scenario where the server answers SlowDown above this many write requests/s (0: none)")
	throttleLatency := flag.Int("throttle-latency", 20, "delay in ms of the throttling scenario")
	flag.Float64Var(&c.rateCap, "rate-cap", 0, "our copy's cap on requests/s (Options.CopyRequestsPerSecond; 0: none)")
	flag.Parse()
	for _, f := range strings.Split(*latencies, ",") {
		if strings.TrimSpace(f) == "" && strings.TrimSpace(*latencies) == "" {
			continue
		}
		ms, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || ms < 0 {
			fmt.Fprintf(os.Stderr, "bench-copy: bad -latencies entry %q\n", f)
			os.Exit(2)
		}
		c.latencies = append(c.latencies, time.Duration(ms)*time.Millisecond)
	}
	c.throttleLatency = time.Duration(*throttleLatency) * time.Millisecond

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "bench-copy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c benchConfig) error {
	th := &throttle{}
	env, err := benchenv.Start(ctx, benchenv.Config{Name: "bench-copy", Workdir: c.workdir, Versitygw: c.versitygw,
		Proxy: benchenv.ProxyHooks{Answer: th.slowDown}})
	if err != nil {
		return err
	}
	defer env.Close()
	c.workdir = env.Workdir
	b, err := newBench(ctx, c, env, th)
	if err != nil {
		return err
	}
	return b.run(ctx)
}
