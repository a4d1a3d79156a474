package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	_ "github.com/lib/pq"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/controller"
	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
	"github.com/liferay/lc2-backup-controller/test/fixtures/restores"
	"github.com/liferay/lc2-backup-controller/test/harness/liferay"
)

// Dump backups through the manager's process runner (--dump-runner=process: the same
// dumper command a Job runs, as a child process, since envtest has no kubelet) on a
// real PostgreSQL server, into the AWS emulator.
var _ = Describe("A dump backup", Ordered, func() {
	const (
		project  = "kilo"
		ns       = "proj-kilo-prd"
		library  = "kilo-dl"
		store    = "kilo-backups"
		password = "kilo-Db-pass#7"
	)
	var (
		ctrlr *runningController
		src   seededPostgres
		opts  controller.Options
	)
	processRunner := withProcessDumper

	secret := func(name string, data map[string]string) { GinkgoHelper(); createSecret(ns, name, data) }
	connection := func(pass string) map[string]string { return src.connection(pass) }

	BeforeAll(func() {
		projectNamespace(ns, project)
		cloud.CreateBucket(library, fixtures.ProjectTag(project))
		cloud.CreateBucket(store, fixtures.ProjectTag(project))
		cloud.PutObject(library, "document_library/20097/1.0", []byte("live file"))

		src = startSeededPostgres(password, "kilo", 7, liferay.Counts{Companies: 1, GroupsPerCompany: 2, FoldersPerGroup: 2,
			FilesPerFolder: 2, VersionsPerFile: 2, BulkRows: 200, BulkRowBytes: 512})

		secret("kilo-db", connection(password))
		secret("kilo-db-wrong", connection("not-the-password-3"))
		lacking := connection(password)
		delete(lacking, "user")
		secret("kilo-db-no-user", lacking)

		opts = controllerOptions()
		opts.DumpPollInterval = 2 * time.Second
		opts.RetentionCheckInterval = 500 * time.Millisecond // expiry is seen soon after the test moves the clock
		ctrlr = startController(moto.Endpoint, opts, processRunner)
		DeferCleanup(func() { ctrlr.Stop() })
	})

	run := func(name, secretName, prefix string, want backupv1alpha1.BackupPhase) *backupv1alpha1.BackupRequest {
		GinkgoHelper()
		br := newBackupRequest(ns, name, project, backups.DocumentLibrary(library, store, prefix), backups.Dump(secretName), backups.Retention(30))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, name)).WithTimeout(3 * time.Minute).Should(Equal(want))
		return getBR(ns, name)
	}

	It("stores a dump that the stored object, its record, status and the manifest agree on", func() {
		br := run("kilo-1", "kilo-db", "kilo/prd/1/", backupv1alpha1.PhaseSucceeded)
		cond := br.Status.Condition(backupv1alpha1.ConditionDatabaseDumped)
		Expect(cond).NotTo(BeNil())
		Expect(cond.Status).To(Equal(metav1.ConditionTrue))
		Expect(cond.Reason).To(BeEquivalentTo(backupv1alpha1.ReasonDumped))
		Expect(br.Status.Condition(backupv1alpha1.ConditionDatabaseSnapshotReady)).To(BeNil(), "a direct dump takes no snapshot")
		Expect(br.Status.Message).To(ContainSubstring("a dump ("))
		Expect(br.Status.Message).NotTo(ContainSubstring("snapshot"))

		d := br.Status.Database.Dump
		Expect(d.Location).To(Equal("s3://" + store + "/kilo/prd/1/database/dump.pgdump"))
		stored := cloud.GetObject(store, "kilo/prd/1/database/dump.pgdump")
		sum := sha256.Sum256(stored)
		Expect(d.SizeBytes).To(BeEquivalentTo(len(stored)))
		Expect(strings.TrimPrefix(d.SHA256, "sha256:")).To(Equal(hex.EncodeToString(sum[:])))
		Expect(d.Engine).To(Equal("postgres"))
		Expect(d.ServerVersion).To(HavePrefix("15"))
		Expect(d.Tool).To(HavePrefix("pg_dump 1"))
		Expect(br.Status.Database.Engine).To(Equal("postgres"))

		record := &dump.Result{}
		Expect(json.Unmarshal(cloud.GetObject(store, "kilo/prd/1/database/dump.json"), record)).To(Succeed())
		Expect(record.State).To(Equal(dump.StateSucceeded))
		Expect(record.SizeBytes).To(Equal(d.SizeBytes))
		Expect(record.LargestTables).NotTo(BeEmpty())
		Expect(string(cloud.GetObject(store, "kilo/prd/1/database/dump.json"))).NotTo(ContainSubstring(password))

		m, err := manifest.Verify(cloud.GetObject(store, "kilo/prd/1/manifest.json"))
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Database).NotTo(BeNil())
		Expect(m.Database.SnapshotID).To(BeEmpty())
		Expect(m.Database.Dump).To(PointTo(MatchFields(IgnoreExtras, Fields{
			"Key": Equal("database/dump.pgdump"), "ResultKey": Equal("database/dump.json"),
			"SizeBytes": Equal(d.SizeBytes), "SHA256": Equal("sha256:" + hex.EncodeToString(sum[:])),
			"Engine": Equal("postgres"), "Format": Equal("custom"),
		})))
		eventReasons(ns, "kilo-1", string(backupv1alpha1.ReasonDumping), string(backupv1alpha1.ReasonDumped))
		Eventually(func(g Gomega) {
			samples := scrape(g, ctrlr.metricsURL)
			g.Expect(samples).To(HaveKeyWithValue(`backup_database_dump_bytes_total{environment="prd",project_id="kilo"}`, float64(d.SizeBytes)))
			g.Expect(samples).To(HaveKeyWithValue(`backup_database_dump_duration_seconds_count{environment="prd",project_id="kilo"}`, 1.0))
		}).WithTimeout(metricsPatience).Should(Succeed())
	})

	It("refuses, before any write, a dump backup restored into a new RDS instance, saying how to load the dump", func() {
		rr := runRestore(restores.New(ns, "kilo-restore-db", restores.FromBackup("kilo-1"), restores.Database("kilo-restored-db")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(rr.Status.Message).To(ContainSubstring("holds a dump (database/dump.pgdump), not a snapshot"))
		Expect(rr.Status.Message).To(ContainSubstring("spec.database.connectionSecretRef"))
		Expect(rr.Status.Database).To(BeNil(), "no instance was started")
	})

	It("fails a dump the server refuses, naming the Secret's key and never the password", func() {
		br := run("kilo-wrong", "kilo-db-wrong", "kilo/prd/wrong/", backupv1alpha1.PhaseFailed)
		Expect(br.Status.Condition(backupv1alpha1.ConditionReady).Reason).To(BeEquivalentTo(backupv1alpha1.ReasonDatabaseAuthenticationFailed))
		Expect(br.Status.Message).To(ContainSubstring(`"password"`))
		Expect(br.Status.Message).To(ContainSubstring(ns + "/kilo-db-wrong"))
		Expect(br.Status.Message).NotTo(ContainSubstring("not-the-password-3"))
		Expect(cloud.ListKeys(store, "kilo/prd/wrong/database/")).To(ConsistOf("dump.json"),
			"only the dumper's record of the failure; no dump object")
	})

	It("refuses a Secret lacking a key before the claim, naming the key", func() {
		br := run("kilo-no-user", "kilo-db-no-user", "kilo/prd/no-user/", backupv1alpha1.PhaseFailed)
		Expect(br.Status.Condition(backupv1alpha1.ConditionReady).Reason).To(BeEquivalentTo(backupv1alpha1.ReasonConnectionSecretInvalid))
		Expect(br.Status.Message).To(ContainSubstring(`the key "user"`))
		Expect(br.Status.Claim).To(BeNil())
		Expect(cloud.ListKeys(store, "kilo/prd/no-user/")).To(BeEmpty(), "nothing written")
	})

	// holdDumpUpload parks the dumper's upload of the dump under prefix in slowProxy,
	// so the dump is mid-stream for as long as the test needs.
	holdDumpUpload := func(prefix string) {
		slowProxy.Hold(func(r *http.Request) bool {
			return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/"+prefix+"database/dump.pgdump")
		})
		DeferCleanup(slowProxy.Release)
	}

	It("dumps again after the controller is stopped mid-dump, and reads only the new run's record", func() {
		ctrlr.Stop()
		holdDumpUpload("kilo/prd/restart/")
		first := startController(slowProxy.URL, opts, processRunner)
		br := newBackupRequest(ns, "kilo-restart", project, backups.DocumentLibrary(library, store, "kilo/prd/restart/"), backups.Dump("kilo-db"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		waitParked(slowProxy, 1)
		started := getBR(ns, "kilo-restart").Status.Database.Dump.StartTime

		By("stopping the controller while the dumper's upload is parked: the dumper is stopped with it")
		first.Stop()
		slowProxy.Drop()
		Expect(cloud.ListKeys(store, "kilo/prd/restart/database/")).NotTo(ContainElement("dump.pgdump"))

		By("a new controller finds the run gone and dumps again")
		testClock.Advance(2 * time.Second) // a new run token, whatever the machine's speed
		DeferCleanup(func() { testClock.Advance(-2 * time.Second) })
		ctrlr = startController(moto.Endpoint, opts, processRunner)
		Eventually(phaseOf(ns, "kilo-restart")).WithTimeout(3 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		done := getBR(ns, "kilo-restart")
		Expect(done.Status.Database.Dump.StartTime.After(started.Time)).To(BeTrue(), "the second run has its own start")
		record := &dump.Result{}
		Expect(json.Unmarshal(cloud.GetObject(store, "kilo/prd/restart/database/dump.json"), record)).To(Succeed())
		Expect(record.Run).To(Equal(done.Status.Database.Dump.StartTime.UTC().Format(time.RFC3339)))
		stored := cloud.GetObject(store, "kilo/prd/restart/database/dump.pgdump")
		Expect(int64(len(stored))).To(Equal(done.Status.Database.Dump.SizeBytes))
		Expect(cloud.UnfinishedUploads(store)).To(BeEmpty(), "the stopped dumper aborted its upload")
		Expect(eventsFor(ns, "kilo-restart", func(e eventsv1.Event) bool {
			return e.Reason == string(backupv1alpha1.ReasonDumping) && strings.Contains(e.Note, "was lost")
		})).To(HaveLen(1))
	})

	It("stops the dumper when the backup is deleted mid-dump, and leaves nothing under its prefix", func() {
		holdDumpUpload("kilo/prd/cancel/")
		ctrlr.Stop()
		ctrlr = startController(slowProxy.URL, opts, processRunner)
		br := newBackupRequest(ns, "kilo-cancel", project, backups.DocumentLibrary(library, store, "kilo/prd/cancel/"), backups.Dump("kilo-db"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		waitParked(slowProxy, 1)

		Expect(k8sClient.Delete(suiteCtx, getBR(ns, "kilo-cancel"))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "kilo-cancel"}, &backupv1alpha1.BackupRequest{}))
		}).WithTimeout(2 * time.Minute).Should(BeTrue())
		slowProxy.Drop()
		Consistently(func() []string { return cloud.ListKeys(store, "kilo/prd/cancel/") }).WithTimeout(3 * time.Second).Should(BeEmpty())
		Expect(cloud.UnfinishedUploads(store)).To(BeEmpty())
	})

	It("expiry deletes the dump files with the backup and nothing else", func() {
		time.Sleep(1100 * time.Millisecond) // completion times have second resolution: kilo-2 is the newest
		run("kilo-2", "kilo-db", "kilo/prd/2/", backupv1alpha1.PhaseSucceeded)
		library := cloud.Contents(library, "")
		testClock.Advance(31 * 24 * time.Hour)
		DeferCleanup(func() { testClock.Advance(-31 * 24 * time.Hour) })
		Eventually(phaseOf(ns, "kilo-1")).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseExpired))
		Expect(cloud.ListKeys(store, "kilo/prd/1/")).To(BeEmpty())
		Expect(cloud.ListKeys(store, "kilo/prd/2/")).To(ContainElements("database/dump.pgdump", "database/dump.json"),
			"the newest backup is kept")
		Expect(cloud.Contents("kilo-dl", "")).To(Equal(library), "the live library is untouched")
	})
})

// eventReasons are the reasons of the Events about the BackupRequest name, once
// they include every one of want (Events are sent after the status write).
func eventReasons(namespace, name string, want ...string) []string {
	GinkgoHelper()
	var reasons []string
	Eventually(func(g Gomega) {
		reasons = reasons[:0]
		for _, e := range eventsFor(namespace, name, func(eventsv1.Event) bool { return true }) {
			reasons = append(reasons, e.Reason)
		}
		g.Expect(reasons).To(ContainElements(want))
	}).Should(Succeed())
	return reasons
}
