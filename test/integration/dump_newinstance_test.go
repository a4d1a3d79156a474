package integration

import (
	"database/sql"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/controller"
	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/setup"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
	"github.com/liferay/lc2-backup-controller/test/fixtures/restores"
	"github.com/liferay/lc2-backup-controller/test/harness"
	"github.com/liferay/lc2-backup-controller/test/harness/liferay"
)

// A RestoreRequest that loads a dump backup into a new instance: the controller
// creates the instance on the AWS emulator (with the Secret's master credentials),
// waits for it, and the dumper loads the dump into it. The emulator's instances have
// no database behind them, so --dump-instance-endpoints maps the new instances to a
// real PostgreSQL server here, in which the test creates the empty database first.
var _ = Describe("A RestoreRequest of a dump backup into a new instance", Ordered, func() {
	const (
		project  = "oscar"
		ns       = "proj-oscar-prd"
		library  = "oscar-dl"
		store    = "oscar-backups"
		password = "oscar-Pg-pass#8"
	)
	var (
		ctrlr  *runningController
		pg     *harness.Postgres
		opts   controller.Options
		source *sql.DB
	)
	secret := func(name string, data map[string]string) { GinkgoHelper(); createSecret(ns, name, data) }
	// emptyDatabase creates an empty database on the test server, as RDS creates the
	// new instance's, and returns its handle and the master Secret's keys: no host
	// or port, which the new instance's endpoint gives.
	emptyDatabase := func(prefix string) (*sql.DB, map[string]string) {
		GinkgoHelper()
		dsn, err := pg.NewDatabase(suiteCtx, prefix)
		Expect(err).NotTo(HaveOccurred())
		u, err := url.Parse(dsn)
		Expect(err).NotTo(HaveOccurred())
		db, err := sql.Open("postgres", dsn)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(db.Close)
		return db, map[string]string{"database": strings.TrimPrefix(u.Path, "/"), "user": u.User.Username(), "password": password, "sslmode": "disable"}
	}
	describeInstance := func(id string) rdstypes.DBInstance {
		GinkgoHelper()
		out, err := cloud.RDS.DescribeDBInstances(suiteCtx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		Expect(err).NotTo(HaveOccurred())
		Expect(out.DBInstances).To(HaveLen(1))
		return out.DBInstances[0]
	}
	tagsOf := func(inst rdstypes.DBInstance) map[string]string {
		tags := map[string]string{}
		for _, t := range inst.TagList {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		return tags
	}
	// noPassword checks that the password is nowhere in the restore's status or events.
	noPassword := func(rr *backupv1alpha1.RestoreRequest) {
		GinkgoHelper()
		status, err := yamlOf(rr.Status)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).NotTo(ContainSubstring(password))
		events := eventsFor(ns, rr.Name, func(eventsv1.Event) bool { return true })
		Expect(events).NotTo(BeEmpty())
		for _, e := range events {
			Expect(e.Note).NotTo(ContainSubstring(password))
		}
	}

	BeforeAll(func() {
		projectNamespace(ns, project)
		cloud.CreateBucket(library, fixtures.ProjectTag(project))
		cloud.CreateBucket(store, fixtures.ProjectTag(project))
		cloud.PutObject(library, "document_library/20097/1.0", []byte("live file"))

		src := startSeededPostgres(password, "oscar_src", 13, liferay.Counts{Companies: 1, GroupsPerCompany: 2, FoldersPerGroup: 2,
			FilesPerFolder: 2, VersionsPerFile: 2, BulkRows: 150, BulkRowBytes: 256})
		pg, source = src.pg, src.db
		u := src.dsn
		credentials := src.connection(password)
		credentials["engine"] = "postgres"
		secret("oscar-pg-source", credentials)

		opts = controllerOptions()
		opts.DumpPollInterval = 2 * time.Second
		opts.DumpInstanceEndpoints = map[string]string{"oscar-new-*": net.JoinHostPort(u.Hostname(), u.Port())}
		ctrlr = startController(moto.Endpoint, opts, withProcessDumper)
		DeferCleanup(func() { ctrlr.Stop() })

		br := newBackupRequest(ns, "oscar-pg", project, backups.DocumentLibrary(library, store, "oscar/prd/oscar-pg/"), backups.Dump("oscar-pg-source"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, "oscar-pg")).WithTimeout(3 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
	})

	It("creates the instance with the dump's engine and the restore's owner tags, then loads the dump into it: every table is equal", func() {
		target, master := emptyDatabase("oscar_new")
		secret("oscar-master", master)
		rr := runRestore(restores.New(ns, "oscar-new", restores.FromBackup("oscar-pg"), restores.DumpIntoNewInstance("oscar-new-db", "oscar-master", "db.t3.medium")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
		Expect(reasonOfRR(rr, backupv1alpha1.ConditionDatabaseRestored)).To(BeEquivalentTo(backupv1alpha1.ReasonDumpLoaded))
		Expect(rr.Status.IsConditionTrue(backupv1alpha1.ConditionSearchReindexRequired)).To(BeTrue())
		db := rr.Status.Database
		Expect(db.InstanceID).To(Equal("oscar-new-db"))
		Expect(db.Created).To(BeTrue())
		Expect(db.Endpoint).NotTo(BeEmpty())
		Expect(db.Dump).NotTo(BeNil())
		Expect(db.Dump.TablesChecked).To(BeNumerically(">", 0))
		Expect(rr.Status.Message).To(ContainSubstring("new instance oscar-new-db"))

		want, err := liferay.Checksums(suiteCtx, source)
		Expect(err).NotTo(HaveOccurred())
		Expect(liferay.Checksums(suiteCtx, target)).To(Equal(want))

		inst := describeInstance("oscar-new-db")
		br := getBR(ns, "oscar-pg")
		major, _, _ := strings.Cut(br.Status.Database.Dump.ServerVersion, ".")
		Expect(aws.ToString(inst.Engine)).To(Equal("postgres"))
		Expect(aws.ToString(inst.EngineVersion)).To(Equal(major), "the dump's server's major version")
		Expect(aws.ToString(inst.DBInstanceClass)).To(Equal("db.t3.medium"))
		Expect(aws.ToString(inst.MasterUsername)).To(Equal(master["user"]))
		Expect(aws.ToString(inst.DBName)).To(Equal(master["database"]))
		Expect(aws.ToBool(inst.StorageEncrypted)).To(BeTrue())
		Expect(aws.ToBool(inst.PubliclyAccessible)).To(BeFalse())
		Expect(aws.ToInt32(inst.AllocatedStorage)).To(BeEquivalentTo(20), "a small dump gets the floor")
		owner := provider.BackupOwner{ProjectID: project, Environment: "prd", Namespace: ns, Name: "oscar-new", UID: string(rr.UID)}
		Expect(tagsOf(inst)).To(HaveKeyWithValue(provider.TagOwnerUID, string(rr.UID)))
		Expect(provider.OwnerFromTags(tagsOf(inst))).To(Equal(owner))

		noPassword(rr)
		record := cloud.GetObject(store, strings.TrimPrefix(db.Dump.RecordLocation, "s3://"+store+"/"))
		Expect(string(record)).NotTo(ContainSubstring(password))
		eventReasons(ns, "oscar-new", string(backupv1alpha1.ReasonRestoringDatabase), string(backupv1alpha1.ReasonLoadingDump),
			string(backupv1alpha1.ReasonDumpLoaded))
	})

	It("runs the load as a Job given the instance's endpoint and the Secret by reference; a failed load keeps the instance, deleting the restore removes it", func() {
		_, master := emptyDatabase("oscar_job")
		secret("oscar-master-job", master)
		ctrlr.Stop()
		ctrlr = startController(moto.Endpoint, opts, func(c *setup.Config) {
			c.Dumper = setup.DumperConfig{Runner: setup.DumpRunnerJob, Image: "registry.example/lc2-dumper:1.2.3", ServiceAccount: "lc2-dumper"}
		})
		DeferCleanup(func() {
			ctrlr.Stop()
			ctrlr = startController(moto.Endpoint, opts, withProcessDumper)
		})
		rr := restores.New(ns, "oscar-job", restores.FromBackup("oscar-pg"), restores.DumpIntoNewInstance("oscar-new-job-db", "oscar-master-job", "db.t3.medium"))
		Expect(k8sClient.Create(suiteCtx, rr)).To(Succeed())
		job := &batchv1.Job{}
		Eventually(func() error {
			return k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "lc2-restore-" + string(rr.UID)}, job)
		}).WithTimeout(time.Minute).Should(Succeed())
		c := job.Spec.Template.Spec.Containers[0]
		Expect(c.Args).To(Equal([]string{"restore"}))
		host, port, err := net.SplitHostPort(opts.DumpInstanceEndpoints["oscar-new-*"])
		Expect(err).NotTo(HaveOccurred())
		Expect(c.Env).To(ContainElements(corev1.EnvVar{Name: dump.EnvHost, Value: host}, corev1.EnvVar{Name: dump.EnvPort, Value: port}))
		Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: dump.EnvPassword, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "oscar-master-job"}, Key: "password"}}}))
		stored, err := yamlOf(job)
		Expect(err).NotTo(HaveOccurred())
		Expect(stored).NotTo(ContainSubstring(password), "no secret value anywhere in the Job")
		Expect(cloud.DBInstanceExists("oscar-new-job-db")).To(BeTrue())

		finishJob(job, batchv1.JobFailed)
		Eventually(rrPhaseOf(ns, "oscar-job")).WithTimeout(time.Minute).Should(Equal(backupv1alpha1.RestorePhaseFailed))
		failed := getRR(ns, "oscar-job")
		Expect(failed.Status.Database.InstanceID).To(Equal("oscar-new-job-db"))
		noPassword(failed)
		Expect(cloud.DBInstanceExists("oscar-new-job-db")).To(BeTrue(), "a failed restore keeps its instance, as a snapshot restore does")

		Expect(k8sClient.Delete(suiteCtx, failed)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "oscar-job"}, &backupv1alpha1.RestoreRequest{}))
		}).WithTimeout(time.Minute).Should(BeTrue())
		Expect(cloud.DBInstanceExists("oscar-new-job-db")).To(BeFalse(), "deleting an unfinished restore deletes the instance it created")
	})

	It("refuses an instance id that exists and is not the restore's, before any write, and leaves that instance alone", func() {
		cloud.CreateDBInstance("oscar-taken-db", fixtures.ProjectTag(project))
		before := tagsOf(describeInstance("oscar-taken-db"))
		_, master := emptyDatabase("oscar_taken")
		secret("oscar-master-taken", master)
		rr := runRestore(restores.New(ns, "oscar-taken", restores.FromBackup("oscar-pg"), restores.DumpIntoNewInstance("oscar-taken-db", "oscar-master-taken", "db.t3.medium")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(rr.Status.ValidationErrors).To(ConsistOf(ContainSubstring("spec.database.targetInstanceId: instance oscar-taken-db already exists")))
		Expect(rr.Status.Database).To(BeNil(), "nothing created, no run started")
		Expect(tagsOf(describeInstance("oscar-taken-db"))).To(Equal(before))
		Expect(cloud.ListKeys(store, project+"/.restores/"+ns+"/oscar-taken-"+string(rr.UID)+"/")).To(BeEmpty(), "no record written")
		noPassword(rr)

		By("and deleting the refused restore does not delete it")
		Expect(k8sClient.Delete(suiteCtx, rr)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "oscar-taken"}, &backupv1alpha1.RestoreRequest{}))
		}).WithTimeout(time.Minute).Should(BeTrue())
		Expect(cloud.DBInstanceExists("oscar-taken-db")).To(BeTrue())
	})

	It("refuses a dump backup with targetInstanceId alone, saying to add connectionSecretRef, before any write", func() {
		rr := runRestore(restores.New(ns, "oscar-only", restores.FromBackup("oscar-pg"), restores.Database("oscar-new-only-db")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(rr.Status.ValidationErrors).To(ConsistOf(And(HavePrefix("spec.database.targetInstanceId:"),
			ContainSubstring("add spec.database.connectionSecretRef"), ContainSubstring("master user, password and database"))))
		Expect(rr.Status.Database).To(BeNil())
		Expect(cloud.DBInstanceExists("oscar-new-only-db")).To(BeFalse())
	})

	It("refuses a master Secret without a password, naming the key, or naming another engine, before any write", func() {
		_, master := emptyDatabase("oscar_nopass")
		delete(master, "password")
		secret("oscar-master-nopass", master)
		rr := runRestore(restores.New(ns, "oscar-nopass", restores.FromBackup("oscar-pg"), restores.DumpIntoNewInstance("oscar-new-nopass-db", "oscar-master-nopass", "db.t3.medium")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(rr.Status.ValidationErrors).To(ConsistOf(ContainSubstring(`has no value for the key "password"`)))
		Expect(rr.Status.Database).To(BeNil())
		Expect(cloud.DBInstanceExists("oscar-new-nopass-db")).To(BeFalse())

		By("and one whose engine is not the dump's")
		_, master = emptyDatabase("oscar_engine")
		master["engine"] = "mysql"
		secret("oscar-master-engine", master)
		rr = runRestore(restores.New(ns, "oscar-engine", restores.FromBackup("oscar-pg"), restores.DumpIntoNewInstance("oscar-new-engine-db", "oscar-master-engine", "db.t3.medium")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(rr.Status.ValidationErrors).To(ConsistOf(ContainSubstring(`names the engine "mysql", and the new instance gets the dump's, "postgres"`)))
		Expect(cloud.DBInstanceExists("oscar-new-engine-db")).To(BeFalse())
	})
})
