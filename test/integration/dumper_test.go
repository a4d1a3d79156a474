package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
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
