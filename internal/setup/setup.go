// Package setup builds the manager the way every caller runs it: the binary
// (cmd/main.go), the integration suite and the reconcile benchmark. ManagerOptions
// gives the manager's options and Setup wires the BackupRequest controller, its
// provider registry, metrics, archival and health checks into a manager.
package setup

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/archiver"
	"github.com/liferay/lc2-backup-controller/internal/controller"
	"github.com/liferay/lc2-backup-controller/internal/dumprun"
	"github.com/liferay/lc2-backup-controller/internal/metrics"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	awsprovider "github.com/liferay/lc2-backup-controller/internal/provider/aws"
	azureprovider "github.com/liferay/lc2-backup-controller/internal/provider/azure"
	gcpprovider "github.com/liferay/lc2-backup-controller/internal/provider/gcp"
	localprovider "github.com/liferay/lc2-backup-controller/internal/provider/local"
	"github.com/liferay/lc2-backup-controller/internal/scheme"
)

// Scheme holds the Kubernetes types and the backup.liferay.cloud API.
var Scheme = scheme.Scheme

// LeaderElectionID names the leader-election lease.
const LeaderElectionID = "lc2-backup-controller.backup.liferay.cloud"

// RESTConfig applies cfg's client rate limits to rc.
func RESTConfig(rc *rest.Config, cfg *Config) *rest.Config {
	rc = rest.CopyConfig(rc)
	if cfg.KubeAPIQPS > 0 {
		rc.QPS = float32(cfg.KubeAPIQPS)
	}
	if cfg.KubeAPIBurst > 0 {
		rc.Burst = cfg.KubeAPIBurst
	}
	return rc
}

// ManagerOptions are the manager's options for cfg.
func ManagerOptions(cfg *Config) ctrl.Options {
	var tlsOpts []func(*tls.Config)
	if !cfg.EnableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: cfg.MetricsAddr, SecureServing: cfg.SecureMetrics, TLSOpts: tlsOpts}
	if cfg.SecureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	probe := cfg.ProbeAddr
	if probe == "" {
		probe = "0"
	}
	return ctrl.Options{
		Scheme: Scheme,
		// managedFields are never read here; dropping them keeps the cache small. Of
		// the cluster's Jobs, only the dump Jobs this controller made are cached.
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields(), ByObject: map[client.Object]cache.ByObject{
			&batchv1.Job{}: {Label: labels.SelectorFromSet(labels.Set{dumprun.LabelManagedBy: dumprun.ManagedBy})},
		}},
		Metrics:                metricsOpts,
		HealthProbeBindAddress: probe,
		LeaderElection:         cfg.LeaderElect,
		LeaderElectionID:       LeaderElectionID,
	}
}

// Deps are what a caller may supply instead of what Setup builds from Config.
type Deps struct {
	// Providers, if set, replaces the AWS provider built from Config.AWS.
	Providers *provider.Registry
	// Clock, if set, replaces the real clock (tests move it to expire backups).
	Clock clock.PassiveClock
	// Registerer receives the metrics; nil means controller-runtime's registry, which
	// the manager serves. Metrics are registered once per registerer: a second Setup
	// on the same registerer (a restarted controller in a test) reuses them.
	Registerer prometheus.Registerer
	// StateReader, if set, is what the gauges read BackupRequests through instead of
	// the manager's cache (a test restarting controllers passes a plain client, which
	// outlives each manager).
	StateReader client.Reader
	// Dumps, if set, replaces the dump runner built from Config.Dumper.
	Dumps dumprun.Runner
}

// Setup wires the BackupRequest and BackupSchedule controllers, the providers,
// metrics, archival and the health checks into mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, cfg *Config, deps Deps) (*controller.BackupRequestReconciler, error) {
	providers := deps.Providers
	if providers == nil {
		var err error
		if providers, err = NewProviders(ctx, cfg); err != nil {
			return nil, err
		}
	}
	registerer := deps.Registerer
	if registerer == nil {
		registerer = crmetrics.Registry
	}
	stateReader := deps.StateReader
	if stateReader == nil {
		stateReader = mgr.GetClient()
	}
	recorder, err := metricsFor(registerer, stateReader)
	if err != nil {
		return nil, err
	}
	clk := deps.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	// Before any controller: each reads indexes of the other's kind.
	if err := controller.RegisterIndexes(ctx, mgr.GetFieldIndexer()); err != nil {
		return nil, fmt.Errorf("register cache indexes: %w", err)
	}
	// Backups and restores share each project's slots: one admission for both controllers.
	slots := controller.NewSlots(cfg.Controller, mgr.GetClient(), clk)
	dumps := deps.Dumps
	if dumps == nil {
		dumps = newDumpRunner(ctx, mgr, cfg, &backupv1alpha1.BackupRequest{})
	}
	cfg.Controller.DumperEnv = append(cfg.Controller.DumperEnv, dumperStoreEnv(cfg)...)
	reconciler := &controller.BackupRequestReconciler{
		Client:    mgr.GetClient(),
		Recorder:  mgr.GetEventRecorder("backuprequest-controller"),
		Providers: providers,
		Options:   cfg.Controller,
		Metrics:   recorder,
		Clock:     clk,
		Slots:     slots,
		Dumps:     dumps,
	}
	restores := &controller.RestoreRequestReconciler{
		Client:    mgr.GetClient(),
		Recorder:  mgr.GetEventRecorder("restorerequest-controller"),
		Providers: providers,
		Options:   cfg.Controller,
		Metrics:   recorder,
		Clock:     clk,
		Slots:     slots,
		// Its own runner: a run's end wakes its owner's controller, and a
		// process runner's wake-ups go to one controller only.
		Dumps: newDumpRunner(ctx, mgr, cfg, &backupv1alpha1.RestoreRequest{}),
	}
	if cfg.Archival != nil {
		arch, err := archiver.Setup(mgr, *cfg.Archival, &archiver.Options{Registerer: registerer})
		if err != nil {
			return nil, fmt.Errorf("set up archival: %w", err)
		}
		reconciler.Archiver = arch
		wireRestoreHistory(restores, arch)
	} else {
		mgr.GetLogger().Info("backup archival disabled", "env", EnvEnableArchival)
	}
	if err := reconciler.SetupWithManager(ctx, mgr); err != nil {
		return nil, fmt.Errorf("set up backuprequest controller: %w", err)
	}
	if err := restores.SetupWithManager(ctx, mgr); err != nil {
		return nil, fmt.Errorf("set up restorerequest controller: %w", err)
	}
	schedules := &controller.BackupScheduleReconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("backupschedule-controller"),
		Clock:    clk,
		Resync:   cfg.ScheduleResync,
		Metrics:  recorder,
	}
	if err := schedules.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("set up backupschedule controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("add ready check: %w", err)
	}
	return reconciler, nil
}

// wireRestoreHistory gives the restore controller the archiver's restore side: the
// history rows of terminal restores and the one-shot lookup. An archiver without it
// (an older build) leaves restores unarchived and without the history check, and says so.
func wireRestoreHistory(restores *controller.RestoreRequestReconciler, arch *archiver.Archiver) {
	restores.Archiver = arch
	restores.History = restoreHistory{arch}
}

// restoreHistory answers the restore controller's one-shot question from the archiver.
type restoreHistory struct{ arch *archiver.Archiver }

func (h restoreHistory) CompletedRestore(ctx context.Context, k controller.RestoreHistoryKey) (*controller.CompletedRestore, error) {
	rec, err := h.arch.CompletedRestore(ctx, archiver.RestoreKey(k.RestoreIdentity, k.ExcludeUID))
	if err != nil || rec == nil {
		return nil, err
	}
	done := &controller.CompletedRestore{Namespace: rec.Namespace, Name: rec.Name, UID: rec.UID}
	if rec.CompletionTime != nil {
		done.CompletedAt = *rec.CompletionTime
	}
	return done, nil
}

// registered keeps the metrics recorder of each registerer: Prometheus refuses a
// second registration of the same metrics.
var (
	registeredMu sync.Mutex
	registered   = map[prometheus.Registerer]*metrics.Recorder{}
)

// metricsFor returns the recorder registered with r, registering it (and the gauges
// computed from the BackupRequests that reader lists) the first time.
func metricsFor(r prometheus.Registerer, reader client.Reader) (*metrics.Recorder, error) {
	registeredMu.Lock()
	defer registeredMu.Unlock()
	if rec, ok := registered[r]; ok {
		return rec, nil
	}
	rec, err := metrics.New(r)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	if err := r.Register(metrics.NewStateCollector(reader)); err != nil {
		return nil, fmt.Errorf("register state metrics: %w", err)
	}
	registered[r] = rec
	return rec, nil
}

// NewProviders builds the stores cfg.Providers names (aws when it names none), each
// from its own options: a store that cannot be configured stops the manager at start,
// naming the setting, instead of failing every backup later.
func NewProviders(ctx context.Context, cfg *Config) (*provider.Registry, error) {
	names := cfg.Providers
	if len(names) == 0 {
		names = []string{string(backupv1alpha1.ProviderAWS)}
	}
	registry := provider.NewRegistry()
	for _, name := range names {
		p, err := newProvider(ctx, cfg, backupv1alpha1.CloudProvider(name))
		if err != nil {
			return nil, fmt.Errorf("configure %s provider: %w", name, err)
		}
		registry.Register(name, p)
	}
	return registry, nil
}

func newProvider(ctx context.Context, cfg *Config, name backupv1alpha1.CloudProvider) (provider.Provider, error) {
	switch name {
	case backupv1alpha1.ProviderAWS:
		return awsprovider.New(ctx, cfg.AWS)
	case backupv1alpha1.ProviderGCP:
		return gcpprovider.New(ctx, cfg.GCP)
	case backupv1alpha1.ProviderAzure:
		return azureprovider.New(cfg.Azure)
	case backupv1alpha1.ProviderLocal:
		return localprovider.New(ctx, cfg.Local)
	}
	return nil, fmt.Errorf("unknown provider %q", name)
}

// newDumpRunner is the dump runner cfg asks for, for runs owned by objects of owner's
// kind: a Job per run, or the manager's child process.
func newDumpRunner(ctx context.Context, mgr ctrl.Manager, cfg *Config, owner client.Object) dumprun.Runner {
	if cfg.Dumper.Runner == DumpRunnerProcess {
		return &dumprun.ProcessRunner{Reader: mgr.GetAPIReader(), Command: strings.Fields(cfg.Dumper.Command),
			Log: mgr.GetLogger().WithName("dumper"), Context: ctx}
	}
	return &dumprun.JobRunner{
		Client: mgr.GetClient(), Scheme: mgr.GetScheme(), Cache: mgr.GetCache(), OwnerType: owner,
		Image: cfg.Dumper.Image, ServiceAccountName: cfg.Dumper.ServiceAccount,
	}
}

// dumperStoreEnv is the store configuration the dumper needs as the manager has it:
// a child process inherits the manager's environment, but flags are not in it, and a
// Job's pod has neither.
func dumperStoreEnv(cfg *Config) []corev1.EnvVar {
	var env []corev1.EnvVar
	if cfg.AWS.Region != "" {
		env = append(env, corev1.EnvVar{Name: "AWS_REGION", Value: cfg.AWS.Region})
	}
	if cfg.AWS.Endpoint != "" {
		env = append(env, corev1.EnvVar{Name: "AWS_ENDPOINT_URL", Value: cfg.AWS.Endpoint})
	}
	// The local store's keys are not copied: a Job takes them from the dumper's
	// service account or its own Secret, never from a plain value.
	for _, v := range [][2]string{
		{provider.EnvLocalS3Endpoint, cfg.Local.Endpoint}, {provider.EnvLocalS3Region, cfg.Local.Region},
		{azureprovider.EnvAccountURL, cfg.Azure.AccountURL}, {azureprovider.EnvAccountName, cfg.Azure.AccountName},
	} {
		if v[1] != "" {
			env = append(env, corev1.EnvVar{Name: v[0], Value: v[1]})
		}
	}
	return env
}
