package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/aws"
	"github.com/liferay/lc2-backup-controller/internal/repository"
	"github.com/liferay/lc2-backup-controller/test/bench/internal/benchenv"
)

// Buckets and names of the run.
const (
	sourceBucket  = "bench-source"
	backupBucket  = "bench-backup"
	restoreBucket = "bench-restore"
	projectID     = "bench"
	environment   = "prd"
	// workers is the parallelism of the benchmark's own uploads, deletes and checks,
	// which go straight to the server.
	workers = 32
)

// Backup methods compared.
const (
	methodIncremental = "Incremental"
	methodFull        = "Full"
	methodRclone      = "rclone"
)

// backupRun is one backup of one night by one method.
type backupRun struct {
	method string
	night  int
	// copied counts objects copied; referenced (Incremental) the objects found in
	// the repository.
	copied, referenced int64
	// phase is the backup's time, requests and CPU.
	phase
	// storedObjects and storedBytes are what the backup holds at the destination
	// (Full and rclone: data and inventory, listed right after the copy).
	storedObjects, storedBytes int64
}

// phase is a timed piece of work through the proxy.
type phase struct {
	seconds  float64
	requests requestCounts
	// serverCPU is versitygw's CPU time; clientCPU this process's (the client of an
	// in-process method, and the proxy) plus that of a child it ran (rclone).
	serverCPU, clientCPU float64
}

type bench struct {
	c      benchConfig
	server *benchenv.Server
	proxy  *benchenv.Proxy
	// requests counts what goes through proxy.
	requests *requestCounter
	// direct talks to the server itself (seeding, nightly changes, measuring and
	// checking); viaProxy to the proxy (every backup, expiry, sweep and restore).
	direct, viaProxy *aws.Provider
	s3               *s3.Client
	lib              *library
	// snapshots[n] is the library as night n left it (0: before the first night).
	snapshots [][]expected
	changes   []nightChanges
	runs      []backupRun
	repo      string
	rcloneEnv []string
	// fullSizes[n] and rcloneSizes[n] are the bytes each night's copy held.
	fullSizes, rcloneSizes []int64
}

func newBench(ctx context.Context, c benchConfig, env *benchenv.Env, requests *requestCounter) (*bench, error) {
	server, proxy := env.Server, env.Proxy
	for _, kv := range []struct{ k, v string }{
		{"AWS_ACCESS_KEY_ID", benchenv.AccessKey}, {"AWS_SECRET_ACCESS_KEY", benchenv.SecretKey},
		{"AWS_REGION", benchenv.Region}, {"AWS_EC2_METADATA_DISABLED", "true"},
	} {
		if err := os.Setenv(kv.k, kv.v); err != nil {
			return nil, fmt.Errorf("set %s: %w", kv.k, err)
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithBaseEndpoint(server.Endpoint))
	if err != nil {
		return nil, fmt.Errorf("load aws configuration: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.RequestChecksumCalculation = awssdk.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = awssdk.ResponseChecksumValidationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	direct, err := aws.New(ctx, aws.Options{Endpoint: server.Endpoint})
	if err != nil {
		return nil, fmt.Errorf("provider for the server: %w", err)
	}
	viaProxy, err := aws.New(ctx, aws.Options{Endpoint: proxy.URL})
	if err != nil {
		return nil, fmt.Errorf("provider for the proxy: %w", err)
	}
	b := &bench{c: c, server: server, proxy: proxy, requests: requests, direct: direct, viaProxy: viaProxy, s3: client,
		lib: newLibrary(c.seed, c.objectSize), repo: repository.Prefix(projectID, environment)}
	if c.rcloneNights > 0 {
		conf := c.workdir + "/rclone.conf"
		if err := os.WriteFile(conf, nil, 0o600); err != nil {
			return nil, fmt.Errorf("write rclone's empty config: %w", err)
		}
		// One remote, "bench:", for source and destination: rclone copies server-side
		// only within one remote.
		b.rcloneEnv = append(os.Environ(),
			"RCLONE_CONFIG="+conf,
			"RCLONE_CONFIG_BENCH_TYPE=s3",
			"RCLONE_CONFIG_BENCH_PROVIDER=Other",
			"RCLONE_CONFIG_BENCH_ENDPOINT="+proxy.URL,
			"RCLONE_CONFIG_BENCH_ACCESS_KEY_ID="+benchenv.AccessKey,
			"RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY="+benchenv.SecretKey,
			"RCLONE_CONFIG_BENCH_REGION="+benchenv.Region,
			"RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true",
		)
	}
	return b, nil
}

func (b *bench) run(ctx context.Context) error {
	started := time.Now()
	for _, bucket := range []string{sourceBucket, backupBucket, restoreBucket} {
		if _, err := b.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awssdk.String(bucket)}); err != nil {
			return fmt.Errorf("create bucket %s: %w", bucket, err)
		}
	}
	t := time.Now()
	initial := b.lib.initial(b.c.objects)
	if err := b.upload(ctx, initial); err != nil {
		return fmt.Errorf("upload the library: %w", err)
	}
	b.snapshots = append(b.snapshots, b.lib.snapshot())
	b.changes = append(b.changes, nightChanges{})
	lib := b.snapshots[0]
	logf("library: %d objects, %s (mean %s), uploaded straight to the server in %.1fs",
		len(lib), human(totalBytes(lib)), human(totalBytes(lib)/int64(len(lib))), time.Since(t).Seconds())

	b.fullSizes = make([]int64, b.c.nights+1)
	b.rcloneSizes = make([]int64, b.c.nights+1)
	for night := 1; night <= b.c.nights; night++ {
		if err := b.night(ctx, night); err != nil {
			return fmt.Errorf("night %d: %w", night, err)
		}
	}

	r := report{c: b.c, runs: b.runs, snapshots: b.snapshots, changes: b.changes,
		fullSizes: b.fullSizes, rcloneSizes: b.rcloneSizes}
	var err error
	if r.incBefore, err = b.incrementalStorage(ctx); err != nil {
		return err
	}
	logf("Incremental storage after %d nights: %s", b.c.nights, r.incBefore)
	if r.listLibrary, r.listRepository, err = b.listings(ctx); err != nil {
		return err
	}
	if r.expire, r.sweep, r.sweepResult, err = b.expire(ctx); err != nil {
		return err
	}
	if r.incAfter, err = b.incrementalStorage(ctx); err != nil {
		return err
	}
	logf("Incremental storage after the expiry: %s", r.incAfter)
	if r.checked, r.lost, err = b.checkKept(ctx); err != nil {
		return err
	}
	logf("kept inventories: %d entries checked, %d objects missing or of another size", r.checked, r.lost)
	nights := []int{b.c.nights}
	if oldest := b.c.nights - b.c.keep + 1; oldest != b.c.nights {
		nights = append(nights, oldest)
	}
	for _, night := range nights {
		res, err := b.restore(ctx, night)
		if err != nil {
			return fmt.Errorf("restore night %d: %w", night, err)
		}
		r.restores = append(r.restores, res)
	}
	r.elapsed = time.Since(started)
	return r.print(os.Stdout)
}

// night applies one night's changes to the source and backs it up by each method.
func (b *bench) night(ctx context.Context, night int) error {
	t := time.Now()
	ch := b.lib.night(b.c.changeRate, b.c.deleteRate)
	if _, err := b.direct.DeleteObjects(ctx, sourceBucket, ch.deletes); err != nil {
		return fmt.Errorf("delete from the library: %w", err)
	}
	if err := b.upload(ctx, ch.writes); err != nil {
		return fmt.Errorf("change the library: %w", err)
	}
	b.snapshots = append(b.snapshots, b.lib.snapshot())
	b.changes = append(b.changes, ch)
	logf("night %2d: %d new files, %d new versions, %d overwritten in place, %d deleted (%.1fs); %d objects",
		night, ch.newFiles, ch.newVersions, ch.replacements, len(ch.deletes), time.Since(t).Seconds(), len(b.snapshots[night]))

	methods := []func(context.Context, int) (backupRun, error){b.incremental, b.full}
	if night <= b.c.rcloneNights {
		methods = append(methods, b.rclone)
	}
	for _, backup := range methods {
		r, err := backup(ctx, night)
		if err != nil {
			return err
		}
		logf("night %2d: %-11s copied %6d referenced %6d in %6.2fs, %6d requests (%s), CPU client+proxy %.2fs, server %.2fs",
			night, r.method, r.copied, r.referenced, r.seconds, r.requests.total(), r.requests, r.clientCPU, r.serverCPU)
		b.runs = append(b.runs, r)
	}
	return nil
}

// measured runs fn through the proxy and returns its time, requests and the
// server's CPU time.
func (b *bench) measured(fn func() error) (phase, error) {
	b.requests.take()
	server, self := b.server.CPUSeconds(), benchenv.SelfAndChildrenCPUSeconds()
	start := time.Now()
	err := fn()
	return phase{seconds: time.Since(start).Seconds(), requests: b.requests.take(),
		serverCPU: b.server.CPUSeconds() - server, clientCPU: benchenv.SelfAndChildrenCPUSeconds() - self}, err
}

// listings times one walk of the library and one of the repository through the
// proxy, each in one range, with the CPU they cost: the work an Incremental backup
// cannot do without (the library) and the work its index saves (the repository).
func (b *bench) listings(ctx context.Context) (phase, phase, error) {
	walk := func(bucket, prefix string) (phase, error) {
		return b.measured(func() error {
			for _, err := range b.viaProxy.WalkObjects(ctx, bucket, prefix, provider.KeyRange{}) {
				if err != nil {
					return fmt.Errorf("walk s3://%s/%s: %w", bucket, prefix, err)
				}
			}
			return nil
		})
	}
	library, err := walk(sourceBucket, sourcePrefix)
	if err != nil {
		return library, phase{}, err
	}
	repo, err := walk(backupBucket, b.repo+repository.ObjectsDir)
	logf("one walk through the proxy: of the library %.2fs (%d requests, CPU client+proxy %.2fs, server %.2fs), of the repository %.2fs (%d requests, CPU client+proxy %.2fs, server %.2fs)",
		library.seconds, library.requests.total(), library.clientCPU, library.serverCPU, repo.seconds, repo.requests.total(), repo.clientCPU, repo.serverCPU)
	return library, repo, err
}

// upload writes objects straight to the server.
func (b *bench) upload(ctx context.Context, writes []write) error {
	return parallel(ctx, len(writes), func(ctx context.Context, i int) error {
		w := writes[i]
		if err := b.direct.UploadObject(ctx, sourceBucket, w.key, b.lib.bytes(w.gen)); err != nil {
			return fmt.Errorf("put %s: %w", w.key, err)
		}
		return nil
	})
}

// list returns every object under prefix, straight from the server.
func (b *bench) list(ctx context.Context, bucket, prefix string) ([]provider.ObjectMetadata, error) {
	objects, err := b.direct.ListObjects(ctx, bucket, prefix)
	if err != nil {
		return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
	}
	return objects, nil
}

// deletePrefix removes every object under prefix, straight on the server (the
// benchmark's own cleanup, not measured).
func (b *bench) deletePrefix(ctx context.Context, bucket, prefix string) error {
	objects, err := b.list(ctx, bucket, prefix)
	if err != nil {
		return err
	}
	keys := make([]string, len(objects))
	for i, o := range objects {
		keys[i] = o.Key
	}
	if _, err := b.direct.DeleteObjects(ctx, bucket, keys); err != nil {
		return fmt.Errorf("delete s3://%s/%s: %w", bucket, prefix, err)
	}
	return nil
}

// readInventory returns every entry of the inventory parts under backupPrefix.
func readInventory(ctx context.Context, prov provider.Provider, bucket, backupPrefix string) ([]inventory.Entry, error) {
	parts, err := prov.ListObjects(ctx, bucket, layout.InventoryPrefix(backupPrefix))
	if err != nil {
		return nil, fmt.Errorf("list the inventory of s3://%s/%s: %w", bucket, backupPrefix, err)
	}
	var entries []inventory.Entry
	for _, p := range parts {
		if !layout.IsPartKey(strings.TrimPrefix(p.Key, backupPrefix)) {
			continue
		}
		data, err := provider.ReadSmallObject(ctx, prov, bucket, p.Key)
		if err != nil {
			return nil, fmt.Errorf("read inventory part s3://%s/%s: %w", bucket, p.Key, err)
		}
		if _, err := inventory.Read(data, func(e inventory.Entry) error {
			entries = append(entries, e)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("inventory part s3://%s/%s: %w", bucket, p.Key, err)
		}
	}
	return entries, nil
}

// checkEntries compares what a backup recorded with the library of that night: the
// same source keys with the same sizes, each with a stored key under storedUnder.
func checkEntries(entries []inventory.Entry, want []expected, storedUnder string) error {
	if len(entries) != len(want) {
		return fmt.Errorf("the backup recorded %d objects, the library holds %d", len(entries), len(want))
	}
	sorted := append([]inventory.Entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].SourceKey < sorted[j].SourceKey })
	for i, e := range sorted {
		if e.SourceKey != want[i].key || e.Size != want[i].size {
			return fmt.Errorf("the backup recorded %s (%d bytes) where the library holds %s (%d bytes)",
				e.SourceKey, e.Size, want[i].key, want[i].size)
		}
		if !strings.HasPrefix(e.StoredKey, storedUnder) {
			return fmt.Errorf("the backup recorded %s as stored at %q, not under %q", e.SourceKey, e.StoredKey, storedUnder)
		}
	}
	return nil
}

// parallel runs fn for 0..n-1 on a pool of workers; the first error stops it.
func parallel(ctx context.Context, n int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench-incremental: "+format+"\n", args...)
}
