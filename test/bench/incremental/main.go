// Command incremental benchmarks Incremental document-library backups
// (internal/repository) against Full backups (today's CopyObjectStorage of the whole
// prefix) and against rclone sync with --copy-dest (the script a user would write),
// night after night, on a local versitygw S3 server behind a proxy that adds a fixed
// delay to every request and counts them. hack/bench-incremental.sh builds the tools
// and runs it.
//
// It uploads a Liferay-shaped library straight to the server, then for each simulated
// night changes it (new files, new versions, files overwritten in place, deletions),
// again straight to the server, and backs it up with each of the three methods
// through the proxy, printing per backup the objects copied, the requests the proxy
// saw and the wall time. After the last night it expires the oldest Incremental
// backups and sweeps the repository, checks that every object the kept inventories
// name is still stored, restores the newest and the oldest kept backup and compares
// every restored byte with the library as it was that night, and prints the storage
// of each method and the goals as PASS/FAIL lines.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/liferay/lc2-backup-controller/test/bench/internal/benchenv"
)

// benchConfig is the benchmark's command line.
type benchConfig struct {
	versitygw, rclone, workdir string
	// objects is the library's initial size; nights the number of nightly backups;
	// keep how many Incremental backups survive the expiry.
	objects, nights, keep int
	// objectSize is the mean object size the mix is scaled to.
	objectSize int64
	// changeRate and deleteRate are the nightly shares of the library added or
	// replaced, and deleted.
	changeRate, deleteRate float64
	latency                time.Duration
	seed                   uint64
	rcloneTransfers        int
	// rcloneNights is the number of nights, from the first, rclone runs on (0: none).
	rcloneNights int
	// cpuProfile, if set, is where the CPU profile of the last night's Incremental
	// backup (this process: client and proxy) is written.
	cpuProfile string
}

func main() {
	var c benchConfig
	flag.StringVar(&c.versitygw, "versitygw", "versitygw", "path of the versitygw binary")
	flag.StringVar(&c.rclone, "rclone", "rclone", "path of the rclone binary")
	flag.StringVar(&c.workdir, "workdir", "", "directory for the server's data (default: a new temporary directory)")
	flag.IntVar(&c.objects, "objects", 20000, "objects in the library before the first night")
	flag.IntVar(&c.nights, "nights", 30, "nights simulated, one backup per method each")
	flag.IntVar(&c.keep, "keep", 7, "Incremental backups kept by the expiry (the rest, oldest first, are expired)")
	flag.Int64Var(&c.objectSize, "object-size", 24<<10, "mean object size in bytes; sizes are a mix from about mean/18 to 14 × mean")
	flag.Float64Var(&c.changeRate, "change", 0.01, "share of the objects added or replaced each night")
	flag.Float64Var(&c.deleteRate, "delete", 0.002, "share of the objects deleted each night")
	latency := flag.Int("latency", 20, "delay in ms the proxy adds to every request of a backup, a sweep or a restore")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the library's content and of the nightly changes")
	flag.IntVar(&c.rcloneTransfers, "rclone-transfers", 64, "rclone --transfers and --checkers")
	rcloneNights := flag.Int("rclone-nights", -1, "run rclone on this many nights from the first (-1: every night; 0: never); its cost is the same every night")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write the CPU profile of the last night's Incremental backup (client and proxy) to this file")
	flag.Parse()
	c.rcloneNights = *rcloneNights
	if c.rcloneNights < 0 || c.rcloneNights > c.nights {
		c.rcloneNights = c.nights
	}
	c.latency = time.Duration(*latency) * time.Millisecond
	if c.objects < 100 || c.nights < 1 || c.keep < 1 || c.objectSize < 64 || *latency < 0 {
		fmt.Fprintln(os.Stderr, "bench-incremental: need -objects >= 100, -nights >= 1, -keep >= 1, -object-size >= 64 and -latency >= 0")
		os.Exit(2)
	}
	// A short run still expires something, so the sweep is exercised.
	if c.keep >= c.nights {
		c.keep = max(1, c.nights-1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "bench-incremental:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c benchConfig) error {
	requests := &requestCounter{}
	env, err := benchenv.Start(ctx, benchenv.Config{Name: "bench-incremental", Workdir: c.workdir, Versitygw: c.versitygw,
		Proxy: benchenv.ProxyHooks{Arrived: requests.arrived}})
	if err != nil {
		return err
	}
	defer env.Close()
	c.workdir = env.Workdir
	env.Proxy.SetDelay(c.latency)
	b, err := newBench(ctx, c, env, requests)
	if err != nil {
		return err
	}
	return b.run(ctx)
}
