package integration

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/controller"
	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/setup"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
	"github.com/liferay/lc2-backup-controller/test/fixtures/restores"
	"github.com/liferay/lc2-backup-controller/test/harness"
	"github.com/liferay/lc2-backup-controller/test/harness/liferay"
)

// RestoreRequests that load a dump backup into a database named by a Secret, and
// verifyOnly's full read of a dump, through the process runner (the same dumper
// command a Job runs) on real PostgreSQL and MariaDB servers and the AWS emulator.
var _ = Describe("A RestoreRequest of a dump backup", Ordered, func() {
	const (
		project = "mike"
		ns      = "proj-mike-prd"
		library = "mike-dl"
		store   = "mike-backups"
	)
	var (
		ctrlr *runningController
		pg    *harness.Postgres
		maria *harness.MariaDB
		opts  controller.Options
	)
	processRunner := withProcessDumper

	// database is one database of a test server: its connection Secret's keys and
	// an open handle.
	type database struct {
		secret map[string]string
		db     *sql.DB
	}
	secret := func(name string, data map[string]string) { GinkgoHelper(); createSecret(ns, name, data) }
	newPostgres := func(prefix string) database {
		GinkgoHelper()
		dsn, err := pg.NewDatabase(suiteCtx, prefix)
		Expect(err).NotTo(HaveOccurred())
		u, err := url.Parse(dsn)
		Expect(err).NotTo(HaveOccurred())
		pass, _ := u.User.Password()
		db, err := sql.Open("postgres", dsn)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(db.Close)
		return database{db: db, secret: map[string]string{"engine": "postgres", "host": u.Hostname(), "port": u.Port(),
			"database": strings.TrimPrefix(u.Path, "/"), "user": u.User.Username(), "password": pass, "sslmode": "disable"}}
	}
	newMariaDB := func(prefix string) database {
		GinkgoHelper()
		dsn, err := maria.NewDatabase(suiteCtx, prefix)
		Expect(err).NotTo(HaveOccurred())
		cfg, err := mysql.ParseDSN(dsn)
		Expect(err).NotTo(HaveOccurred())
		db, err := sql.Open("mysql", dsn)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(db.Close)
		return database{db: db, secret: map[string]string{"engine": "mariadb", "host": maria.Host(), "port": strconv.Itoa(maria.Port()),
			"database": cfg.DBName, "user": cfg.User, "password": cfg.Passwd}}
	}
	seed := func(d database, engine liferay.Engine) {
		GinkgoHelper()
		_, err := liferay.Seed(suiteCtx, d.db, engine, 11, liferay.Counts{Companies: 1, GroupsPerCompany: 2, FoldersPerGroup: 2,
			FilesPerFolder: 2, VersionsPerFile: 2, BulkRows: 150, BulkRowBytes: 256})
		Expect(err).NotTo(HaveOccurred())
	}
	checksums := func(d database) map[string]liferay.TableSum {
		GinkgoHelper()
		sums, err := liferay.Checksums(suiteCtx, d.db)
		Expect(err).NotTo(HaveOccurred())
		return sums
	}
	tableCount := func(d database, engine string) int {
		GinkgoHelper()
		q := "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'"
		if engine != dump.EnginePostgres {
			q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()"
		}
		var n int
		Expect(d.db.QueryRowContext(suiteCtx, q).Scan(&n)).To(Succeed())
		return n
	}

	var pgSource, mariaSource database
	BeforeAll(func() {
		projectNamespace(ns, project)
		cloud.CreateBucket(library, fixtures.ProjectTag(project))
		cloud.CreateBucket(store, fixtures.ProjectTag(project))
		cloud.PutObject(library, "document_library/20097/1.0", []byte("live file"))

		var err error
		pg, err = harness.StartPostgresWith(suiteCtx, harness.PostgresOptions{Password: "mike-Pg-pass#5"})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(pg.Stop)
		maria, err = harness.StartMariaDB(suiteCtx)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(maria.Stop)

		pgSource = newPostgres("mike_src")
		seed(pgSource, liferay.PostgreSQL)
		secret("mike-pg-source", pgSource.secret)
		mariaSource = newMariaDB("mike_src")
		seed(mariaSource, liferay.MySQL)
		secret("mike-maria-source", mariaSource.secret)

		opts = controllerOptions()
		opts.DumpPollInterval = 2 * time.Second
		ctrlr = startController(moto.Endpoint, opts, processRunner)
		DeferCleanup(func() { ctrlr.Stop() })

		for _, b := range []struct{ name, secret string }{{"mike-pg", "mike-pg-source"}, {"mike-maria", "mike-maria-source"}} {
			br := newBackupRequest(ns, b.name, project, backups.DocumentLibrary(library, store, "mike/prd/"+b.name+"/"), backups.Dump(b.secret))
			Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		}
		for _, name := range []string{"mike-pg", "mike-maria"} {
			Eventually(phaseOf(ns, name)).WithTimeout(3 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		}
	})

	// loaded checks a Succeeded dump load as a user sees it: the conditions, the
	// status, the dumper's record in the restore's record, and the events.
	loaded := func(rr *backupv1alpha1.RestoreRequest, backup string) {
		GinkgoHelper()
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
		Expect(reasonOfRR(rr, backupv1alpha1.ConditionDatabaseRestored)).To(BeEquivalentTo(backupv1alpha1.ReasonDumpLoaded))
		Expect(rr.Status.IsConditionTrue(backupv1alpha1.ConditionSearchReindexRequired)).To(BeTrue())
		d := rr.Status.Database.Dump
		br := getBR(ns, backup)
		Expect(d.Source).To(Equal(br.Status.Database.Dump.Location))
		Expect(d.SizeBytes).To(Equal(br.Status.Database.Dump.SizeBytes))
		Expect(d.TablesChecked).To(BeNumerically(">", 0))
		Expect(d.CompletionTime).NotTo(BeNil())

		bucket, key, ok := strings.Cut(strings.TrimPrefix(d.RecordLocation, "s3://"), "/")
		Expect(ok).To(BeTrue())
		record := &dump.RestoreResult{}
		data := cloud.GetObject(bucket, key)
		Expect(json.Unmarshal(data, record)).To(Succeed())
		Expect(record.State).To(Equal(dump.StateSucceeded))
		Expect(record.Run).To(Equal(d.StartTime.UTC().Format(time.RFC3339)), "the record of this run")
		Expect(record.Tables).To(HaveLen(int(d.TablesChecked)))
		for _, v := range []string{"mike-Pg-pass#5", maria.Password()} {
			Expect(string(data)).NotTo(ContainSubstring(v))
			Expect(rr.Status.Message).NotTo(ContainSubstring(v))
		}
		eventReasonsRR := func() []string {
			var reasons []string
			for _, e := range eventsFor(ns, rr.Name, func(eventsv1.Event) bool { return true }) {
				reasons = append(reasons, e.Reason)
			}
			return reasons
		}
		Eventually(eventReasonsRR).Should(ContainElements(string(backupv1alpha1.ReasonLoadingDump), string(backupv1alpha1.ReasonDumpLoaded)))
	}

	It("loads a PostgreSQL dump into an empty database: every table is equal, row for row", func() {
		target := newPostgres("mike_pg_target")
		secret("mike-pg-target", target.secret)
		rr := runRestore(restores.New(ns, "mike-pg-load", restores.FromBackup("mike-pg"), restores.DumpInto("mike-pg-target", "")))
		loaded(rr, "mike-pg")
		Expect(checksums(target)).To(Equal(checksums(pgSource)))
	})

	It("loads a MariaDB dump into an empty database: every table is equal, row for row", func() {
		target := newMariaDB("mike_maria_target")
		secret("mike-maria-target", target.secret)
		rr := runRestore(restores.New(ns, "mike-maria-load", restores.FromBackup("mike-maria"), restores.DumpInto("mike-maria-target", "")))
		loaded(rr, "mike-maria")
		Expect(checksums(target)).To(Equal(checksums(mariaSource)))
	})

	It("refuses a target that has tables, loading nothing, unless the overwrite is confirmed", func() {
		target := newPostgres("mike_pg_full")
		seed(target, liferay.PostgreSQL)
		_, err := target.db.ExecContext(suiteCtx, "CREATE TABLE keep_me (id int); INSERT INTO keep_me VALUES (1), (2); DELETE FROM dlfileentry WHERE fileentryid IN (SELECT fileentryid FROM dlfileentry LIMIT 1)")
		Expect(err).NotTo(HaveOccurred())
		secret("mike-pg-full", target.secret)
		before := checksums(target)

		By("Refuse (the default): the dumper finds tables and loads nothing")
		rr := runRestore(restores.New(ns, "mike-pg-full-refused", restores.FromBackup("mike-pg"), restores.DumpInto("mike-pg-full", "")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(rr.Status.Condition(backupv1alpha1.ConditionReady).Reason).To(BeEquivalentTo(backupv1alpha1.ReasonTargetNotEmpty))
		Expect(rr.Status.Message).To(ContainSubstring("already has"))
		Expect(checksums(target)).To(Equal(before))

		By("Overwrite without the annotation: refused by validation, before any write or run")
		rr = runRestore(restores.New(ns, "mike-pg-full-unconfirmed", restores.FromBackup("mike-pg"),
			restores.DumpInto("mike-pg-full", backupv1alpha1.ExistingDataOverwrite)))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(rr.Status.ValidationErrors).To(ContainElement(ContainSubstring(backupv1alpha1.ConfirmDatabaseOverwriteAnnotation)))
		Expect(rr.Status.Database).To(BeNil(), "no run started")
		Expect(cloud.ListKeys(store, project+"/.restores/"+ns+"/mike-pg-full-unconfirmed-"+string(rr.UID)+"/")).To(BeEmpty(), "no record written")

		By("Overwrite, confirmed: the dump's tables are replaced, the others stay")
		rr = runRestore(restores.New(ns, "mike-pg-full-confirmed", restores.FromBackup("mike-pg"),
			restores.DumpInto("mike-pg-full", backupv1alpha1.ExistingDataOverwrite),
			restores.Annotation(backupv1alpha1.ConfirmDatabaseOverwriteAnnotation, "mike-pg-full")))
		loaded(rr, "mike-pg")
		Expect(checksums(target)).To(Equal(checksums(pgSource)))
		var kept int
		Expect(target.db.QueryRowContext(suiteCtx, "SELECT COUNT(*) FROM keep_me").Scan(&kept)).To(Succeed())
		Expect(kept).To(Equal(2), "a table the dump does not hold is left alone")
	})

	It("fails a load the target server refuses, naming the Secret's key and never the password", func() {
		target := newPostgres("mike_pg_wrong")
		wrong := target.secret
		wrong["password"] = "not-the-password-9"
		secret("mike-pg-wrong", wrong)
		rr := runRestore(restores.New(ns, "mike-pg-wrong", restores.FromBackup("mike-pg"), restores.DumpInto("mike-pg-wrong", "")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(rr.Status.Condition(backupv1alpha1.ConditionReady).Reason).To(BeEquivalentTo(backupv1alpha1.ReasonDatabaseAuthenticationFailed))
		Expect(rr.Status.Message).To(ContainSubstring(`"password"`))
		Expect(rr.Status.Message).To(ContainSubstring(ns + "/mike-pg-wrong"))
		Expect(rr.Status.Message).NotTo(ContainSubstring("not-the-password-9"))
		Expect(tableCount(target, dump.EnginePostgres)).To(BeZero())
	})

	It("refuses a Secret lacking a key before any write, naming the key", func() {
		lacking := newPostgres("mike_pg_lacking").secret
		delete(lacking, "database")
		secret("mike-pg-lacking", lacking)
		rr := runRestore(restores.New(ns, "mike-pg-lacking", restores.FromBackup("mike-pg"), restores.DumpInto("mike-pg-lacking", "")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(rr.Status.ValidationErrors).To(ConsistOf(ContainSubstring(`has no value for the key "database"`)))
		Expect(rr.Status.Database).To(BeNil(), "no run started")
	})

	It("refuses an IAM load whose Secret says sslmode disable before any write, naming the key; a password is then not required", func() {
		plain := newPostgres("mike_pg_iam_plain").secret
		delete(plain, "password") // not needed with IAM: only the sslmode is refused
		secret("mike-pg-iam-plain", plain)
		rr := restores.New(ns, "mike-pg-iam-plain", restores.FromBackup("mike-pg"), restores.DumpInto("mike-pg-iam-plain", ""))
		rr.Spec.Database.Authentication = backupv1alpha1.DatabaseAuthIAM
		rr = runRestore(rr)
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(rr.Status.ValidationErrors).To(ConsistOf(ContainSubstring(`key "sslmode" is disable, but an RDS IAM token is sent only over TLS`)))
		Expect(rr.Status.Database).To(BeNil(), "no run started")
	})

	It("verifyOnly reads the dump in full; a dump truncated in the store fails the check", func() {
		rr := runRestore(restores.New(ns, "mike-pg-verify", restores.FromBackup("mike-pg"), restores.VerifyOnly()))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
		Expect(rr.Status.Verification.Dump).NotTo(BeNil())
		Expect(rr.Status.Verification.Dump.Result).To(Equal(backupv1alpha1.DumpVerificationPassed))
		Expect(rr.Status.Condition(backupv1alpha1.ConditionVerified).Message).To(ContainSubstring("read in full"))

		By("a backup whose stored dump lost its last bytes")
		br := newBackupRequest(ns, "mike-pg-cut", project, backups.DocumentLibrary(library, store, "mike/prd/cut/"), backups.Dump("mike-pg-source"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, "mike-pg-cut")).WithTimeout(3 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		stored := cloud.GetObject(store, "mike/prd/cut/database/dump.pgdump")
		cloud.PutObject(store, "mike/prd/cut/database/dump.pgdump", stored[:len(stored)-64])

		rr = runRestore(restores.New(ns, "mike-pg-cut-verify", restores.FromBackup("mike-pg-cut"), restores.VerifyOnly()))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(rr.Status.Condition(backupv1alpha1.ConditionReady).Reason).To(BeEquivalentTo(backupv1alpha1.ReasonBackupIncomplete))
		Expect(rr.Status.Verification.Dump.Result).To(Equal(backupv1alpha1.DumpVerificationFailed))
		Expect(rr.Status.Message).To(ContainSubstring("the full read failed"))

		By("and a load of it fails too, on the bytes that do not match the record")
		target := newPostgres("mike_pg_cut")
		secret("mike-pg-cut-target", target.secret)
		rr = runRestore(restores.New(ns, "mike-pg-cut-load", restores.FromBackup("mike-pg-cut"), restores.DumpInto("mike-pg-cut-target", "")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(tableCount(target, dump.EnginePostgres)).To(BeZero(), "one transaction: nothing of a failed load stays")
	})

	It("runs a load as a Job owned by the RestoreRequest, the Secret by reference, and fails it when the Job fails without a record", func() {
		target := newPostgres("mike_pg_job")
		secret("mike-pg-job", target.secret)
		ctrlr.Stop()
		ctrlr = startController(moto.Endpoint, opts, func(c *setup.Config) {
			c.Dumper = setup.DumperConfig{Runner: setup.DumpRunnerJob, Image: "registry.example/lc2-dumper:1.2.3", ServiceAccount: "lc2-dumper"}
		})
		rr := restores.New(ns, "mike-pg-job", restores.FromBackup("mike-pg"), restores.DumpInto("mike-pg-job", ""))
		Expect(k8sClient.Create(suiteCtx, rr)).To(Succeed())
		name := "lc2-restore-" + string(rr.UID)
		job := &batchv1.Job{}
		Eventually(func() error { return k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: name}, job) }).WithTimeout(time.Minute).Should(Succeed())
		Expect(job.OwnerReferences).To(ConsistOf(And(HaveField("UID", rr.UID), HaveField("Kind", "RestoreRequest"), HaveField("Controller", ptr.To(true)))))
		Expect(job.Spec.BackoffLimit).To(Equal(ptr.To[int32](0)))
		Expect(job.Spec.ActiveDeadlineSeconds).NotTo(BeNil())
		c := job.Spec.Template.Spec.Containers[0]
		Expect(c.Image).To(Equal("registry.example/lc2-dumper:1.2.3"))
		Expect(c.Args).To(Equal([]string{"restore"}))
		Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: dump.EnvPassword, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "mike-pg-job"}, Key: "password"}}}))
		Expect(c.Env).To(ContainElement(HaveField("Name", dump.EnvExpectSHA256)))
		stored, err := yamlOf(job)
		Expect(err).NotTo(HaveOccurred())
		Expect(stored).NotTo(ContainSubstring(target.secret["password"]), "no secret value anywhere in the Job")

		finishJob(job, batchv1.JobFailed)
		Eventually(rrPhaseOf(ns, "mike-pg-job")).WithTimeout(time.Minute).Should(Equal(backupv1alpha1.RestorePhaseFailed))
		failed := getRR(ns, "mike-pg-job")
		Expect(failed.Status.Message).To(ContainSubstring("without writing its record"))
		Expect(failed.Status.Message).To(ContainSubstring("DeadlineExceeded"))
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: name}, &batchv1.Job{}))
		}).WithTimeout(time.Minute).Should(BeTrue(), "a failed restore removes its Job")
	})

	It("runs a load that logs in with an RDS IAM token as a Job without the password, with the IAM switch and the store's region", func() {
		target := newPostgres("mike_pg_iam")
		iamSecret := map[string]string{}
		for k, v := range target.secret {
			if k != "sslmode" { // disable: refused with IAM, which needs TLS
				iamSecret[k] = v
			}
		}
		secret("mike-pg-iam", iamSecret)
		ctrlr.Stop()
		ctrlr = startController(moto.Endpoint, opts, func(c *setup.Config) {
			c.Dumper = setup.DumperConfig{Runner: setup.DumpRunnerJob, Image: "registry.example/lc2-dumper:1.2.3", ServiceAccount: "lc2-dumper"}
		})
		rr := restores.New(ns, "mike-pg-iam", restores.FromBackup("mike-pg"), restores.DumpInto("mike-pg-iam", ""))
		rr.Spec.Database.Authentication = backupv1alpha1.DatabaseAuthIAM
		Expect(k8sClient.Create(suiteCtx, rr)).To(Succeed())
		job := &batchv1.Job{}
		Eventually(func() error {
			err := k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "lc2-restore-" + string(rr.UID)}, job)
			if err != nil {
				return fmt.Errorf("%w (the restore: %s)", err, getRR(ns, "mike-pg-iam").Status.Message)
			}
			return nil
		}).WithTimeout(time.Minute).Should(Succeed())
		Expect(job.Spec.Template.Spec.ServiceAccountName).To(Equal("lc2-dumper"))
		c := job.Spec.Template.Spec.Containers[0]
		Expect(c.Args).To(Equal([]string{"restore"}))
		Expect(c.Env).NotTo(ContainElement(HaveField("Name", dump.EnvPassword)))
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				Expect(e.ValueFrom.SecretKeyRef.Key).NotTo(Equal(dump.SecretKeyPassword), "%s takes the Secret's password", e.Name)
			}
		}
		Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: dump.EnvAuth, Value: dump.AuthIAM}))
		Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: dump.EnvIAMRegion, Value: "us-east-1"}))
		stored, err := yamlOf(job)
		Expect(err).NotTo(HaveOccurred())
		Expect(stored).NotTo(ContainSubstring(target.secret["password"]), "no secret value anywhere in the Job")

		Expect(k8sClient.Delete(suiteCtx, getRR(ns, "mike-pg-iam"))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "mike-pg-iam"}, &backupv1alpha1.RestoreRequest{}))
		}).WithTimeout(time.Minute).Should(BeTrue())
	})

	It("stops the dumper when the RestoreRequest is deleted mid-load, and loads nothing", func() {
		target := newPostgres("mike_pg_cancel")
		secret("mike-pg-cancel", target.secret)
		slowProxy.Hold(func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/mike/prd/mike-pg/database/dump.pgdump")
		})
		DeferCleanup(slowProxy.Release)
		ctrlr.Stop()
		ctrlr = startController(slowProxy.URL, opts, processRunner)
		rr := restores.New(ns, "mike-pg-cancel", restores.FromBackup("mike-pg"), restores.DumpInto("mike-pg-cancel", ""))
		Expect(k8sClient.Create(suiteCtx, rr)).To(Succeed())
		waitParked(slowProxy, 1)
		Expect(getRR(ns, "mike-pg-cancel").Status.Database.Dump.JobName).NotTo(BeEmpty())

		Expect(k8sClient.Delete(suiteCtx, getRR(ns, "mike-pg-cancel"))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "mike-pg-cancel"}, &backupv1alpha1.RestoreRequest{}))
		}).WithTimeout(2 * time.Minute).Should(BeTrue())
		slowProxy.Drop()
		Consistently(func() int { return tableCount(target, dump.EnginePostgres) }).WithTimeout(3 * time.Second).Should(BeZero())
		Expect(cloud.ListKeys(store, project+"/.restores/"+ns+"/mike-pg-cancel-"+string(rr.UID)+"/")).To(BeEmpty(), "the record went with it")
	})
	It("keeps a loaded restore's record while the store refuses its deletion, and removes it once the store answers", func() {
		target := newPostgres("mike_pg_guarded")
		secret("mike-pg-guarded", target.secret)
		rr := runRestore(restores.New(ns, "mike-pg-guarded", restores.FromBackup("mike-pg"), restores.DumpInto("mike-pg-guarded", "")))
		loaded(rr, "mike-pg")
		record := project + "/.restores/" + ns + "/mike-pg-guarded-" + string(rr.UID) + "/"
		before := fixtures.ContentsOf(cloud, store, record)
		Expect(before).To(HaveKey("database/restore.json"))

		By("the store answering 503 to every delete")
		ctrlr.Stop()
		ctrlr = startController(slowProxy.URL, opts, processRunner)
		slowProxy.Refuse(isDelete)
		DeferCleanup(func() { slowProxy.Accept() })
		Expect(k8sClient.Delete(suiteCtx, getRR(ns, "mike-pg-guarded"))).To(Succeed())
		Eventually(slowProxy.Refused).WithTimeout(2*time.Minute).Should(BeNumerically(">=", 1), "the deletion tried to remove the record")
		Eventually(func() []string {
			var reasons []string
			for _, e := range eventsFor(ns, "mike-pg-guarded", func(e eventsv1.Event) bool { return e.Type == corev1.EventTypeWarning }) {
				reasons = append(reasons, e.Reason)
			}
			return reasons
		}).Should(ContainElement(string(backupv1alpha1.ReasonCleanupFailed)))
		Consistently(func() error {
			return k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "mike-pg-guarded"}, &backupv1alpha1.RestoreRequest{})
		}).WithTimeout(3*time.Second).Should(Succeed(), "the finalizer stays while the record cannot be removed")
		Expect(fixtures.ContentsOf(cloud, store, record)).To(Equal(before), "a refused delete removes nothing")

		By("the store accepting deletes again")
		Expect(slowProxy.Accept()).To(BeNumerically(">=", 1))
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "mike-pg-guarded"}, &backupv1alpha1.RestoreRequest{}))
		}).WithTimeout(2 * time.Minute).Should(BeTrue())
		Expect(cloud.ListKeys(store, record)).To(BeEmpty(), "the record went with it")
		Expect(checksums(target)).To(Equal(checksums(pgSource)), "deleting a restore never takes back what it loaded")
	})
})
