// Package chart tests the Helm chart in charts/lc2-backup-controller with the pinned
// helm binary (hack/build-helm.sh): it renders with the default values and with
// ci/full-values.yaml, its schema refuses bad values naming the field, it lints, it
// matches config/ (CRDs, RBAC, the manager's flags and security), and it installs,
// upgrades and uninstalls on a real API server, keeping the CRDs.
package chart

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	// helmBin is the pinned helm binary; helmHome isolates its cache and config.
	helmBin, helmHome string
	chartDir          = filepath.Join("..", "..", "charts", "lc2-backup-controller")
	fullValues        = filepath.Join(chartDir, "ci", "full-values.yaml")
)

func TestChart(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Helm chart Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.TODO())
	Expect(backupv1alpha1.AddToScheme(scheme.Scheme)).To(Succeed())

	// Like MOTO_SERVER: $HELM (set by `make test`), else the cached build, which
	// hack/build-helm.sh makes on first use. Never skipped: no helm is a failure.
	helmBin = os.Getenv("HELM")
	if helmBin == "" {
		out, err := exec.Command(filepath.Join("..", "..", "hack", "build-helm.sh")).Output()
		Expect(err).NotTo(HaveOccurred(), "HELM is unset and hack/build-helm.sh failed; run through `make test` or `make test-chart`")
		helmBin = strings.TrimSpace(string(out))
	}
	Expect(helmBin).To(BeAnExistingFile(), "HELM must name the helm binary")
	helmHome = GinkgoT().TempDir()

	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(), "run through `make test`, which builds the envtest assets")
	testEnv = &envtest.Environment{
		// Only the Prometheus Operator's kinds: the chart brings this project's CRDs.
		CRDDirectoryPaths:     []string{filepath.Join("testdata", "monitoring.coreos.com.yaml")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme.Scheme})
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	cancel()
	if testEnv != nil {
		Expect(testEnv.Stop()).To(Succeed())
	}
})
