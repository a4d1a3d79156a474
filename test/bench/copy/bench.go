package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/aws"
	"github.com/liferay/lc2-backup-controller/test/bench/internal/benchenv"
)

const (
	sourceBucket = "bench-source"
	smallPrefix  = "small/"
	largePrefix  = "large/"
	seedWorkers  = 32
)

// Tools compared.
const (
	toolOurs  = "lc2 provider"
	toolS5cmd = "s5cmd v2.3.0"
)

type bench struct {
	c        benchConfig
	server   *benchenv.Server
	proxy    *benchenv.Proxy
	throttle *throttle
	client   *s3.Client
	provider *aws.Provider
	// source describes the seeded objects: key → md5 of content.
	source map[string]string
}

// measurement is one timed copy by one tool.
type measurement struct {
	tool, set string
	// scenario is the network the copy ran on (scenarioName).
	scenario      string
	round         int
	failed        int64 // objects missing at the destination (throttling mode only)
	seconds       float64
	objects       int64
	bytes         int64
	peakRSSKiB    int64
	cpuSeconds    float64 // user + system time of the copying process
	serverCPU     float64 // versitygw's CPU time during the copy
	proxyCPU      float64 // the benchmark's own (the proxy's) CPU time during the copy
	verifiedBytes bool
}

// scenario is one network setting of the proxy.
type scenario struct {
	latency  time.Duration
	throttle float64 // write requests/s the server accepts; 0: no throttling
}

func (s scenario) name() string {
	if s.throttle > 0 {
		return fmt.Sprintf("%d ms, SlowDown above %.0f writes/s", s.latency.Milliseconds(), s.throttle)
	}
	return fmt.Sprintf("%d ms", s.latency.Milliseconds())
}

func newBench(ctx context.Context, c benchConfig, env *benchenv.Env, th *throttle) (*bench, error) {
	for _, kv := range []struct{ k, v string }{
		{"AWS_ENDPOINT_URL", env.Server.Endpoint}, {"AWS_ACCESS_KEY_ID", benchenv.AccessKey},
		{"AWS_SECRET_ACCESS_KEY", benchenv.SecretKey}, {"AWS_REGION", benchenv.Region}, {"AWS_EC2_METADATA_DISABLED", "true"},
	} {
		if err := os.Setenv(kv.k, kv.v); err != nil {
			return nil, err
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.RequestChecksumCalculation = awssdk.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = awssdk.ResponseChecksumValidationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	p, err := aws.New(ctx, aws.Options{})
	if err != nil {
		return nil, err
	}
	return &bench{c: c, server: env.Server, proxy: env.Proxy, throttle: th, client: client, provider: p, source: map[string]string{}}, nil
}

func (b *bench) run(ctx context.Context) error {
	fmt.Fprintf(os.Stderr, "seeding %d objects of %d bytes and %d of %d bytes...\n", b.c.objects, b.c.objectSize, b.c.large, b.c.largeSize)
	if err := b.seed(ctx); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	var scenarios []scenario
	for _, l := range b.c.latencies {
		scenarios = append(scenarios, scenario{latency: l})
	}
	if b.c.throttle > 0 {
		scenarios = append(scenarios, scenario{latency: b.c.throttleLatency, throttle: b.c.throttle})
	}
	var results []measurement
	for _, sc := range scenarios {
		b.proxy.SetDelay(sc.latency)
		for round := 1; round <= b.c.rounds; round++ {
			tools := []string{toolOurs, toolS5cmd}
			if round%2 == 0 {
				tools[0], tools[1] = tools[1], tools[0] // neither tool always gets the warmer cache
			}
			for _, set := range []string{smallPrefix, largePrefix} {
				if set == largePrefix && (b.c.large == 0 || sc.throttle > 0) {
					continue // throttling is about request rates: small objects only
				}
				for _, tool := range tools {
					b.throttle.set(sc.throttle)
					m, err := b.measure(ctx, tool, set, round, sc)
					b.throttle.set(0)
					if err != nil {
						return fmt.Errorf("%s, round %d, %s, %s: %w", sc.name(), round, tool, set, err)
					}
					fmt.Fprintf(os.Stderr, "%-32s round %d %-13s %-6s %6.2fs %8.0f objects/s %8.1f MiB/s peak RSS %5.1f MiB CPU %5.2fs (server %5.2fs, proxy %5.2fs) failed %d\n",
						sc.name(), round, tool, set, m.seconds, float64(m.objects)/m.seconds, mib(m.bytes)/m.seconds, float64(m.peakRSSKiB)/1024,
						m.cpuSeconds, m.serverCPU, m.proxyCPU, m.failed)
					results = append(results, m)
				}
			}
		}
	}
	return printTable(os.Stdout, b.c, scenarios, results)
}

// seed writes the small and large objects with deterministic pseudo-random content.
func (b *bench) seed(ctx context.Context) error {
	if _, err := b.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: awssdk.String(sourceBucket)}); err != nil {
		return err
	}
	type object struct {
		key  string
		size int64
		seed uint64
	}
	var objects []object
	for i := range b.c.objects {
		// Keys shaped like Liferay's store: <company>/<repository>/<file entry>/<version>.
		objects = append(objects, object{fmt.Sprintf("%s20097/%d/%d/1.0", smallPrefix, 20125+i%5, 40000+i), b.c.objectSize, uint64(i)})
	}
	for i := range b.c.large {
		objects = append(objects, object{fmt.Sprintf("%s20097/20125/%d/1.0", largePrefix, 90000+i), b.c.largeSize, uint64(1e9 + i)})
	}
	work := make(chan object)
	errs := make(chan error, seedWorkers)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range seedWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				data := make([]byte, o.size)
				rng := rand.NewChaCha8([32]byte{byte(o.seed), byte(o.seed >> 8), byte(o.seed >> 16), byte(o.seed >> 24), byte(o.seed >> 32)})
				_, _ = rng.Read(data)
				sum := md5.Sum(data)
				_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
					Bucket: awssdk.String(sourceBucket), Key: awssdk.String(o.key), Body: bytes.NewReader(data),
					ContentLength: awssdk.Int64(o.size),
				})
				if err != nil {
					errs <- fmt.Errorf("put %s: %w", o.key, err)
					return
				}
				mu.Lock()
				b.source[o.key] = hex.EncodeToString(sum[:])
				mu.Unlock()
			}
		}()
	}
feed:
	for _, o := range objects {
		select {
		case work <- o:
		case err := <-errs:
			close(work)
			wg.Wait()
			return err
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return ctx.Err()
}

// measure copies one set with one tool into a fresh bucket, as a child process, then
// verifies the copy and removes it.
func (b *bench) measure(ctx context.Context, tool, set string, round int, sc scenario) (measurement, error) {
	dst := fmt.Sprintf("bench-%s-%d-%s", map[string]string{toolOurs: "ours", toolS5cmd: "s5cmd"}[tool], round, set[:len(set)-1])
	throttled := sc.throttle > 0
	if _, err := b.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &dst}); err != nil {
		return measurement{}, err
	}
	var cmd *exec.Cmd
	switch tool {
	case toolOurs:
		self, err := os.Executable()
		if err != nil {
			return measurement{}, err
		}
		cmd = exec.CommandContext(ctx, self, childCommand, "-src-bucket", sourceBucket, "-dst-bucket", dst, "-prefix", set,
			"-concurrency", strconv.Itoa(b.c.concurrency), "-threshold", strconv.FormatInt(b.c.threshold, 10),
			"-part-size", strconv.FormatInt(b.c.partSize, 10), "-rate-cap", strconv.FormatFloat(b.c.rateCap, 'f', -1, 64))
		if b.c.cpuProfile != "" && set == smallPrefix {
			cmd.Args = append(cmd.Args, "-cpuprofile", b.c.cpuProfile)
		}
	case toolS5cmd:
		args := []string{"--endpoint-url", b.proxy.URL, "--log", "error"}
		if b.c.s5cmdWorkers > 0 {
			args = append(args, "--numworkers", strconv.Itoa(b.c.s5cmdWorkers))
		}
		args = append(args, "cp", "s3://"+sourceBucket+"/"+set+"*", "s3://"+dst+"/"+set)
		cmd = exec.CommandContext(ctx, b.c.s5cmd, args...)
	}
	cmd.Env = b.server.ClientEnv(b.proxy.URL)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The copying child is measured by itself (runMeasured); this process's own CPU,
	// without its waited-for children, is the proxy's.
	serverBefore, proxyBefore := b.server.CPUSeconds(), benchenv.SelfCPUSeconds()
	elapsed, peakRSS, cpu, err := runMeasured(cmd)
	serverCPU, proxyCPU := b.server.CPUSeconds()-serverBefore, benchenv.SelfCPUSeconds()-proxyBefore
	if err != nil && !throttled {
		return measurement{}, fmt.Errorf("%w: %s", err, stderr.String())
	}
	if err != nil {
		// Under throttling a tool may give up on objects: counted as failed below.
		msg := stderr.String()
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		fmt.Fprintf(os.Stderr, "%s under throttling: %v: %s\n", tool, err, msg)
	}
	if tool == toolOurs && err == nil {
		var res provider.ObjectStorageCopyResult
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
			return measurement{}, fmt.Errorf("read our copy's result: %w", err)
		}
		if want := int64(b.countSet(set)); res.ObjectsCopied != want {
			return measurement{}, fmt.Errorf("our copy reports %d objects copied, want %d", res.ObjectsCopied, want)
		}
	}
	// Byte-for-byte checks cost a full download: the large objects are checked in the
	// first round only, the small ones by size and ETag every round.
	deep := set == largePrefix && round == 1
	objects, bytesCopied, missing, err := b.verify(ctx, dst, set, deep, throttled)
	if err != nil {
		return measurement{}, fmt.Errorf("verify %s: %w", dst, err)
	}
	// The benchmark's own scratch bucket: empty it so it can be removed.
	listed, err := b.provider.ListObjects(ctx, dst, set)
	if err != nil {
		return measurement{}, err
	}
	keys := make([]string, len(listed))
	for i, o := range listed {
		keys[i] = o.Key
	}
	if _, err := b.provider.DeleteObjects(ctx, dst, keys); err != nil {
		return measurement{}, err
	}
	if _, err := b.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &dst}); err != nil {
		return measurement{}, err
	}
	return measurement{tool: tool, set: set, scenario: sc.name(), round: round, seconds: elapsed.Seconds(), objects: objects,
		bytes: bytesCopied, peakRSSKiB: peakRSS, cpuSeconds: cpu, serverCPU: serverCPU, proxyCPU: proxyCPU,
		verifiedBytes: deep, failed: missing}, nil
}

// runMeasured runs cmd and returns its wall time and peak resident set (KiB).
//
// The peak comes from polling VmHWM in /proc/<pid>/status, not from wait4's ru_maxrss:
// Linux carries the high-water mark of the image replaced by exec into ru_maxrss, so a
// child forked from this (much larger) process would report our size, not its own.
// VmHWM belongs to the exec'd image alone and only grows, so the last reading before the
// process exits is its peak to within one polling interval.
func runMeasured(cmd *exec.Cmd) (time.Duration, int64, float64, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	runtime.LockOSThread() // Pdeathsig follows the thread that started the child
	start := time.Now()
	err := cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		return 0, 0, 0, err
	}
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var highest int64
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		ticker := time.NewTicker(2 * time.Millisecond)
		defer ticker.Stop()
		for {
			if kib, ok := readVmHWM(status); ok {
				highest = max(highest, kib)
			}
			select {
			case <-done:
				peak <- highest
				return
			case <-ticker.C:
			}
		}
	}()
	err = cmd.Wait()
	elapsed := time.Since(start)
	close(done)
	cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return elapsed, <-peak, cpu, err
}

// readVmHWM returns the VmHWM line of a /proc status file in KiB.
func readVmHWM(path string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kib, err == nil
		}
	}
	return 0, false
}

func (b *bench) countSet(set string) int {
	if set == smallPrefix {
		return b.c.objects
	}
	return b.c.large
}

// verify checks that dst holds every source object of set with the same size, and the
// same ETag (small) or the same MD5 of the downloaded content (deep). It returns the
// objects and bytes copied; with tolerateMissing, objects missing at the destination
// are counted (the third result) instead of failing the check.
func (b *bench) verify(ctx context.Context, dst, set string, deep, tolerateMissing bool) (int64, int64, int64, error) {
	src, err := b.provider.ListObjects(ctx, sourceBucket, set)
	if err != nil {
		return 0, 0, 0, err
	}
	got, err := b.provider.ListObjects(ctx, dst, set)
	if err != nil {
		return 0, 0, 0, err
	}
	copied := map[string]provider.ObjectMetadata{}
	for _, o := range got {
		copied[o.Key] = o
	}
	if len(got) != len(src) && !tolerateMissing {
		return 0, 0, 0, fmt.Errorf("%d objects copied, want %d", len(got), len(src))
	}
	var total, present, missing int64
	for _, s := range src {
		d, ok := copied[s.Key]
		if !ok && tolerateMissing {
			missing++
			continue
		}
		if !ok || d.Size != s.Size {
			return 0, 0, 0, fmt.Errorf("object %s missing or of another size", s.Key)
		}
		present++
		total += s.Size
		if s.Size <= b.c.threshold && d.ETag != s.ETag {
			return 0, 0, 0, fmt.Errorf("object %s has ETag %s, source %s", s.Key, d.ETag, s.ETag)
		}
		if deep {
			sum, err := b.md5Of(ctx, dst, s.Key)
			if err != nil {
				return 0, 0, 0, err
			}
			if sum != b.source[s.Key] {
				return 0, 0, 0, fmt.Errorf("object %s differs from its source byte for byte", s.Key)
			}
		}
	}
	return present, total, missing, nil
}

func (b *bench) md5Of(ctx context.Context, bucket, key string) (string, error) {
	body, err := b.provider.DownloadObject(ctx, bucket, key)
	if err != nil {
		return "", err
	}
	h := md5.New()
	_, err = io.Copy(h, body)
	if err = errors.Join(err, body.Close()); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// median of the measurements of one tool and set in one scenario, by time.
func median(results []measurement, scenario, tool, set string) (measurement, bool) {
	var ms []measurement
	for _, m := range results {
		if m.scenario == scenario && m.tool == tool && m.set == set {
			ms = append(ms, m)
		}
	}
	if len(ms) == 0 {
		return measurement{}, false
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].seconds < ms[j].seconds })
	mid := ms[len(ms)/2]
	for _, m := range ms { // peak RSS and failures: the worst round, not the median one
		mid.peakRSSKiB = max(mid.peakRSSKiB, m.peakRSSKiB)
		mid.failed = max(mid.failed, m.failed)
	}
	return mid, true
}
