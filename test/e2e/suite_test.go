//go:build e2e

// Package e2e runs the manager binary as its own process against a real API server,
// the moto AWS emulator and PostgreSQL, and drives it only through kubectl, the way
// users do. Run with `make test-e2e` (included in `make test`).
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

var (
	ctx        context.Context
	cancel     context.CancelFunc
	testEnv    *envtest.Environment
	kubeconfig string
	kubectlBin string
	managerBin string
	workDir    string
	moto       *harness.Moto
	pg         *harness.Postgres
	cloud      *fixtures.AWS
	// slow forwards to moto with a delay, so a test can kill the manager mid-copy.
	slow *harness.DelayProxy
	// records sits in front of every endpoint a manager is started with and checks
	// each record the manager uploads against its schema (api/schemas).
	records harness.RecordCheckers
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "End-to-end suite (manager process, kubectl, moto, PostgreSQL)")
}

var _ = BeforeSuite(func() {
	ctx, cancel = context.WithCancel(context.Background())
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	Expect(assets).NotTo(BeEmpty(), "run through `make test-e2e`, which builds the envtest assets")
	kubectlBin = filepath.Join(assets, "kubectl")
	workDir = GinkgoT().TempDir()
	root, err := harness.RepoRoot()
	Expect(err).NotTo(HaveOccurred())

	By("building the manager binary")
	managerBin = filepath.Join(workDir, "manager")
	build := exec.Command("go", "build", "-o", managerBin, "./cmd")
	build.Dir = root
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))

	By("starting the API server, the AWS emulator and PostgreSQL")
	testEnv = &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	_, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	admin, err := testEnv.AddUser(envtest.User{Name: "e2e-admin", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	kc, err := admin.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	kubeconfig = filepath.Join(workDir, "kubeconfig")
	Expect(os.WriteFile(kubeconfig, kc, 0o600)).To(Succeed())

	moto, err = harness.StartMoto(ctx)
	Expect(err).NotTo(HaveOccurred())
	slow, err = harness.NewDelayProxy(moto.Endpoint)
	Expect(err).NotTo(HaveOccurred())
	pg, err = harness.StartPostgres(ctx)
	Expect(err).NotTo(HaveOccurred())
	cloud = fixtures.NewAWS(ctx, moto.Endpoint)
})

// Every record a spec's manager uploaded matches its published schema: checked once
// here rather than in each spec.
var _ = AfterEach(func() {
	Expect(records.TakeFailures()).To(BeEmpty(), "records that do not match api/schemas")
})

var _ = AfterSuite(func() {
	late := records.TakeFailures()
	GinkgoWriter.Printf("records checked against api/schemas: %v\n", records.Checked())
	records.Close()
	if cloud != nil {
		By("recomputing every manifest the suite produced outside Go")
		for location, data := range cloud.BackupManifests() {
			Expect(harness.VerifyManifestInPython(data)).To(Succeed(), location)
		}
	}
	if slow != nil {
		slow.Close()
	}
	moto.Stop()
	if pg != nil {
		pg.Stop()
	}
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
	cancel()
	Expect(late).To(BeEmpty(), "records uploaded after the last spec that do not match api/schemas")
})

// kubectl runs kubectl against the test cluster and returns its combined output.
func kubectl(args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, kubectlBin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// kubectlApply applies a YAML document from stdin.
func kubectlApply(yaml string) (string, error) {
	cmd := exec.CommandContext(ctx, kubectlBin, "--kubeconfig", kubeconfig, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(yaml)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustKubectl(args ...string) string {
	GinkgoHelper()
	out, err := kubectl(args...)
	Expect(err).NotTo(HaveOccurred(), out)
	return out
}

// managerProcess is the controller running as its own OS process.
type managerProcess struct {
	proc       *harness.Process
	log        *bytes.Buffer
	metricsURL string
}

// startManager runs the manager binary configured through its environment, as the
// Deployment does.
func startManager(endpoint string, extraEnv ...string) *managerProcess {
	GinkgoHelper()
	metricsPort, err := harness.FreePort()
	Expect(err).NotTo(HaveOccurred())
	probePort, err := harness.FreePort()
	Expect(err).NotTo(HaveOccurred())
	endpoint, err = records.For(endpoint)
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(managerBin)
	cmd.Env = append(os.Environ(),
		"KUBECONFIG="+kubeconfig,
		"AWS_ENDPOINT_URL="+endpoint, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"DATABASE_URL="+pg.URL, "ENABLE_ARCHIVAL=true",
		"SNAPSHOT_POLL_INITIAL=1s", "SNAPSHOT_POLL_MAX=2s", "PROGRESS_INTERVAL=300ms", "COPY_CONCURRENCY=2",
		fmt.Sprintf("METRICS_BIND_ADDRESS=127.0.0.1:%d", metricsPort), "METRICS_SECURE=false",
		fmt.Sprintf("HEALTH_PROBE_BIND_ADDRESS=127.0.0.1:%d", probePort),
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	m := &managerProcess{log: &bytes.Buffer{}, metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)}
	cmd.Stdout, cmd.Stderr = &syncWriter{w: m.log}, &syncWriter{w: m.log}
	m.proc, err = harness.StartProcess(cmd)
	Expect(err).NotTo(HaveOccurred())
	Expect(harness.WaitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort), m.proc, 60*time.Second)).To(Succeed(), m.log.String())
	DeferCleanup(func() {
		m.proc.Stop(10 * time.Second)
		if CurrentSpecReport().Failed() {
			AddReportEntry("manager log", m.log.String())
		}
	})
	return m
}

// Kill sends SIGKILL, like an evicted pod or a crashed node: no cleanup runs.
func (m *managerProcess) Kill() {
	m.proc.Signal(syscall.SIGKILL)
	Eventually(m.proc.Exited).WithTimeout(2 * time.Minute).Should(BeTrue())
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
