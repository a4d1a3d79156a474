package integration

import (
	"database/sql"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/liferay/lc2-backup-controller/internal/setup"
	"github.com/liferay/lc2-backup-controller/test/harness"
	"github.com/liferay/lc2-backup-controller/test/harness/liferay"
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

// seededPostgres is a dump suite's own PostgreSQL server (password login) with one
// database seeded with the Liferay-shaped schema.
type seededPostgres struct {
	pg *harness.Postgres
	db *sql.DB
	// dsn is the database's connection URL (host, port, database, user).
	dsn *url.URL
}

// startSeededPostgres starts a suite's server with password, makes a database named
// after prefix and seeds it; the server stops and the handle closes with the suite.
func startSeededPostgres(password, prefix string, seed uint64, counts liferay.Counts) seededPostgres {
	GinkgoHelper()
	pg, err := harness.StartPostgresWith(suiteCtx, harness.PostgresOptions{Password: password})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(pg.Stop)
	dsn, err := pg.NewDatabase(suiteCtx, prefix)
	Expect(err).NotTo(HaveOccurred())
	u, err := url.Parse(dsn)
	Expect(err).NotTo(HaveOccurred())
	db, err := sql.Open("postgres", dsn)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(db.Close)
	_, err = liferay.Seed(suiteCtx, db, liferay.PostgreSQL, seed, counts)
	Expect(err).NotTo(HaveOccurred())
	return seededPostgres{pg: pg, db: db, dsn: u}
}

// database is the seeded database's name.
func (s seededPostgres) database() string { return strings.TrimPrefix(s.dsn.Path, "/") }

// connection is a connection Secret's keys for the seeded database, logging in with pass.
func (s seededPostgres) connection(pass string) map[string]string {
	return map[string]string{"host": s.dsn.Hostname(), "port": s.dsn.Port(), "database": s.database(),
		"user": s.dsn.User.Username(), "password": pass, "sslmode": "disable"}
}
