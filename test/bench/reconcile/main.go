// Command reconcile benchmarks the BackupRequest controller on a real API server
// (envtest) with the in-memory fake provider: it creates many BackupRequests over many
// projects at once and reports how long they take, how fast requests with a free slot
// start, the peak number running per project, and the process's peak RSS. Before that,
// on the same API server, it measures a floor controller that only patches each new
// request to InProgress (floor.go), and compares the two.
//
//	KUBEBUILDER_ASSETS=... go run ./test/bench/reconcile -requests 1000 -projects 100
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liferay/lc2-backup-controller/internal/setup"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/controller"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

type config struct {
	requests, projects int
	latency, snapshot  time.Duration
	copyTime           time.Duration
	poll               time.Duration
	workers            int
	qps                int
	logFile            string
	timeout            time.Duration
	floor              bool
}

func main() {
	var c config
	flag.IntVar(&c.requests, "requests", 1000, "BackupRequests to create")
	flag.IntVar(&c.projects, "projects", 100, "projects they are spread over")
	flag.DurationVar(&c.latency, "latency", 50*time.Millisecond, "fake provider latency per call")
	flag.DurationVar(&c.snapshot, "snapshot-time", 2*time.Second, "time until a fake snapshot is available")
	flag.DurationVar(&c.copyTime, "copy-time", time.Second, "duration of a fake document-library copy")
	flag.DurationVar(&c.poll, "snapshot-poll", time.Second, "snapshot poll interval of the controller")
	flag.IntVar(&c.workers, "workers", controller.DefaultMaxConcurrentReconciles, "reconcile workers")
	flag.IntVar(&c.qps, "kube-api-qps", 500, "the controller's client-side API rate limit (burst: twice this); the manager's default is 50")
	flag.StringVar(&c.logFile, "log-file", "", "write the controller's log, with debug lines, to this file")
	flag.DurationVar(&c.timeout, "timeout", 15*time.Minute, "give up after")
	flag.BoolVar(&c.floor, "floor", true, "first measure the floor controller (only patches each new request to InProgress) on the same API server, and compare")
	flag.Parse()
	if c.logFile == "" {
		ctrl.SetLogger(logr.Discard()) // the benchmark prints its own report
	} else {
		f, err := os.Create(c.logFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-reconcile:", err)
			os.Exit(1)
		}
		defer func() {
			if err := f.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "bench-reconcile: close the log file:", err)
			}
		}()
		ctrl.SetLogger(zap.New(zap.WriteTo(f), zap.Level(zapcore.Level(-1)), func(o *zap.Options) { o.TimeEncoder = zapcore.RFC3339NanoTimeEncoder })) // the controller's debug (V(1)) lines too
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench-reconcile:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	root, err := harness.RepoRoot()
	if err != nil {
		return err
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("start envtest: %w", err)
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "bench-reconcile: stop envtest:", err)
		}
	}()
	// The benchmark's own clients (creating objects fast, watching them) get their own
	// connection, as a user's kubectl would, and no client-side throttling. client-go
	// shares one HTTP/2 connection between configs with equal transport settings, so
	// a different compression setting is what separates them from the controller's.
	controllerCfg := rest.CopyConfig(cfg)
	floorCfg := rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 500, 1000
	cfg.DisableCompression = true

	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = backupv1alpha1.AddToScheme(scheme)
	k8s, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	// Stop envtest on Ctrl-C or SIGTERM too: its API server and etcd are not our children's children.
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(sigCtx, c.timeout)
	defer cancel()

	// The floor runs first, to completion, and leaves nothing behind that our
	// controller would see (floor.go says why sequential and why in this order).
	var floor *floorResult
	var floorUsage usage
	if c.floor {
		if floor, floorUsage, err = runFloor(ctx, floorCfg, cfg, scheme, k8s, c); err != nil {
			return fmt.Errorf("floor: %w", err)
		}
	}

	cloud := fake.New()
	cloud.Latency, cloud.SnapshotReadyAfter, cloud.CopyDuration = c.latency, c.snapshot, c.copyTime
	for p := range c.projects {
		cloud.PutObject(source(p), "document_library/1/1.0", []byte("x"))
		cloud.PutObject(dest(p), ".keep", nil)
		// Every resource carries its project's ownership tag, as the controller checks.
		owner := map[string]string{backupv1alpha1.OwnershipTagKey: project(p)}
		cloud.SetBucketTags(source(p), owner)
		cloud.SetBucketTags(dest(p), owner)
		cloud.SetInstanceTags("db-"+project(p), owner)
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace(p), Labels: map[string]string{backupv1alpha1.ProjectLabel: project(p)}}}
		if err := k8s.Create(ctx, ns); err != nil {
			return err
		}
	}
	rec := newRecorder()
	if err := startController(ctx, controllerCfg, cloud, c, rec); err != nil {
		return err
	}

	if err := watchRequests(ctx, cfg, scheme, rec); err != nil {
		return err
	}

	began := time.Now()
	total, err := createRequests(ctx, k8s, c, namespace, rec)
	if err != nil {
		return err
	}
	createdIn := time.Since(began)
	lastReport := time.Now()
	for rec.finished() < total {
		if ctx.Err() != nil {
			return fmt.Errorf("timed out with %d of %d finished", rec.finished(), total)
		}
		if time.Since(lastReport) > 10*time.Second {
			fmt.Fprintf(os.Stderr, "  ... %s: %d of %d finished, %d running\n", time.Since(began).Round(time.Second), rec.finished(), total, rec.runningNow())
			lastReport = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	allDone := time.Since(began)
	rec.report(c, total, createdIn, allDone)
	if err := reportServerSide(ctx, k8s, rec); err != nil {
		return err
	}
	// This process's API requests and everyone's CPU, less what the floor phase used:
	// the same figures a run without the floor prints.
	printDiagnostics("backuprequest", currentUsage().minus(floorUsage))
	printCloudCalls(cloud, total, c.latency)
	if floor != nil {
		printComparison(floor, rec)
	}
	if rec.failed > 0 {
		return fmt.Errorf("%d backups failed", rec.failed)
	}
	if rec.peakMax() > controller.DefaultMaxConcurrentBackupsPerProject {
		return fmt.Errorf("a project ran %d backups at once", rec.peakMax())
	}
	return nil
}

// watchRequests follows every BackupRequest with rec, as a user's watch would.
// An informer (not a bare watch, which the API server may close) sees every change.
// The watch that measures gets a connection of its own too, like a user's
// kubectl get -w: not shared with the 100 goroutines creating objects.
// It stops with ctx.
func watchRequests(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, rec *recorder) error {
	watchCfg := rest.CopyConfig(cfg)
	watchCfg.NextProtos = []string{"http/1.1"}
	informers, err := cache.New(watchCfg, cache.Options{Scheme: scheme, DefaultTransform: cache.TransformStripManagedFields()})
	if err != nil {
		return err
	}
	inf, err := informers.GetInformer(ctx, &backupv1alpha1.BackupRequest{})
	if err != nil {
		return err
	}
	observe := func(o any) {
		if br, ok := o.(*backupv1alpha1.BackupRequest); ok {
			rec.observe(br, time.Now())
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, o any) { observe(o) },
	}); err != nil {
		return err
	}
	go func() { _ = informers.Start(ctx) }()
	if !informers.WaitForCacheSync(ctx) {
		return fmt.Errorf("informer did not sync")
	}
	return nil
}

// createRequests creates c.requests BackupRequests (rounded down to a multiple of
// c.projects) in the namespaces ns(p), one goroutine per project, and returns how many.
func createRequests(ctx context.Context, k8s client.Client, c config, ns func(int) string, rec *recorder) (int, error) {
	perProject := c.requests / c.projects
	var wg sync.WaitGroup
	errs := make(chan error, c.projects)
	for p := range c.projects {
		wg.Go(func() {
			for i := range perProject {
				br := &backupv1alpha1.BackupRequest{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns(p), Name: fmt.Sprintf("backup-%03d", i)},
					Spec: backupv1alpha1.BackupRequestSpec{
						ProjectID: project(p), Environment: "prd", Provider: "aws",
						Database: &backupv1alpha1.DatabaseBackupSpec{Type: "snapshot", InstanceID: "db-" + project(p)},
						DocumentLibrary: &backupv1alpha1.DocumentLibraryBackupSpec{
							SourceBucket: backupv1alpha1.BucketName(source(p)), SourcePrefix: "document_library/",
							DestinationBucket: backupv1alpha1.BucketName(dest(p)), DestinationPrefix: backupv1alpha1.ObjectPrefix(fmt.Sprintf("%s/b%03d/", project(p), i)),
						},
					},
				}
				// A request has a free slot when fewer than the limit were created before it in its project.
				key := ns(p) + "/" + br.Name
				rec.created(key, project(p), i < controller.DefaultMaxConcurrentBackupsPerProject)
				if err := k8s.Create(ctx, br); err != nil {
					errs <- err
					return
				}
				// Latencies count from when the API server answered the create.
				rec.created(key, project(p), i < controller.DefaultMaxConcurrentBackupsPerProject)
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, fmt.Errorf("create backup requests: %w", err)
	}
	return perProject * c.projects, nil
}

func startController(ctx context.Context, controllerCfg *rest.Config, cloud provider.Provider, c config, rec *recorder) error {
	// Built by the same setup as the manager binary: only the provider (the fake cloud)
	// and the timings differ.
	conf := &setup.Config{
		MetricsAddr: "0", KubeAPIQPS: c.qps, KubeAPIBurst: 2 * c.qps,
		Controller: controller.Options{SnapshotPollInitial: c.poll, SnapshotPollMax: c.poll, MaxConcurrentReconciles: c.workers},
	}
	mgr, err := ctrl.NewManager(setup.RESTConfig(controllerCfg, conf), setup.ManagerOptions(conf))
	if err != nil {
		return err
	}
	// When the controller's own cache first sees each request: the watch delivery lag.
	inf, err := mgr.GetCache().GetInformer(ctx, &backupv1alpha1.BackupRequest{})
	if err != nil {
		return err
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: func(o any) {
		if br, ok := o.(*backupv1alpha1.BackupRequest); ok {
			rec.seenByController(br.Namespace+"/"+br.Name, time.Now())
		}
	}}); err != nil {
		return err
	}
	reg := provider.NewRegistry()
	reg.Register("aws", cloud)
	if _, err := setup.Setup(ctx, mgr, conf, setup.Deps{Providers: reg, Registerer: prometheus.NewRegistry()}); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "controller stopped:", err)
		}
		close(done)
	}()
	return waitReady(ctx, mgr, "backuprequest", done)
}

// waitReady returns once mgr's cache has synced, or with an error when the manager
// stopped first. Requests are created only then, for the floor and ours alike, so
// creation -> InProgress measures starting a backup, not starting the controller
// process: with client-go's WatchList each informer's first sync waits for the API
// server's bookmark timer (1-1.25 s, kubernetes/kubernetes#122277), and ours starts
// more informers than the floor's one, so the start-up would count against ours
// and not the floor.
func waitReady(ctx context.Context, mgr ctrl.Manager, name string, stopped <-chan struct{}) error {
	began := time.Now()
	synced := make(chan bool, 1)
	go func() { synced <- mgr.GetCache().WaitForCacheSync(ctx) }()
	select {
	case ok := <-synced:
		if !ok {
			return fmt.Errorf("%s: the manager's cache did not sync", name)
		}
	case <-stopped:
		return fmt.Errorf("%s: the manager stopped before its cache synced", name)
	}
	fmt.Fprintf(os.Stderr, "  %s manager started, cache synced after %s\n", name, time.Since(began).Round(time.Millisecond))
	return nil
}

// recorder follows every BackupRequest through the watch.
type recorder struct {
	mu         sync.Mutex
	createdAt  map[string]time.Time
	freeSlot   map[string]bool
	projectOf  map[string]string
	startDelay []time.Duration // requests with a free slot
	allStart   []time.Duration // every request
	cacheSeen  map[string]time.Time
	startedAt  map[string]time.Time // when the watch first saw InProgress
	running    map[string]map[string]bool
	peak       map[string]int
	done       map[string]bool
	failed     int
}

func newRecorder() *recorder {
	return &recorder{createdAt: map[string]time.Time{}, freeSlot: map[string]bool{}, projectOf: map[string]string{},
		running: map[string]map[string]bool{}, peak: map[string]int{}, done: map[string]bool{}, cacheSeen: map[string]time.Time{}, startedAt: map[string]time.Time{}}
}

func (r *recorder) created(key, project string, free bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.createdAt[key], r.freeSlot[key], r.projectOf[key] = time.Now(), free, project
}

func (r *recorder) seenByController(key string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, seen := r.cacheSeen[key]; !seen {
		r.cacheSeen[key] = at
	}
}

func (r *recorder) observe(br *backupv1alpha1.BackupRequest, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := br.Namespace + "/" + br.Name
	p := br.Spec.ProjectID
	if r.running[p] == nil {
		r.running[p] = map[string]bool{}
	}
	switch br.Status.Phase {
	case backupv1alpha1.PhaseInProgress:
		if !r.running[p][key] {
			r.running[p][key] = true
			r.peak[p] = max(r.peak[p], len(r.running[p]))
			r.allStart = append(r.allStart, at.Sub(r.createdAt[key]))
			if _, seen := r.startedAt[key]; !seen {
				r.startedAt[key] = at
			}
			if r.freeSlot[key] {
				r.startDelay = append(r.startDelay, at.Sub(r.createdAt[key]))
			}
		}
	case backupv1alpha1.PhaseSucceeded, backupv1alpha1.PhaseFailed:
		delete(r.running[p], key)
		if !r.done[key] {
			r.done[key] = true
			if br.Status.Phase == backupv1alpha1.PhaseFailed {
				r.failed++
			}
		}
	}
}

func (r *recorder) finished() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.done)
}

// started is how many requests the watch has seen InProgress.
func (r *recorder) started() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.allStart)
}

// watched returns, sorted, creation -> InProgress as the watch saw it, for the
// requests with a free slot and for all requests.
func (r *recorder) watched() (free, all []time.Duration) {
	r.mu.Lock()
	free, all = append([]time.Duration(nil), r.startDelay...), append([]time.Duration(nil), r.allStart...)
	r.mu.Unlock()
	slices.Sort(free)
	slices.Sort(all)
	return free, all
}

// controllerLag returns, sorted, creation -> seen by the controller's cache for the
// requests with a free slot.
func (r *recorder) controllerLag() []time.Duration {
	r.mu.Lock()
	var cd []time.Duration
	for key, at := range r.cacheSeen {
		if r.freeSlot[key] {
			cd = append(cd, max(at.Sub(r.createdAt[key]), 0))
		}
	}
	r.mu.Unlock()
	slices.Sort(cd)
	return cd
}

// afterCache returns, sorted, seen by the controller's cache -> InProgress seen by
// the watch for the requests with a free slot: the controller's share (queue wait,
// the pass, the status write) plus the watch's delivery of that write.
func (r *recorder) afterCache() []time.Duration {
	r.mu.Lock()
	var d []time.Duration
	for key, at := range r.startedAt {
		if seen, ok := r.cacheSeen[key]; ok && r.freeSlot[key] {
			d = append(d, max(at.Sub(seen), 0))
		}
	}
	r.mu.Unlock()
	slices.Sort(d)
	return d
}

// pct is the p-quantile of the sorted d, the way every figure here is computed (p 1 is the max).
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

func (r *recorder) runningNow() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, keys := range r.running {
		n += len(keys)
	}
	return n
}

func (r *recorder) peakMax() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := 0
	for _, v := range r.peak {
		m = max(m, v)
	}
	return m
}

func (r *recorder) report(c config, total int, createdIn, allDone time.Duration) {
	d, _ := r.watched()
	cd := r.controllerLag()
	fmt.Printf("bench-reconcile: %d BackupRequests over %d projects, fake provider latency %s, snapshot %s, copy %s, %d workers, API limit %d/s\n",
		total, c.projects, c.latency, c.snapshot, c.copyTime, c.workers, c.qps)
	fmt.Printf("  created in                    %s\n", createdIn.Round(time.Millisecond))
	r.mu.Lock()
	failed := r.failed
	r.mu.Unlock()
	fmt.Printf("  all Succeeded after           %s (%d failed)\n", allDone.Round(time.Millisecond), failed)
	fmt.Printf("  creation -> InProgress seen by this process's informer, requests with a free slot (n=%d): p50 %s  p99 %s  max %s\n",
		len(d), pct(d, 0.50).Round(time.Millisecond), pct(d, 0.99).Round(time.Millisecond), pct(d, 1).Round(time.Millisecond))
	if len(cd) > 0 {
		fmt.Printf("  creation -> seen by the controller's cache, same requests (n=%d): p50 %s  p99 %s  max %s\n",
			len(cd), cd[len(cd)/2].Round(time.Millisecond), cd[min(len(cd)-1, len(cd)*99/100)].Round(time.Millisecond), cd[len(cd)-1].Round(time.Millisecond))
	}
	fmt.Printf("  peak InProgress per project   %d (limit %d)\n", r.peakMax(), controller.DefaultMaxConcurrentBackupsPerProject)
	fmt.Printf("  peak RSS of this process      %s (controller, API client and watch; API server and etcd excluded)\n", peakRSS())
}

func peakRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}

func project(p int) string   { return fmt.Sprintf("p%03d", p) }
func namespace(p int) string { return "proj-" + project(p) }
func source(p int) string    { return "dl-" + project(p) }
func dest(p int) string      { return "backups-" + project(p) }

// reportServerSide measures creation -> start from the objects themselves
// (status.startTime - metadata.creationTimestamp, both stored by the API with
// whole-second precision), free of the benchmark's own watch delivery lag.
func reportServerSide(ctx context.Context, c client.Client, rec *recorder) error {
	var list backupv1alpha1.BackupRequestList
	if err := c.List(ctx, &list); err != nil {
		return err
	}
	var d []time.Duration
	rec.mu.Lock()
	for _, br := range list.Items {
		if rec.freeSlot[br.Namespace+"/"+br.Name] && br.Status.StartTime != nil {
			d = append(d, br.Status.StartTime.Sub(br.CreationTimestamp.Time))
		}
	}
	rec.mu.Unlock()
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	if len(d) == 0 {
		return nil
	}
	fmt.Printf("  same, from the objects (startTime - creationTimestamp, 1 s resolution, n=%d): p50 %s  p99 %s  max %s\n",
		len(d), d[len(d)/2], d[min(len(d)-1, len(d)*99/100)], d[len(d)-1])
	if gaps := slotHandover(list.Items, controller.DefaultMaxConcurrentBackupsPerProject); len(gaps) > 0 {
		fmt.Printf("  slot idle between a completion and the next start (1 s resolution, n=%d): p50 %s  p99 %s  max %s\n",
			len(gaps), gaps[len(gaps)/2], gaps[min(len(gaps)-1, len(gaps)*99/100)], gaps[len(gaps)-1])
	}
	return nil
}
