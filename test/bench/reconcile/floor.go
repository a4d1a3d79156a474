package main

// The floor: what "see a new BackupRequest and write its status" costs on this API
// server with controller-runtime alone, measured the same way as our controller.
//
// The floor controller has the manager options, client QPS/burst, number of workers
// and cache settings of ours (startController, cmd/main.go), and for each new
// request does nothing but one status patch to InProgress (the same kind of patch as
// our start write: a merge patch guarded by the resourceVersion). No slots, no
// Events, no cloud, no finalizer. It is set up here on its own, without anything of
// startController or the reconciler's package, so the way ours is built can change
// without touching it (keep the options below in step with ours by hand).
//
// Why sequential, floor first, rather than both at once in separate namespaces: the
// machine has 2 cores for the API server, etcd, the controllers and the benchmark,
// so two controllers running at once would each slow the other down, and neither
// figure would mean anything alone or compare with earlier runs. So the floor runs
// first, on 1,000 requests over 100 projects of its own (namespaces floor-p000...),
// watched by the same measuring code (watchRequests, createRequests, recorder);
// then its manager and watch are stopped and its requests deleted (they carry no
// finalizer, so they go at once) and we wait until none is left, because our
// controller watches every namespace. Our phase then runs as it always did. Floor
// first because the floor leaves nothing behind, while ours leaves requests with
// finalizers and cloud state. What the floor phase used is subtracted from the
// figures printed for ours (API requests, CPU), and the peak RSS is reset between
// the two. A freshly started API server is slow for its first burst, so the floor
// runs an unmeasured warm-up round first (runFloor): both measured phases then meet
// a warm API server. With -floor=false, ours meets a cold one, as before.

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// floorName names the floor controller (its work-queue metrics carry it).
const floorName = "floor"

// The goal (issue 24): our p99 within goalRatio of the floor's in the same run, and
// never above goalCeiling.
const (
	goalRatio   = 1.5
	goalCeiling = 5 * time.Second
)

func floorNamespace(p int) string { return "floor-" + project(p) }

// floorResult is what the floor phase measured.
type floorResult struct {
	rec   *recorder
	total int
}

// runFloor measures the floor controller on its own requests and prints its figures,
// then removes everything it created from the API server. It returns what it
// measured and what the whole floor phase used (API requests of this process, CPU).
// controllerCfg is a copy of the API server's config for the floor's manager;
// benchCfg the benchmark's own (creating, watching).
//
// The floor runs two rounds of the same burst; only the second is measured. The
// first meets a freshly started API server (whose first burst of creates took up to
// 3 times as long as the next in our runs: 200 in 2.7 s, then 0.5 s) and warms it
// up, so that neither the floor nor ours pays for the API server's start.
func runFloor(ctx context.Context, controllerCfg, benchCfg *rest.Config, scheme *runtime.Scheme, k8s client.Client, c config) (*floorResult, usage, error) {
	before := currentUsage()
	for p := range c.projects {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: floorNamespace(p), Labels: map[string]string{backupv1alpha1.ProjectLabel: project(p)}}}
		if err := k8s.Create(ctx, ns); err != nil {
			return nil, usage{}, err
		}
	}

	_, err := floorRound(ctx, controllerCfg, benchCfg, scheme, k8s, c, floorName+"-warmup", func(_ *recorder, total int, createdIn, allIn time.Duration) error {
		fmt.Printf("bench-reconcile floor, warm-up round (not measured): %d created in %s, all InProgress after %s\n",
			total, createdIn.Round(time.Millisecond), allIn.Round(time.Millisecond))
		return nil
	})
	if err != nil {
		return nil, usage{}, err
	}
	resetPeakRSS()

	measured := currentUsage()
	res, err := floorRound(ctx, controllerCfg, benchCfg, scheme, k8s, c, floorName, func(rec *recorder, total int, createdIn, allIn time.Duration) error {
		free, all := rec.watched()
		cd := rec.controllerLag()
		fmt.Printf("bench-reconcile floor: a controller that only patches each new request to InProgress (same manager options, %d workers, API limit %d/s), %d BackupRequests over %d projects\n",
			c.workers, c.qps, total, c.projects)
		fmt.Printf("  created in                    %s\n", createdIn.Round(time.Millisecond))
		fmt.Printf("  all InProgress after          %s\n", allIn.Round(time.Millisecond))
		fmt.Printf("  creation -> InProgress seen by this process's informer, the requests ours finds a free slot for (n=%d): p50 %s  p99 %s  max %s\n",
			len(free), pct(free, 0.50).Round(time.Millisecond), pct(free, 0.99).Round(time.Millisecond), pct(free, 1).Round(time.Millisecond))
		fmt.Printf("  same, all requests (n=%d): p50 %s  p99 %s  max %s\n",
			len(all), pct(all, 0.50).Round(time.Millisecond), pct(all, 0.99).Round(time.Millisecond), pct(all, 1).Round(time.Millisecond))
		if len(cd) > 0 {
			fmt.Printf("  creation -> seen by the controller's cache, free-slot requests (n=%d): p50 %s  p99 %s  max %s\n",
				len(cd), pct(cd, 0.50).Round(time.Millisecond), pct(cd, 0.99).Round(time.Millisecond), pct(cd, 1).Round(time.Millisecond))
		}
		if err := reportServerSide(ctx, k8s, rec); err != nil {
			return err
		}
		fmt.Printf("  peak RSS of this process      %s\n", peakRSS())
		return nil
	})
	if err != nil {
		return nil, usage{}, err
	}
	printDiagnostics(floorName, currentUsage().minus(measured))
	resetPeakRSS()
	return res, currentUsage().minus(before), nil
}

// floorRound runs one floor controller, named name, on a burst of requests in the
// floor's namespaces, calls report once all are InProgress, then stops the controller
// and its watch and deletes the requests: our controller watches every namespace and
// must find none of them.
func floorRound(ctx context.Context, controllerCfg, benchCfg *rest.Config, scheme *runtime.Scheme, k8s client.Client, c config, name string,
	report func(rec *recorder, total int, createdIn, allIn time.Duration) error) (*floorResult, error) {
	phaseCtx, stopPhase := context.WithCancel(ctx)
	defer stopPhase()
	rec := newRecorder()
	mgrDone, err := startFloorController(phaseCtx, rest.CopyConfig(controllerCfg), scheme, c, name, rec)
	if err != nil {
		return nil, err
	}
	if err := watchRequests(phaseCtx, benchCfg, scheme, rec); err != nil {
		return nil, err
	}

	began := time.Now()
	total, err := createRequests(phaseCtx, k8s, c, floorNamespace, rec)
	if err != nil {
		return nil, err
	}
	createdIn := time.Since(began)
	lastReport := time.Now()
	for rec.started() < total {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("timed out with %d of %d InProgress", rec.started(), total)
		}
		if time.Since(lastReport) > 10*time.Second {
			fmt.Fprintf(os.Stderr, "  ... %s %s: %d of %d InProgress\n", name, time.Since(began).Round(time.Second), rec.started(), total)
			lastReport = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := report(rec, total, createdIn, time.Since(began)); err != nil {
		return nil, err
	}

	stopPhase()
	if err := <-mgrDone; err != nil {
		return nil, fmt.Errorf("%s manager: %w", name, err)
	}
	if err := deleteFloorRequests(ctx, k8s, c.projects); err != nil {
		return nil, err
	}
	return &floorResult{rec: rec, total: total}, nil
}

// deleteFloorRequests deletes the floor's requests and waits until the API server
// lists none. Their namespaces stay: envtest runs no namespace controller, so a
// deleted namespace would stay Terminating forever; empty, they cost nothing.
func deleteFloorRequests(ctx context.Context, k8s client.Client, projects int) error {
	for p := range projects {
		if err := k8s.DeleteAllOf(ctx, &backupv1alpha1.BackupRequest{}, client.InNamespace(floorNamespace(p))); err != nil {
			return fmt.Errorf("delete the floor's requests: %w", err)
		}
	}
	for {
		var list backupv1alpha1.BackupRequestList
		if err := k8s.List(ctx, &list, client.Limit(1)); err != nil {
			return err
		}
		if len(list.Items) == 0 {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("the floor's requests were not deleted: %w", ctx.Err())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// resetPeakRSS gives back the floor phase's memory and restarts the kernel's peak
// RSS (VmHWM) count, so the peak printed for ours is ours.
func resetPeakRSS() {
	goruntime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// startFloorController starts a manager running the floor controller, named name,
// and returns once its cache has synced (waitReady); the returned channel yields
// mgr.Start's result once ctx is done and the manager has stopped.
func startFloorController(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, c config, name string, rec *recorder) (<-chan error, error) {
	// As startController (and cmd/main.go): client limit, metrics and probes off,
	// managedFields stripped from the cache.
	cfg.QPS, cfg.Burst = float32(c.qps), 2*c.qps
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
	})
	if err != nil {
		return nil, err
	}
	// When the floor's cache first sees each request: the watch delivery lag.
	inf, err := mgr.GetCache().GetInformer(ctx, &backupv1alpha1.BackupRequest{})
	if err != nil {
		return nil, err
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: func(o any) {
		if br, ok := o.(*backupv1alpha1.BackupRequest); ok {
			rec.seenByController(br.Namespace+"/"+br.Name, time.Now())
		}
	}}); err != nil {
		return nil, err
	}
	onlyNew := predicate.Funcs{
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
	err = ctrl.NewControllerManagedBy(mgr).
		For(&backupv1alpha1.BackupRequest{}, builder.WithPredicates(onlyNew)).
		WithOptions(crcontroller.Options{MaxConcurrentReconciles: c.workers}).
		Named(name).
		Complete(&floorReconciler{Client: mgr.GetClient()})
	if err != nil {
		return nil, err
	}
	done, stopped := make(chan error, 1), make(chan struct{})
	go func() {
		err := mgr.Start(ctx)
		close(stopped)
		done <- err
	}()
	if err := waitReady(ctx, mgr, name, stopped); err != nil {
		return nil, err
	}
	return done, nil
}

// floorReconciler patches each new request's status to InProgress, nothing else.
type floorReconciler struct {
	client.Client
}

func (r *floorReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	br := &backupv1alpha1.BackupRequest{}
	if err := r.Get(ctx, req.NamespacedName, br); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if br.Status.Phase != "" {
		return ctrl.Result{}, nil
	}
	original := br.DeepCopy()
	now := metav1.Now()
	br.Status.Phase = backupv1alpha1.PhaseInProgress
	br.Status.StartTime = &now
	br.Status.ObservedGeneration = br.Generation
	return ctrl.Result{}, client.IgnoreNotFound(r.Status().Patch(ctx, br, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})))
}

// printComparison prints creation -> InProgress as the watch saw it, for the floor
// and ours side by side, over the same requests: those ours finds a free slot for
// (the first of each project; the others wait by design), created at the same
// place in the same burst. Below, the same split in two at the moment the
// controller's cache saw the request (quantiles of each part; they do not add up).
func printComparison(floor *floorResult, ours *recorder) {
	f, _ := floor.rec.watched()
	o, _ := ours.watched()
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	ratio := func(a, b time.Duration) string {
		if b <= 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f×", float64(a)/float64(b))
	}
	row := func(name string, d []time.Duration) {
		fmt.Printf("  %-40s %10s %10s %10s\n", name, ms(pct(d, 0.5)), ms(pct(d, 0.99)), ms(pct(d, 1)))
	}
	fmt.Printf("bench-reconcile floor vs ours: requests with a free slot (floor n=%d, ours n=%d)\n", len(f), len(o))
	fmt.Printf("  %-40s %10s %10s %10s\n", "creation -> InProgress seen by the watch", "p50", "p99", "max")
	row("floor", f)
	row("ours", o)
	fmt.Printf("  %-40s %10s %10s %10s\n", "ours / floor", ratio(pct(o, 0.5), pct(f, 0.5)), ratio(pct(o, 0.99), pct(f, 0.99)), ratio(pct(o, 1), pct(f, 1)))
	fmt.Println("  split where the controller's cache sees the request:")
	row("  creation -> cache, floor", floor.rec.controllerLag())
	row("  creation -> cache, ours", ours.controllerLag())
	row("  cache -> InProgress seen, floor", floor.rec.afterCache())
	row("  cache -> InProgress seen, ours", ours.afterCache())
	limit := min(time.Duration(goalRatio*float64(pct(f, 0.99))), goalCeiling)
	verdict := "met"
	if pct(o, 0.99) > limit {
		verdict = "NOT met"
	}
	fmt.Printf("  goal: ours p99 <= min(%.2f × floor p99, %s) = %s: %s (ours p99 %s)\n", goalRatio, ms(goalCeiling), ms(limit), verdict, ms(pct(o, 0.99)))
}
