package setup

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/controller"
	"github.com/liferay/lc2-backup-controller/internal/database"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	awsprovider "github.com/liferay/lc2-backup-controller/internal/provider/aws"
	azureprovider "github.com/liferay/lc2-backup-controller/internal/provider/azure"
	gcpprovider "github.com/liferay/lc2-backup-controller/internal/provider/gcp"
	localprovider "github.com/liferay/lc2-backup-controller/internal/provider/local"
)

// Config is everything the manager is configured with. LoadConfig reads it from flags,
// each defaulting to its environment variable: the one place the process reads its
// environment. Tests and benchmarks fill it directly.
type Config struct {
	// MetricsAddr, ProbeAddr, SecureMetrics and EnableHTTP2 configure the manager's servers.
	MetricsAddr, ProbeAddr     string
	SecureMetrics, EnableHTTP2 bool
	// LeaderElect runs only one active replica.
	LeaderElect bool
	// KubeAPIQPS and KubeAPIBurst bound the client's requests to the Kubernetes API.
	KubeAPIQPS, KubeAPIBurst int
	// Providers are the stores this controller serves (PROVIDERS): each is built at
	// start, and a spec naming another one fails with ProviderNotSupported.
	Providers []string
	// AWS configures the AWS provider (S3 and RDS).
	AWS awsprovider.Options
	// GCP configures the Cloud Storage provider.
	GCP gcpprovider.Options
	// Azure configures the Blob Storage provider.
	Azure azureprovider.Options
	// Local configures the on-premises provider: an S3-compatible store of its own.
	Local localprovider.Options
	// Controller tunes the BackupRequest controller.
	Controller controller.Options
	// ScheduleResync bounds how long a BackupSchedule waits before its due slots are
	// checked again, whatever its next slot (SCHEDULE_RESYNC).
	ScheduleResync time.Duration
	// Archival is the backup history database; nil when archival is off.
	Archival *database.Config
	// Dumper configures where and how database dumps run.
	Dumper DumperConfig
}

// DumperConfig configures the dumper (cmd/lc2-dump) of type: dump backups.
type DumperConfig struct {
	// Runner is DumpRunnerJob (a Kubernetes Job per dump) or DumpRunnerProcess (the
	// manager's own child process: the local environment and envtest, which has no kubelet).
	Runner string
	// Image is the dumper image of the Job runner.
	Image string
	// ServiceAccount is the account dump Jobs run as in the backup's namespace (their
	// cloud identity for the store); empty: the namespace's default.
	ServiceAccount string
	// Command is the dumper's executable for the process runner (PATH is searched).
	Command string
}

// Values of DumperConfig.Runner.
const (
	DumpRunnerJob     = "job"
	DumpRunnerProcess = "process"
)

// LoadConfig parses args (without the program name) into a Config, each flag
// defaulting to its environment variable, and returns the logging options too.
func LoadConfig(args []string) (*Config, *zap.Options, error) {
	c := &Config{}
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	var errs []error
	fs.StringVar(&c.MetricsAddr, "metrics-bind-address", envString("METRICS_BIND_ADDRESS", "0"),
		"Address the metrics endpoint binds to: :8443 for HTTPS, :8080 for HTTP, 0 to disable.")
	fs.StringVar(&c.ProbeAddr, "health-probe-bind-address", envString("HEALTH_PROBE_BIND_ADDRESS", ":8081"), "Address the probe endpoint binds to.")
	fs.BoolVar(&c.LeaderElect, "leader-elect", envBool("LEADER_ELECT", false, &errs),
		"Enable leader election, so only one replica of the controller is active.")
	fs.BoolVar(&c.SecureMetrics, "metrics-secure", envBool("METRICS_SECURE", true, &errs),
		"Serve metrics over HTTPS with authentication and authorization; false serves plain HTTP.")
	fs.BoolVar(&c.EnableHTTP2, "enable-http2", false, "Enable HTTP/2 for the metrics server (off: HTTP/2 Stream Cancellation and Rapid Reset CVEs).")
	fs.StringVar(&c.AWS.Region, "aws-region", envString("AWS_REGION", os.Getenv("AWS_DEFAULT_REGION")), "AWS region (AWS_REGION, AWS_DEFAULT_REGION).")
	fs.StringVar(&c.AWS.Endpoint, "aws-endpoint-url", envString("AWS_ENDPOINT_URL", ""), "AWS endpoint override, for emulators (AWS_ENDPOINT_URL).")
	providers := envString("PROVIDERS", string(backupv1alpha1.ProviderAWS))
	fs.StringVar(&providers, "providers", providers,
		"Comma-separated stores this controller serves (PROVIDERS): aws, gcp, azure, local. Each is configured at start; a spec naming another one is refused.")
	fs.StringVar(&c.GCP.Endpoint, "gcs-endpoint", envString("GCS_ENDPOINT", ""),
		"Cloud Storage emulator URL, for fake-gcs-server only (GCS_ENDPOINT; STORAGE_EMULATOR_HOST works too). Empty in production: Application Default Credentials.")
	fs.StringVar(&c.Azure.AccountURL, "azure-storage-account-url", envString(azureprovider.EnvAccountURL, ""),
		"Blob endpoint of the Azure storage account, https://<account>.blob.core.windows.net ("+azureprovider.EnvAccountURL+").")
	fs.StringVar(&c.Azure.AccountName, "azure-storage-account", envString(azureprovider.EnvAccountName, ""),
		"Storage account name for shared-key authentication ("+azureprovider.EnvAccountName+"; the key only from "+azureprovider.EnvAccountKey+"). Empty: DefaultAzureCredential (workload identity).")
	// A key is a secret: it comes from the environment (a Secret), never a flag.
	c.Azure.AccountKey = os.Getenv(azureprovider.EnvAccountKey)
	fs.StringVar(&c.Local.Endpoint, "local-s3-endpoint", envString(provider.EnvLocalS3Endpoint, ""),
		"S3 endpoint of the local provider's store: versitygw, MinIO, Ceph RGW ("+provider.EnvLocalS3Endpoint+").")
	fs.StringVar(&c.Local.Region, "local-s3-region", envString(provider.EnvLocalS3Region, ""),
		"Region the local store answers to ("+provider.EnvLocalS3Region+"); empty: "+localprovider.DefaultRegion+".")
	c.Local.AccessKeyID, c.Local.SecretAccessKey = os.Getenv(provider.EnvLocalS3AccessKeyID), os.Getenv(provider.EnvLocalS3SecretAccessKey)

	o := &c.Controller
	fs.IntVar(&o.MaxConcurrentBackupsPerProject, "max-concurrent-backups-per-project",
		envInt("MAX_CONCURRENT_BACKUPS_PER_PROJECT", controller.DefaultMaxConcurrentBackupsPerProject, &errs),
		"BackupRequests of one project that may run at once (MAX_CONCURRENT_BACKUPS_PER_PROJECT).")
	retention := envInt("BACKUP_RETENTION_DAYS", controller.DefaultRetentionDays, &errs)
	fs.IntVar(&retention, "backup-retention-days", retention, "Retention of backups without spec.retentionDays (BACKUP_RETENTION_DAYS).")
	fs.StringVar(&o.ProjectLabelKey, "project-label-key", envString("PROJECT_LABEL_KEY", controller.DefaultProjectLabelKey),
		"Namespace label naming the project a namespace belongs to (PROJECT_LABEL_KEY).")
	fs.DurationVar(&o.BackupDeadline, "backup-deadline", envDuration("BACKUP_DEADLINE", controller.DefaultBackupDeadline, &errs),
		"Fail a backup still running this long after it started (BACKUP_DEADLINE).")
	fs.DurationVar(&o.SnapshotPollInitial, "snapshot-poll-initial", envDuration("SNAPSHOT_POLL_INITIAL", controller.DefaultSnapshotPollInitial, &errs),
		"Wait before the first snapshot status check (SNAPSHOT_POLL_INITIAL).")
	fs.DurationVar(&o.SnapshotPollMax, "snapshot-poll-max", envDuration("SNAPSHOT_POLL_MAX", controller.DefaultSnapshotPollMax, &errs),
		"Longest wait between snapshot status checks (SNAPSHOT_POLL_MAX).")
	fs.DurationVar(&o.QuotaRetryInitial, "quota-retry-initial", envDuration("QUOTA_RETRY_INITIAL", controller.DefaultQuotaRetryInitial, &errs),
		"Wait of a backup the cloud refused for an account quota before it tries again; it doubles at each refusal (QUOTA_RETRY_INITIAL).")
	fs.DurationVar(&o.QuotaRetryMax, "quota-retry-max", envDuration("QUOTA_RETRY_MAX", controller.DefaultQuotaRetryMax, &errs),
		"Longest wait between the attempts of a backup refused for an account quota (QUOTA_RETRY_MAX).")
	fs.DurationVar(&o.ProgressInterval, "progress-interval", envDuration("PROGRESS_INTERVAL", controller.DefaultProgressInterval, &errs),
		"How often copy progress is written to status (PROGRESS_INTERVAL).")
	fs.StringVar(&o.ManifestBucket, "manifest-bucket", envString("MANIFEST_BUCKET", ""),
		"Bucket for the manifests of database-only backups (MANIFEST_BUCKET); empty: none.")
	fs.IntVar(&o.CopyConcurrency, "copy-concurrency", envInt("COPY_CONCURRENCY", 0, &errs),
		"Ceiling of a copy's requests in flight; each copy finds its own working concurrency below it (COPY_CONCURRENCY); 0: the provider's 512.")
	fs.Float64Var(&c.AWS.CopyRequestsPerSecond, "copy-requests-per-second", envFloat("COPY_REQUESTS_PER_SECOND", 0, &errs),
		"Cap on the copy requests per second of all backups of this controller together, retries included, so a big backup cannot starve S3 for the live sites (COPY_REQUESTS_PER_SECOND); 0: no cap.")
	multipart := envInt("MULTIPART_THRESHOLD_BYTES", 0, &errs)
	fs.IntVar(&multipart, "multipart-threshold-bytes", multipart, "Objects larger than this are copied in parts (MULTIPART_THRESHOLD_BYTES); 0: 5 GiB.")
	fs.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", envInt("MAX_CONCURRENT_RECONCILES", controller.DefaultMaxConcurrentReconciles, &errs),
		"Reconcile workers (MAX_CONCURRENT_RECONCILES).")

	fs.IntVar(&c.KubeAPIQPS, "kube-api-qps", envInt("KUBE_API_QPS", 50, &errs),
		"Requests per second to the Kubernetes API, sustained (KUBE_API_QPS). Each backup takes about 17 API requests.")
	fs.IntVar(&c.KubeAPIBurst, "kube-api-burst", envInt("KUBE_API_BURST", 100, &errs), "Requests to the Kubernetes API in a burst (KUBE_API_BURST).")

	fs.IntVar(&o.RetentionMinKept, "retention-min-kept", envInt("RETENTION_MIN_KEPT", controller.DefaultRetentionMinKept, &errs),
		"Newest successful backups of a project environment that expiry never removes (RETENTION_MIN_KEPT).")
	fs.BoolVar(&o.DeleteExpired, "delete-expired-backuprequests", envBool("DELETE_EXPIRED_BACKUPREQUESTS", false, &errs),
		"Delete expired BackupRequests instead of keeping them in phase Expired (DELETE_EXPIRED_BACKUPREQUESTS).")
	fs.StringVar(&o.ResourceOwnership, "resource-ownership", envString("RESOURCE_OWNERSHIP", controller.OwnershipTags),
		"How a spec's database instance and buckets are checked to belong to its project (RESOURCE_OWNERSHIP): tags (their ownership tag must name the project) or none (single-tenant installs).")
	fs.StringVar(&o.OwnershipTagKey, "ownership-tag-key", envString("OWNERSHIP_TAG_KEY", backupv1alpha1.OwnershipTagKey),
		"Cloud tag naming the project a database instance or bucket belongs to (OWNERSHIP_TAG_KEY).")

	fs.DurationVar(&c.ScheduleResync, "schedule-resync", envDuration("SCHEDULE_RESYNC", controller.DefaultScheduleResync, &errs),
		"Longest a BackupSchedule waits before checking its due slots again, whatever its next slot, so a clock jump delays a run by at most this (SCHEDULE_RESYNC).")

	d := &c.Dumper
	fs.StringVar(&d.Runner, "dump-runner", envString("DUMP_RUNNER", DumpRunnerJob),
		"Where database dumps run (DUMP_RUNNER): job (a Kubernetes Job per dump) or process (a child process of the manager, for the local environment).")
	fs.StringVar(&d.Image, "dumper-image", envString("DUMPER_IMAGE", ""),
		"Image of dump Jobs (DUMPER_IMAGE): the Dockerfile's dumper target.")
	fs.StringVar(&d.ServiceAccount, "dumper-service-account", envString("DUMPER_SERVICE_ACCOUNT", ""),
		"Service account dump Jobs run as in the backup's namespace, their identity for the backup store (DUMPER_SERVICE_ACCOUNT); empty: the namespace's default.")
	fs.StringVar(&d.Command, "dumper-command", envString("DUMPER_COMMAND", "lc2-dump"),
		"The dumper executable the process runner starts (DUMPER_COMMAND).")
	instanceEndpoints := fs.String("dump-instance-endpoints", envString("DUMP_INSTANCE_ENDPOINTS", ""),
		"Local environments and tests only (DUMP_INSTANCE_ENDPOINTS): pattern=host:port,... maps throw-away dump instances (a path.Match pattern of the instance identifier, e.g. lc2-dump-*) to a local server, since an emulator's RDS instance has no database behind it; empty in production.")
	fs.DurationVar(&o.DumpPollInterval, "dump-poll-interval", envDuration("DUMP_POLL_INTERVAL", controller.DefaultDumpPollInterval, &errs),
		"Longest a running dump waits before its run is looked at again; its end wakes it at once (DUMP_POLL_INTERVAL).")

	// The Downward API sets it in the Deployment; repository locks live there.
	o.LockNamespace = envString("POD_NAMESPACE", controller.DefaultLockNamespace)

	archival := envBool(EnvEnableArchival, true, &errs)
	zapOpts := &zap.Options{Development: false}
	zapOpts.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	var err error
	o.DefaultRetentionDays = int32(retention)
	if c.Providers, err = parseProviders(providers); err != nil {
		return nil, nil, err
	}
	c.Local.S3.CopyRequestsPerSecond = c.AWS.CopyRequestsPerSecond
	if o.DumpInstanceEndpoints, err = parseInstanceEndpoints(*instanceEndpoints); err != nil {
		return nil, nil, err
	}
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
	if c.KubeAPIQPS < 1 || c.KubeAPIBurst < c.KubeAPIQPS {
		return nil, nil, fmt.Errorf("kube-api-qps must be at least 1 and kube-api-burst at least kube-api-qps, got %d and %d", c.KubeAPIQPS, c.KubeAPIBurst)
	}
	if d.Runner != DumpRunnerJob && d.Runner != DumpRunnerProcess {
		return nil, nil, fmt.Errorf("--dump-runner must be %q or %q, got %q", DumpRunnerJob, DumpRunnerProcess, d.Runner)
	}
	if o.MaxConcurrentBackupsPerProject < 1 {
		return nil, nil, fmt.Errorf("max concurrent backups per project must be at least 1, got %d", o.MaxConcurrentBackupsPerProject)
	}
	if archival {
		db, err := database.ConfigFromEnv()
		if err != nil {
			return nil, nil, fmt.Errorf("backup history database: %w", err)
		}
		c.Archival = &db
	}
	return c, zapOpts, nil
}

// parseProviders reads the comma-separated provider list, refusing an unknown name,
// a repeat and an empty list.
func parseProviders(list string) ([]string, error) {
	known := map[string]bool{}
	for _, p := range []backupv1alpha1.CloudProvider{backupv1alpha1.ProviderAWS, backupv1alpha1.ProviderGCP, backupv1alpha1.ProviderAzure, backupv1alpha1.ProviderLocal} {
		known[string(p)] = true
	}
	var names []string
	seen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			continue
		case !known[name]:
			return nil, fmt.Errorf("--providers: unknown provider %q (known: aws, gcp, azure, local)", name)
		case seen[name]:
			return nil, fmt.Errorf("--providers: %q is listed twice", name)
		}
		seen[name] = true
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("--providers: name at least one of aws, gcp, azure, local")
	}
	return names, nil
}

// EnvEnableArchival switches archival on or off (default on).
const EnvEnableArchival = "ENABLE_ARCHIVAL"

// parseInstanceEndpoints reads --dump-instance-endpoints: pattern=host:port pairs,
// comma-separated.
func parseInstanceEndpoints(value string) (map[string]string, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, pair := range strings.Split(value, ",") {
		pattern, endpoint, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if _, matchErr := path.Match(pattern, ""); !ok || matchErr != nil || pattern == "" {
			return nil, fmt.Errorf("--dump-instance-endpoints: %q is not pattern=host:port (pattern: a path.Match pattern of instance identifiers)", pair)
		}
		if _, port, err := net.SplitHostPort(endpoint); err != nil || port == "" {
			return nil, fmt.Errorf("--dump-instance-endpoints: %q: %q is not host:port", pair, endpoint)
		}
		out[pattern] = endpoint
	}
	return out, nil
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

func envFloat(key string, def float64, errs *[]error) float64 {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		*errs = append(*errs, fmt.Errorf("%s=%q is not a non-negative number", key, v))
		return def
	}
	return f
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
