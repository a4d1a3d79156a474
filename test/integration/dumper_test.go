package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/liferay/lc2-backup-controller/internal/setup"
)

// The dumper (cmd/lc2-dump), built once for the suite: every dump spec runs this
// binary through the process runner, as a Job would run the image's.
var suiteDumper struct {
	sync.Mutex
	path string
}

// dumperBinary is the path of the suite's dumper, built on first use;
// removeDumperBuild (AfterSuite) removes it.
func dumperBinary() string {
	GinkgoHelper()
	suiteDumper.Lock()
	defer suiteDumper.Unlock()
	if suiteDumper.path == "" {
		dir, err := os.MkdirTemp("", "lc2-dump-it-")
		Expect(err).NotTo(HaveOccurred())
		path := filepath.Join(dir, "lc2-dump")
		out, err := exec.Command("go", "build", "-o", path, "github.com/liferay/lc2-backup-controller/cmd/lc2-dump").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		suiteDumper.path = path
	}
	return suiteDumper.path
}

// removeDumperBuild removes the suite's dumper, if one was built.
func removeDumperBuild() {
	GinkgoHelper()
	suiteDumper.Lock()
	defer suiteDumper.Unlock()
	if suiteDumper.path != "" {
		Expect(os.RemoveAll(filepath.Dir(suiteDumper.path))).To(Succeed())
		suiteDumper.path = ""
	}
}

// withProcessDumper runs dumps through the process runner with the suite's dumper.
func withProcessDumper(c *setup.Config) {
	c.Dumper = setup.DumperConfig{Runner: setup.DumpRunnerProcess, Command: dumperBinary()}
}

// createSecret creates the Secret name in namespace with data (a connection Secret).
func createSecret(namespace, name string, data map[string]string) {
	GinkgoHelper()
	Expect(k8sClient.Create(suiteCtx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, StringData: data})).To(Succeed())
}
