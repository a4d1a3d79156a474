package crd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// kubectlPath prefers the kubectl built with the envtest assets (same version as the
// API server), then the one on PATH.
func kubectlPath() string {
	if p := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"); fileExists(p) {
		return p
	}
	p, err := exec.LookPath("kubectl")
	Expect(err).NotTo(HaveOccurred(), "kubectl not found in KUBEBUILDER_ASSETS or PATH")
	return p
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// writeKubeconfig writes a kubeconfig for the envtest API server.
func writeKubeconfig() string {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(clientcmd.WriteToFile(*kc, path)).To(Succeed())
	return path
}

var _ = Describe("kubectl against the CRD", func() {
	It("explains br.spec.documentLibrary with the field docs", func() {
		kubeconfig := writeKubeconfig()
		var text string
		// The API server publishes a new CRD's OpenAPI schema a moment after it is
		// established, and kubectl takes seconds per attempt on a busy machine: the
		// timeout only runs out when the schema never appears.
		Eventually(func(g Gomega) {
			out, err := exec.Command(kubectlPath(), "--kubeconfig", kubeconfig, "explain", "br.spec.documentLibrary").CombinedOutput()
			g.Expect(err).NotTo(HaveOccurred(), string(out))
			text = string(out)
		}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
		Expect(text).To(ContainSubstring("KIND:       BackupRequest"))
		for _, field := range []string{"sourceBucket", "sourcePrefix", "destinationBucket", "destinationPrefix", "excludeGeneratedFiles", "excludePatterns"} {
			Expect(text).To(ContainSubstring(field))
		}
		Expect(text).To(ContainSubstring("documentLibrary selects the files to copy"))
		Expect(text).To(ContainSubstring("'*' matches within one path segment"))
	})

	It("lists BackupRequests by short name with the printer columns", func() {
		kubeconfig := writeKubeconfig()
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "proj-listing"}}
		Expect(k8sClient.Create(ctx, ns)).To(Succeed())
		br := &backupv1alpha1.BackupRequest{ObjectMeta: metav1.ObjectMeta{Name: "listed-by-kubectl", Namespace: ns.Name}, Spec: validSpec()}
		Expect(k8sClient.Create(ctx, br)).To(Succeed())
		out, err := exec.Command(kubectlPath(), "--kubeconfig", kubeconfig, "get", "br", "-n", ns.Name).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		header := strings.Fields(strings.SplitN(string(out), "\n", 2)[0])
		Expect(header).To(Equal([]string{"NAME", "PROJECT", "ENV", "PHASE", "REASON", "AGE"}))
		out, err = exec.Command(kubectlPath(), "--kubeconfig", kubeconfig, "get", "brs", "-n", ns.Name, "-o", "wide").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		header = strings.Fields(strings.SplitN(string(out), "\n", 2)[0])
		Expect(header).To(Equal([]string{"NAME", "PROJECT", "ENV", "PHASE", "REASON", "SNAPSHOT", "MODE", "OBJECTS", "COPIED", "REFERENCED", "SIZE", "AGE"}))
		out, err = exec.Command(kubectlPath(), "--kubeconfig", kubeconfig, "get", "backup", "-n", ns.Name).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "category 'backup' should list BackupRequests: %s", out)
		Expect(string(out)).To(ContainSubstring("listed-by-kubectl"))
	})
})
