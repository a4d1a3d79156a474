// Package integration runs the BackupRequest controller in a manager against a real
// API server (envtest) and the moto AWS emulator, through the real AWS provider.
package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/controller"
	"github.com/liferay/lc2-backup-controller/internal/metrics"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	awsprovider "github.com/liferay/lc2-backup-controller/internal/provider/aws"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

var (
	suiteCtx  context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.WithWatch
	scheme    = runtime.NewScheme()
	moto      *harness.Moto
	cloud     *fixtures.AWS
	// recorder and the state collector are registered once in controller-runtime's
	// registry, as the manager binary does, and shared by every controller a test starts.
	recorder *metrics.Recorder
	// testClock is every controller's clock; a test moves it forward to expire backups.
	testClock = &offsetClock{}
	// slowProxy sits between the controller and moto; its delay slows copies down
	// so a test can stop the controller in the middle of one.
	slowProxy *harness.DelayProxy
)

func TestIntegration(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller integration suite (envtest + moto)")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	suiteCtx, cancel = context.WithCancel(context.Background())
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(backupv1alpha1.AddToScheme(scheme)).To(Succeed())
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(), "run through `make test`, which builds the envtest assets")

	var err error
	moto, err = harness.StartMoto(suiteCtx)
	Expect(err).NotTo(HaveOccurred())
	recorder, err = metrics.New(crmetrics.Registry)
	Expect(err).NotTo(HaveOccurred())
	moto.SetAWSEnv()
	slowProxy, err = harness.NewDelayProxy(moto.Endpoint)
	Expect(err).NotTo(HaveOccurred())
	cloud = fixtures.NewAWS(suiteCtx, moto.Endpoint)

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	// The gauges read through whichever controller's cache is current; a plain client
	// gives the same answers and outlives controller restarts.
	Expect(crmetrics.Registry.Register(metrics.NewStateCollector(k8sClient))).To(Succeed())
})

var _ = AfterSuite(func() {
	By("recomputing every manifest the suite produced outside Go")
	manifests := cloud.BackupManifests()
	Expect(manifests).NotTo(BeEmpty())
	for location, data := range manifests {
		Expect(harness.VerifyManifestInPython(data)).To(Succeed(), location)
	}
	GinkgoWriter.Printf("%d manifests recomputed in Python\n", len(manifests))
	cancel()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
	if slowProxy != nil {
		slowProxy.Close()
	}
	moto.Stop()
})

// runningController is a manager with the BackupRequest controller, as the real
// binary wires it, that a test can stop and start again.
type runningController struct {
	cancel context.CancelFunc
	done   chan struct{}
	// metricsURL serves the manager's /metrics over plain HTTP.
	metricsURL string
}

// controllerOptions are short timings so tests do not wait for production intervals.
func controllerOptions() controller.Options {
	return controller.Options{
		SnapshotPollInitial: 500 * time.Millisecond,
		SnapshotPollMax:     time.Second,
		SlotRetryInitial:    2 * time.Second,
		SlotRetryMax:        5 * time.Second,
		ProgressInterval:    300 * time.Millisecond,
		CopyConcurrency:     4,
	}
}

func startController(endpoint string, opts controller.Options) *runningController {
	GinkgoHelper()
	port, err := harness.FreePort()
	Expect(err).NotTo(HaveOccurred())
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: fmt.Sprintf("127.0.0.1:%d", port)},
		HealthProbeBindAddress: "0",
		Controller:             ctrlConfigSkipNameValidation(),
	})
	Expect(err).NotTo(HaveOccurred())
	prov, err := awsprovider.New(suiteCtx, awsprovider.Options{Region: "us-east-1", Endpoint: endpoint, MaxAttempts: 3})
	Expect(err).NotTo(HaveOccurred())
	providers := provider.NewRegistry()
	providers.Register("aws", prov)

	ctx, stop := context.WithCancel(suiteCtx)
	r := &controller.BackupRequestReconciler{
		Client:    mgr.GetClient(),
		Recorder:  mgr.GetEventRecorder("backuprequest-controller"),
		Providers: providers,
		Options:   opts,
		Metrics:   recorder,
		Clock:     testClock,
	}
	Expect(r.SetupWithManager(ctx, mgr)).To(Succeed())
	rc := &runningController{cancel: stop, done: make(chan struct{}), metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", port)}
	go func() {
		defer GinkgoRecover()
		defer close(rc.done)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	return rc
}

// Stop ends the manager and waits for it, like a killed controller pod: running
// copies are abandoned mid-way.
func (c *runningController) Stop() {
	c.cancel()
	Eventually(c.done).WithTimeout(30 * time.Second).Should(BeClosed())
}

func ctrlConfigSkipNameValidation() ctrlconfig.Controller {
	skip := true
	return ctrlconfig.Controller{SkipNameValidation: &skip}
}

// offsetClock is the real time plus an offset a test can move forward.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *offsetClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

func (c *offsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
