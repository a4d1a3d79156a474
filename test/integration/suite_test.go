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
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/api/schemas"
	"github.com/liferay/lc2-backup-controller/internal/controller"
	awsprovider "github.com/liferay/lc2-backup-controller/internal/provider/aws"
	"github.com/liferay/lc2-backup-controller/internal/repolock"
	"github.com/liferay/lc2-backup-controller/internal/setup"
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
	// testClock is every controller's clock; a test moves it forward to expire backups.
	testClock = &offsetClock{}
	// slowProxy sits between the controller and moto; its delay slows copies down
	// so a test can stop the controller in the middle of one.
	slowProxy *harness.DelayProxy
	// records sits in front of every endpoint a controller is started with and checks
	// each record the controller uploads against its schema (api/schemas).
	records harness.RecordCheckers
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
})

// Every record a spec's controllers uploaded matches its published schema, and so do
// the holders of every repository lock: checked once here rather than in each spec.
var _ = AfterEach(func() {
	failures := records.TakeFailures()
	var leases coordinationv1.LeaseList
	Expect(k8sClient.List(suiteCtx, &leases)).To(Succeed())
	for _, l := range leases.Items {
		if raw, ok := l.Annotations[repolock.HoldersAnnotation]; ok {
			if err := schemas.Validate(schemas.RepositoryLockHolders, []byte(raw)); err != nil {
				failures = append(failures, fmt.Sprintf("Lease %s/%s: %v", l.Namespace, l.Name, err))
			}
		}
	}
	Expect(failures).To(BeEmpty(), "records that do not match api/schemas")
})

var _ = AfterSuite(func() {
	By("checking the records uploaded after the last spec against their schemas")
	removeDumperBuild()
	late := records.TakeFailures()
	GinkgoWriter.Printf("records checked against api/schemas: %v\n", records.Checked())
	records.Close()
	By("recomputing every manifest the suite produced outside Go")
	// Collected first and asserted after the cleanup, so a failure still stops envtest and moto.
	var mismatches []string
	manifests := cloud.BackupManifests()
	for location, data := range manifests {
		if err := harness.VerifyManifestInPython(data); err != nil {
			mismatches = append(mismatches, location+": "+err.Error())
		}
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
	Expect(mismatches).To(BeEmpty())
	Expect(late).To(BeEmpty(), "records that do not match api/schemas")
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

func startController(endpoint string, opts controller.Options, configure ...func(*setup.Config)) *runningController {
	GinkgoHelper()
	port, err := harness.FreePort()
	Expect(err).NotTo(HaveOccurred())
	endpoint, err = records.For(endpoint)
	Expect(err).NotTo(HaveOccurred())
	// Built by the same setup as the manager binary; only the endpoints, the clock and
	// the short timings differ.
	conf := &setup.Config{
		MetricsAddr: fmt.Sprintf("127.0.0.1:%d", port),
		AWS:         awsprovider.Options{Region: "us-east-1", Endpoint: endpoint, MaxAttempts: 3},
		Controller:  opts,
		// Schedules look at the (movable) test clock this often.
		ScheduleResync: 300 * time.Millisecond,
	}
	for _, c := range configure {
		c(conf)
	}
	mgrOpts := setup.ManagerOptions(conf)
	mgrOpts.Controller = ctrlConfigSkipNameValidation()
	mgr, err := ctrl.NewManager(setup.RESTConfig(cfg, conf), mgrOpts)
	Expect(err).NotTo(HaveOccurred())

	ctx, stop := context.WithCancel(suiteCtx)
	_, err = setup.Setup(ctx, mgr, conf, setup.Deps{Clock: testClock, StateReader: k8sClient})
	Expect(err).NotTo(HaveOccurred())
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
	Eventually(c.done).WithTimeout(2 * time.Minute).Should(BeClosed())
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

// Offset is how far the clock has been moved from the real time.
func (c *offsetClock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

func (c *offsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
