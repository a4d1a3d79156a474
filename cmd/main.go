// Command manager runs the LC2 Backup Controller.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/archiver"
	"github.com/liferay/lc2-backup-controller/internal/controller"
	"github.com/liferay/lc2-backup-controller/internal/metrics"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	awsprovider "github.com/liferay/lc2-backup-controller/internal/provider/aws"
)

var (
	scheme   = runtime.NewScheme()
	setupLog = ctrl.Log.WithName("setup")
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(backupv1alpha1.AddToScheme(scheme))
}

// config is everything main reads from flags, each defaulting to its environment variable.
type config struct {
	metricsAddr, probeAddr   string
	secureMetrics, enableH2  bool
	leaderElect              bool
	awsRegion, awsEndpoint   string
	kubeAPIQPS, kubeAPIBurst int
	controller               controller.Options
}

func parseConfig() (*config, *zap.Options, error) {
	c := &config{}
	var errs []error
	flag.StringVar(&c.metricsAddr, "metrics-bind-address", envString("METRICS_BIND_ADDRESS", "0"),
		"Address the metrics endpoint binds to: :8443 for HTTPS, :8080 for HTTP, 0 to disable.")
	flag.StringVar(&c.probeAddr, "health-probe-bind-address", envString("HEALTH_PROBE_BIND_ADDRESS", ":8081"), "Address the probe endpoint binds to.")
	flag.BoolVar(&c.leaderElect, "leader-elect", envBool("LEADER_ELECT", false, &errs),
		"Enable leader election, so only one replica of the controller is active.")
	flag.BoolVar(&c.secureMetrics, "metrics-secure", envBool("METRICS_SECURE", true, &errs),
		"Serve metrics over HTTPS with authentication and authorization; false serves plain HTTP.")
	flag.BoolVar(&c.enableH2, "enable-http2", false, "Enable HTTP/2 for the metrics server (off: HTTP/2 Stream Cancellation and Rapid Reset CVEs).")
	flag.StringVar(&c.awsRegion, "aws-region", envString("AWS_REGION", os.Getenv("AWS_DEFAULT_REGION")), "AWS region (AWS_REGION, AWS_DEFAULT_REGION).")
	flag.StringVar(&c.awsEndpoint, "aws-endpoint-url", envString("AWS_ENDPOINT_URL", ""), "AWS endpoint override, for emulators (AWS_ENDPOINT_URL).")

	o := &c.controller
	flag.IntVar(&o.MaxConcurrentBackupsPerProject, "max-concurrent-backups-per-project",
		envInt("MAX_CONCURRENT_BACKUPS_PER_PROJECT", controller.DefaultMaxConcurrentBackupsPerProject, &errs),
		"BackupRequests of one project that may run at once (MAX_CONCURRENT_BACKUPS_PER_PROJECT).")
	retention := envInt("BACKUP_RETENTION_DAYS", controller.DefaultRetentionDays, &errs)
	flag.IntVar(&retention, "backup-retention-days", retention, "Retention of backups without spec.retentionDays (BACKUP_RETENTION_DAYS).")
	flag.StringVar(&o.ProjectLabelKey, "project-label-key", envString("PROJECT_LABEL_KEY", controller.DefaultProjectLabelKey),
		"Namespace label naming the project a namespace belongs to (PROJECT_LABEL_KEY).")
	flag.DurationVar(&o.BackupDeadline, "backup-deadline", envDuration("BACKUP_DEADLINE", controller.DefaultBackupDeadline, &errs),
		"Fail a backup still running this long after it started (BACKUP_DEADLINE).")
	flag.DurationVar(&o.SnapshotPollInitial, "snapshot-poll-initial", envDuration("SNAPSHOT_POLL_INITIAL", controller.DefaultSnapshotPollInitial, &errs),
		"Wait before the first snapshot status check (SNAPSHOT_POLL_INITIAL).")
	flag.DurationVar(&o.SnapshotPollMax, "snapshot-poll-max", envDuration("SNAPSHOT_POLL_MAX", controller.DefaultSnapshotPollMax, &errs),
		"Longest wait between snapshot status checks (SNAPSHOT_POLL_MAX).")
	flag.DurationVar(&o.ProgressInterval, "progress-interval", envDuration("PROGRESS_INTERVAL", controller.DefaultProgressInterval, &errs),
		"How often copy progress is written to status (PROGRESS_INTERVAL).")
	flag.StringVar(&o.ManifestBucket, "manifest-bucket", envString("MANIFEST_BUCKET", ""),
		"Bucket for the manifests of database-only backups (MANIFEST_BUCKET); empty: none.")
	flag.IntVar(&o.CopyConcurrency, "copy-concurrency", envInt("COPY_CONCURRENCY", 0, &errs), "Objects copied at once per backup (COPY_CONCURRENCY); 0: provider default.")
	multipart := envInt("MULTIPART_THRESHOLD_BYTES", 0, &errs)
	flag.IntVar(&multipart, "multipart-threshold-bytes", multipart, "Objects larger than this are copied in parts (MULTIPART_THRESHOLD_BYTES); 0: 5 GiB.")
	flag.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", envInt("MAX_CONCURRENT_RECONCILES", controller.DefaultMaxConcurrentReconciles, &errs),
		"Reconcile workers (MAX_CONCURRENT_RECONCILES).")

	flag.IntVar(&c.kubeAPIQPS, "kube-api-qps", envInt("KUBE_API_QPS", 50, &errs),
		"Requests per second to the Kubernetes API, sustained (KUBE_API_QPS). Each backup takes about 17 API requests.")
	flag.IntVar(&c.kubeAPIBurst, "kube-api-burst", envInt("KUBE_API_BURST", 100, &errs), "Requests to the Kubernetes API in a burst (KUBE_API_BURST).")

	flag.IntVar(&o.RetentionMinKept, "retention-min-kept", envInt("RETENTION_MIN_KEPT", controller.DefaultRetentionMinKept, &errs),
		"Newest successful backups of a project environment that expiry never removes (RETENTION_MIN_KEPT).")
	flag.BoolVar(&o.DeleteExpired, "delete-expired-backuprequests", envBool("DELETE_EXPIRED_BACKUPREQUESTS", false, &errs),
		"Delete expired BackupRequests instead of keeping them in phase Expired (DELETE_EXPIRED_BACKUPREQUESTS).")
	flag.StringVar(&o.ResourceOwnership, "resource-ownership", envString("RESOURCE_OWNERSHIP", controller.OwnershipTags),
		"How a spec's database instance and buckets are checked to belong to its project (RESOURCE_OWNERSHIP): tags (their ownership tag must name the project) or none (single-tenant installs).")
	flag.StringVar(&o.OwnershipTagKey, "ownership-tag-key", envString("OWNERSHIP_TAG_KEY", backupv1alpha1.OwnershipTagKey),
		"Cloud tag naming the project a database instance or bucket belongs to (OWNERSHIP_TAG_KEY).")

	zapOpts := &zap.Options{Development: false}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	o.DefaultRetentionDays = int32(retention)
	o.MultipartThreshold = int64(multipart)

	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("invalid environment: %v", errs)
	}
	if o.ResourceOwnership != controller.OwnershipTags && o.ResourceOwnership != controller.OwnershipNone {
		return nil, nil, fmt.Errorf("--resource-ownership must be %q or %q, got %q", controller.OwnershipTags, controller.OwnershipNone, o.ResourceOwnership)
	}
	if retention < 7 || retention > 365 {
		return nil, nil, fmt.Errorf("backup retention days must be between 7 and 365, got %d", retention)
	}
	if c.kubeAPIQPS < 1 || c.kubeAPIBurst < c.kubeAPIQPS {
		return nil, nil, fmt.Errorf("kube-api-qps must be at least 1 and kube-api-burst at least kube-api-qps, got %d and %d", c.kubeAPIQPS, c.kubeAPIBurst)
	}
	if o.MaxConcurrentBackupsPerProject < 1 {
		return nil, nil, fmt.Errorf("max concurrent backups per project must be at least 1, got %d", o.MaxConcurrentBackupsPerProject)
	}
	return c, zapOpts, nil
}

func main() {
	cfg, zapOpts, err := parseConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(zapOpts)))
	if err := run(ctrl.SetupSignalHandler(), cfg); err != nil {
		setupLog.Error(err, "controller stopped")
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg *config) error {
	var tlsOpts []func(*tls.Config)
	if !cfg.enableH2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: cfg.metricsAddr, SecureServing: cfg.secureMetrics, TLSOpts: tlsOpts}
	if cfg.secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	restConfig := ctrl.GetConfigOrDie()
	restConfig.QPS, restConfig.Burst = float32(cfg.kubeAPIQPS), cfg.kubeAPIBurst
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme: scheme,
		// managedFields are never read here; dropping them keeps the cache small.
		Cache:                  cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
		Metrics:                metricsOpts,
		HealthProbeBindAddress: cfg.probeAddr,
		LeaderElection:         cfg.leaderElect,
		LeaderElectionID:       "lc2-backup-controller.backup.liferay.cloud",
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}

	aws, err := awsprovider.New(ctx, awsprovider.Options{Region: cfg.awsRegion, Endpoint: cfg.awsEndpoint})
	if err != nil {
		return fmt.Errorf("configure aws provider: %w", err)
	}
	providers := provider.NewRegistry()
	providers.Register(string(backupv1alpha1.ProviderAWS), aws)

	recorder, err := metrics.New(crmetrics.Registry)
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	if err := crmetrics.Registry.Register(metrics.NewStateCollector(mgr.GetClient())); err != nil {
		return fmt.Errorf("register state metrics: %w", err)
	}
	arch, err := archiver.Setup(mgr, nil)
	if err != nil {
		return fmt.Errorf("set up archival: %w", err)
	}

	reconciler := &controller.BackupRequestReconciler{
		Client:    mgr.GetClient(),
		Recorder:  mgr.GetEventRecorder("backuprequest-controller"),
		Providers: providers,
		Options:   cfg.controller,
		Metrics:   recorder,
	}
	if arch != nil {
		reconciler.Archiver = arch
	}
	if err := reconciler.SetupWithManager(ctx, mgr); err != nil {
		return fmt.Errorf("set up backuprequest controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add ready check: %w", err)
	}
	setupLog.Info("starting manager", "maxConcurrentBackupsPerProject", cfg.controller.MaxConcurrentBackupsPerProject,
		"archival", arch != nil, "leaderElection", cfg.leaderElect)
	return mgr.Start(ctx)
}

func envString(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func envInt(key string, def int, errs *[]error) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q is not an integer", key, v))
		return def
	}
	return n
}

func envBool(key string, def bool, errs *[]error) bool {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q is not a boolean", key, v))
		return def
	}
	return b
}

func envDuration(key string, def time.Duration, errs *[]error) time.Duration {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q is not a duration (for example 15s, 2m)", key, v))
		return def
	}
	return d
}
