package integration

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/controller"
	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
	"github.com/liferay/lc2-backup-controller/test/harness"
	"github.com/liferay/lc2-backup-controller/test/harness/liferay"
)

// A Snapshot-source dump (the default with an instanceId): the snapshot is restored
// into a throw-away instance owned by the backup, which the dumper reads and which is
// deleted on every ending. The emulator's RDS instances have no database behind them,
// so --dump-instance-endpoints (local only) maps the throw-away instances to a real
// PostgreSQL server here; everything else is the AWS emulator's.
var _ = Describe("A dump of a snapshot", Ordered, func() {
	const (
		project  = "november"
		ns       = "proj-november-prd"
		library  = "november-dl"
		store    = "november-backups"
		instance = "november-prd-db"
		password = "november-Db-pass#3"
	)
	var (
		ctrlr *runningController
		pg    *harness.Postgres
		opts  controller.Options
	)
	processRunner := withProcessDumper
	secret := func(name string, data map[string]string) { GinkgoHelper(); createSecret(ns, name, data) }

	BeforeAll(func() {
		projectNamespace(ns, project)
		cloud.CreateBucket(library, fixtures.ProjectTag(project))
		cloud.CreateBucket(store, fixtures.ProjectTag(project))
		cloud.PutObject(library, "document_library/20097/1.0", []byte("live file"))
		cloud.CreateDBInstance(instance, fixtures.ProjectTag(project))

		src := startSeededPostgres(password, "november", 5, liferay.Counts{Companies: 1, GroupsPerCompany: 1, FoldersPerGroup: 2,
			FilesPerFolder: 2, VersionsPerFile: 1, BulkRows: 100, BulkRowBytes: 256})
		pg = src.pg
		// host names the production instance: a Snapshot-source dump must not read it.
		credentials := map[string]string{"host": "november-prd-db.invalid", "port": "5432", "database": src.database(),
			"user": src.dsn.User.Username(), "password": password, "sslmode": "disable", "engine": "postgres"}
		secret("november-db", credentials)
		wrong := map[string]string{}
		for k, v := range credentials {
			wrong[k] = v
		}
		wrong["password"] = "not-the-password-4"
		secret("november-db-wrong", wrong)

		opts = controllerOptions()
		opts.DumpPollInterval = 2 * time.Second
		opts.DumpInstanceEndpoints = map[string]string{"lc2-dump-*": "127.0.0.1:" + strconv.Itoa(pg.Port)}
		opts.DumpInstanceSweepInterval = time.Second
		ctrlr = startController(moto.Endpoint, opts, processRunner)
		DeferCleanup(func() { ctrlr.Stop() })
	})

	create := func(name, secretName string, keep bool) *backupv1alpha1.BackupRequest {
		GinkgoHelper()
		br := newBackupRequest(ns, name, project, backups.DocumentLibrary(library, store, "november/prd/"+name+"/"),
			backups.DumpOfSnapshot(instance, secretName, keep))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		return br
	}
	dumpInstanceDeletions := func(name string) int {
		GinkgoHelper()
		return len(eventsFor(ns, name, func(e eventsv1.Event) bool { return e.Reason == string(backupv1alpha1.ReasonDumpInstanceDeleted) }))
	}
	throwAwayGone := func(br *backupv1alpha1.BackupRequest) {
		GinkgoHelper()
		id := "lc2-dump-" + string(br.UID)
		Expect(cloud.DBInstanceExists(id)).To(BeFalse(), "the throw-away instance %s is gone", id)
		Expect(cloud.DBInstanceExists(instance)).To(BeTrue(), "the production instance is never touched")
	}

	It("dumps a throw-away instance restored from the backup's snapshot, keeps the snapshot, and deletes the instance once", func() {
		create("november-1", "november-db", true)
		Eventually(phaseOf(ns, "november-1")).WithTimeout(3 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		br := getBR(ns, "november-1")
		db := br.Status.Database
		Expect(br.Status.IsConditionTrue(backupv1alpha1.ConditionDatabaseSnapshotReady)).To(BeTrue())
		Expect(br.Status.IsConditionTrue(backupv1alpha1.ConditionDatabaseDumped)).To(BeTrue())
		Expect(db.DumpInstance).NotTo(BeNil())
		Expect(*db.DumpInstance).To(And(HaveField("InstanceID", "lc2-dump-"+string(br.UID)), HaveField("Created", true), HaveField("Deleted", true),
			HaveField("Endpoint", "127.0.0.1:"+strconv.Itoa(pg.Port))))
		throwAwayGone(br)
		Expect(cloud.SnapshotIDs(instance)).To(ContainElement(db.SnapshotID), "keepSnapshot (the default) keeps it")
		Expect(db.SnapshotDeleted).To(BeFalse())

		record := &dump.Result{}
		Expect(json.Unmarshal(cloud.GetObject(store, "november/prd/november-1/database/dump.json"), record)).To(Succeed())
		Expect(record.State).To(Equal(dump.StateSucceeded))
		Expect(record.SourceSnapshot).To(Equal(db.SnapshotID))
		m, err := manifest.Verify(cloud.GetObject(store, "november/prd/november-1/manifest.json"))
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Database.SnapshotID).To(Equal(db.SnapshotID))
		Expect(m.Database.Dump).NotTo(BeNil())
		eventReasons(ns, "november-1", string(backupv1alpha1.ReasonRestoringDumpInstance), string(backupv1alpha1.ReasonDumped),
			string(backupv1alpha1.ReasonDumpInstanceDeleted))
		Consistently(func() int { return dumpInstanceDeletions("november-1") }).WithTimeout(2 * time.Second).Should(Equal(1))
	})

	It("releases the snapshot with keepSnapshot: false once the dump is verified: the backup holds no snapshot", func() {
		create("november-2", "november-db", false)
		Eventually(phaseOf(ns, "november-2")).WithTimeout(3 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		br := getBR(ns, "november-2")
		db := br.Status.Database
		Expect(db.SnapshotDeleted).To(BeTrue())
		Expect(cloud.SnapshotIDs(instance)).NotTo(ContainElement(db.SnapshotID))
		throwAwayGone(br)
		m, err := manifest.Verify(cloud.GetObject(store, "november/prd/november-2/manifest.json"))
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Database.SnapshotID).To(BeEmpty(), "the manifest names no snapshot that is gone")
		Expect(m.Database.Dump).NotTo(BeNil())
		Expect(br.Status.Message).To(ContainSubstring("released once dumped"))
		eventReasons(ns, "november-2", string(backupv1alpha1.ReasonSnapshotReleased))
	})

	It("deletes the throw-away instance when the dump fails", func() {
		create("november-wrong", "november-db-wrong", true)
		Eventually(phaseOf(ns, "november-wrong")).WithTimeout(3 * time.Minute).Should(Equal(backupv1alpha1.PhaseFailed))
		br := getBR(ns, "november-wrong")
		Expect(br.Status.Condition(backupv1alpha1.ConditionReady).Reason).To(BeEquivalentTo(backupv1alpha1.ReasonDatabaseAuthenticationFailed))
		Expect(br.Status.Database.DumpInstance.Deleted).To(BeTrue())
		throwAwayGone(br)
		Expect(dumpInstanceDeletions("november-wrong")).To(Equal(1))
	})

	holdDumpUpload := func(prefix string) {
		slowProxy.Hold(func(r *http.Request) bool {
			return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/"+prefix+"database/dump.pgdump")
		})
		DeferCleanup(slowProxy.Release)
	}

	It("finishes after the controller is stopped mid-dump, and deletes the throw-away instance exactly once", func() {
		ctrlr.Stop()
		holdDumpUpload("november/prd/november-restart/")
		first := startController(slowProxy.URL, opts, processRunner)
		br := create("november-restart", "november-db", true)
		waitParked(slowProxy, 1)
		Expect(cloud.DBInstanceExists("lc2-dump-"+string(br.UID))).To(BeTrue(), "the dump reads the throw-away instance")
		first.Stop()
		slowProxy.Drop()

		ctrlr = startController(moto.Endpoint, opts, processRunner)
		Eventually(phaseOf(ns, "november-restart")).WithTimeout(3 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		throwAwayGone(getBR(ns, "november-restart"))
		Consistently(func() int { return dumpInstanceDeletions("november-restart") }).WithTimeout(2 * time.Second).Should(Equal(1))
		Expect(eventsFor(ns, "november-restart", func(e eventsv1.Event) bool {
			return e.Reason == string(backupv1alpha1.ReasonRestoringDumpInstance) && strings.Contains(e.Note, "being restored")
		})).To(HaveLen(1), "one instance started; the restarted controller went on with it")
	})

	It("deletes the throw-away instance and the snapshot when the backup is deleted mid-dump", func() {
		holdDumpUpload("november/prd/november-cancel/")
		ctrlr.Stop()
		ctrlr = startController(slowProxy.URL, opts, processRunner)
		br := create("november-cancel", "november-db", true)
		waitParked(slowProxy, 1)
		snapshot := getBR(ns, "november-cancel").Status.Database.SnapshotID
		Expect(k8sClient.Delete(suiteCtx, getBR(ns, "november-cancel"))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "november-cancel"}, &backupv1alpha1.BackupRequest{}))
		}).WithTimeout(2 * time.Minute).Should(BeTrue())
		slowProxy.Drop()
		throwAwayGone(br)
		Expect(cloud.SnapshotIDs(instance)).NotTo(ContainElement(snapshot))
		Consistently(func() []string { return cloud.ListKeys(store, "november/prd/november-cancel/") }).WithTimeout(3 * time.Second).Should(BeEmpty())
	})

	It("finds a leaked throw-away instance (its backup gone) and deletes it, and leaves an instance it did not make alone", func() {
		snapshot := getBR(ns, "november-1").Status.Database.SnapshotID
		restore := func(id string, tags map[string]string) {
			GinkgoHelper()
			var rdsTags []rdstypes.Tag
			for k, v := range tags {
				rdsTags = append(rdsTags, rdstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			_, err := cloud.RDS.RestoreDBInstanceFromDBSnapshot(suiteCtx, &rds.RestoreDBInstanceFromDBSnapshotInput{
				DBInstanceIdentifier: aws.String(id), DBSnapshotIdentifier: aws.String(snapshot), Tags: rdsTags})
			Expect(err).NotTo(HaveOccurred())
		}
		gone := provider.BackupOwner{ProjectID: project, Environment: "prd", Namespace: ns, Name: "november-gone", UID: "5b0f3a1e-7c2d-4e8f-9a6b-1c2d3e4f5a6b"}
		restore("lc2-dump-"+gone.UID, provider.OwnerTags(gone))
		foreign := "lc2-dump-00000000-0000-4000-8000-000000000000"
		restore(foreign, fixtures.ProjectTag(project)) // named like one, but no owner tags: not ours
		Eventually(func() bool { return cloud.DBInstanceExists("lc2-dump-" + gone.UID) }).WithTimeout(time.Minute).Should(BeFalse())
		Consistently(func() bool { return cloud.DBInstanceExists(foreign) }).WithTimeout(3 * time.Second).Should(BeTrue())
		Expect(scrape(Default, ctrlr.metricsURL)).To(HaveKeyWithValue(`backup_dump_instances_swept_total{environment="prd",project_id="`+project+`"}`, 1.0))
	})
})
