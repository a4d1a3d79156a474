package integration

import (
	"bytes"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
	"github.com/liferay/lc2-backup-controller/test/fixtures/restores"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

func getRR(namespace, name string) *backupv1alpha1.RestoreRequest {
	GinkgoHelper()
	rr := &backupv1alpha1.RestoreRequest{}
	Expect(k8sClient.Get(suiteCtx, keyOf(namespace, name), rr)).To(Succeed())
	return rr
}

func rrPhaseOf(namespace, name string) func() backupv1alpha1.RestorePhase {
	return func() backupv1alpha1.RestorePhase { return getRR(namespace, name).Status.Phase }
}

// runRestore creates rr and waits for its end.
func runRestore(rr *backupv1alpha1.RestoreRequest) *backupv1alpha1.RestoreRequest {
	GinkgoHelper()
	Expect(k8sClient.Create(suiteCtx, rr)).To(Succeed())
	Eventually(rrPhaseOf(rr.Namespace, rr.Name)).WithTimeout(2*time.Minute).
		Should(BeElementOf(backupv1alpha1.RestorePhaseSucceeded, backupv1alpha1.RestorePhaseFailed), rr.Name)
	return getRR(rr.Namespace, rr.Name)
}

func reasonOfRR(rr *backupv1alpha1.RestoreRequest, t backupv1alpha1.ConditionType) string {
	if c := rr.Status.Condition(t); c != nil {
		return c.Reason
	}
	return ""
}

func instanceExists(id string) bool {
	GinkgoHelper()
	out, err := cloud.RDS.DescribeDBInstances(suiteCtx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return false
	}
	return len(out.DBInstances) == 1
}

func warningReasons(namespace, name string) []string {
	var out []string
	for _, e := range warningEventsFor(namespace, name) {
		out = append(out, e.Reason)
	}
	return out
}

// copyCounter counts the server-side copies into bucket under prefix that pass the proxy.
func copyCounter(bucket, prefix string, n *atomic.Int64) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "" && strings.HasPrefix(r.URL.Path, "/"+bucket+"/"+prefix) {
			n.Add(1)
		}
		return false
	}
}

var _ = Describe("RestoreRequest", Ordered, func() {
	const (
		project  = "rst"
		db       = "rst-prd-db"
		source   = "liferay-rst-prd-dl"
		bucket   = "rst-backups"
		restored = "rst-restored"
	)
	var (
		ns    string
		ctrlr *runningController
		base  *backupv1alpha1.BackupRequest
	)
	backup := func(name string) *backupv1alpha1.BackupRequest {
		GinkgoHelper()
		br := newBackupRequest(ns, name, project, backups.Full(db, source, bucket, project+"/prd/"+name+"/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		return getBR(ns, name)
	}

	BeforeAll(func() {
		ns = projectNamespace("proj-rst-prd", project)
		cloud.CreateDBInstance(db, fixtures.ProjectTag(project))
		cloud.SeedDocumentLibrary(source, 20, fixtures.ProjectTag(project))
		cloud.CreateBucket(bucket, fixtures.ProjectTag(project))
		cloud.CreateBucket(restored, fixtures.ProjectTag(project))
		ctrlr = startController(moto.Endpoint, controllerOptions())
		base = backup("base")
	})
	AfterAll(func() {
		if ctrlr != nil {
			ctrlr.Stop()
		}
	})

	It("restores the database and every file, byte for byte", func() {
		rr := runRestore(restores.New(ns, "full", restores.FromBackup("base"), restores.Database("rst-full-db"),
			restores.Files(restored, "full/", "")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
		Expect(rr.Status.IsConditionTrue(backupv1alpha1.ConditionSourceVerified)).To(BeTrue())
		Expect(rr.Status.IsConditionTrue(backupv1alpha1.ConditionDatabaseRestored)).To(BeTrue())
		reindex := rr.Status.Condition(backupv1alpha1.ConditionSearchReindexRequired)
		Expect(reindex).NotTo(BeNil(), "a restored database needs its search index rebuilt")
		Expect(reindex.Status).To(Equal(metav1.ConditionTrue))
		Expect(reindex.Message).To(ContainSubstring("Reindex all search indexes"))
		Expect(rr.Status.IsConditionTrue(backupv1alpha1.ConditionDocumentLibraryRestored)).To(BeTrue())
		Expect(rr.Status.Source.ManifestChecksum).To(Equal(base.Status.Manifest.Checksum))
		Expect(rr.Status.Database.Created).To(BeTrue())
		Expect(rr.Status.Database.Endpoint).NotTo(BeEmpty())
		Expect(instanceExists("rst-full-db")).To(BeTrue())

		want := cloud.Contents(source, "document_library/20097/20121/")
		got := cloud.Contents(restored, "full/")
		Expect(got).To(HaveLen(20))
		for key, data := range want {
			Expect(got).To(HaveKey("full/" + strings.TrimPrefix(key, "document_library/")))
			Expect(bytes.Equal(got["full/"+strings.TrimPrefix(key, "document_library/")], data)).To(BeTrue(), key)
		}
		Expect(rr.Status.DocumentLibrary.ObjectsRestored).To(BeEquivalentTo(20))

		By("exporting the restore's metrics, in agreement with its status")
		pe := `{environment="prd",project_id="rst"}`
		Eventually(func(g Gomega) {
			samples := scrape(g, ctrlr.metricsURL)
			g.Expect(samples).To(HaveKeyWithValue(`restore_requests_total{environment="prd",project_id="rst",state="started"}`, 1.0))
			g.Expect(samples).To(HaveKeyWithValue(`restore_requests_total{environment="prd",project_id="rst",state="succeeded"}`, 1.0))
			g.Expect(samples).To(HaveKeyWithValue("restore_duration_seconds_count"+pe, 1.0))
			g.Expect(samples).To(HaveKeyWithValue("restore_objects_total"+pe, float64(rr.Status.DocumentLibrary.ObjectsRestored)))
			g.Expect(samples).To(HaveKeyWithValue("restore_bytes_total"+pe, float64(rr.Status.DocumentLibrary.BytesRestored)))
		}).WithTimeout(metricsPatience).Should(Succeed())
	})

	It("restores only the database, and only the files", func() {
		dbOnly := runRestore(restores.New(ns, "db-only", restores.FromBackup("base"), restores.Database("rst-dbonly-db")))
		Expect(dbOnly.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), dbOnly.Status.Message)
		Expect(dbOnly.Status.DocumentLibrary).To(BeNil())
		Expect(instanceExists("rst-dbonly-db")).To(BeTrue())

		files := runRestore(restores.New(ns, "files-only", restores.FromBackup("base"), restores.Files(restored, "files-only/", "")))
		Expect(files.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), files.Status.Message)
		Expect(files.Status.Database).To(BeNil())
		Expect(files.Status.Condition(backupv1alpha1.ConditionSearchReindexRequired)).To(BeNil(), "no database restored, nothing to reindex")
		Expect(cloud.ListKeys(restored, "files-only/")).To(HaveLen(20))
	})

	It("with Skip, brings back only deleted files into the live library and touches nothing else", func() {
		live := cloud.Contents(source, "document_library/")
		keys := cloud.ListKeys(source, "document_library/20097/20121/")
		deleted := []string{"document_library/20097/20121/" + keys[0], "document_library/20097/20121/" + keys[5]}
		modified := "document_library/20097/20121/" + keys[7]
		_, err := cloud.S3.DeleteObject(suiteCtx, deleteInput(source, deleted[0]))
		Expect(err).NotTo(HaveOccurred())
		_, err = cloud.S3.DeleteObject(suiteCtx, deleteInput(source, deleted[1]))
		Expect(err).NotTo(HaveOccurred())
		cloud.PutObject(source, modified, []byte("edited after the backup"))

		rr := runRestore(restores.New(ns, "skip", restores.FromBackup("base"),
			restores.Files(source, "document_library/", backupv1alpha1.ExistingObjectsSkip)))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
		Expect(rr.Status.DocumentLibrary.ObjectsRestored).To(BeEquivalentTo(2))
		Expect(rr.Status.DocumentLibrary.ObjectsSkipped).To(BeEquivalentTo(18))

		now := cloud.Contents(source, "document_library/")
		Expect(now).To(HaveLen(len(live)))
		for key, data := range live {
			if key == modified {
				Expect(string(now[key])).To(Equal("edited after the backup"), "Skip must not touch an existing file")
				continue
			}
			Expect(bytes.Equal(now[key], data)).To(BeTrue(), key)
		}
	})

	It("refuses Overwrite without the confirmation annotation, with a condition and an event", func() {
		rr := runRestore(restores.New(ns, "overwrite", restores.FromBackup("base"),
			restores.Files(restored, "full/", backupv1alpha1.ExistingObjectsOverwrite)))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(reasonOfRR(rr, backupv1alpha1.ConditionSourceVerified)).To(BeEquivalentTo(backupv1alpha1.ReasonOverwriteNotAllowed))
		Expect(rr.Status.ValidationErrors).To(ContainElement(ContainSubstring(backupv1alpha1.ConfirmOverwriteAnnotation)))
		Eventually(func() []string { return warningReasons(ns, "overwrite") }).WithTimeout(time.Minute).
			Should(ContainElement(string(backupv1alpha1.ReasonOverwriteNotAllowed)))
	})

	It("lists every validation problem at once: existing instance, non-empty prefix, foreign bucket", func() {
		cloud.CreateDBInstance("rst-taken-db", fixtures.ProjectTag(project))
		cloud.CreateBucket("rst-foreign", fixtures.ProjectTag("someone-else"))
		rr := runRestore(restores.New(ns, "taken", restores.FromBackup("base"), restores.Database("rst-taken-db"),
			restores.Files(restored, "full/", "")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(reasonOfRR(rr, backupv1alpha1.ConditionReady)).To(BeEquivalentTo(backupv1alpha1.ReasonValidationFailed))
		Expect(rr.Status.ValidationErrors).To(ConsistOf(
			ContainSubstring("spec.database.targetInstanceId"), ContainSubstring("spec.documentLibrary.targetPrefix")))

		foreign := runRestore(restores.New(ns, "foreign", restores.FromBackup("base"), restores.Files("rst-foreign", "x/", "")))
		Expect(reasonOfRR(foreign, backupv1alpha1.ConditionSourceVerified)).To(BeEquivalentTo(backupv1alpha1.ReasonResourceNotOwned))
		Expect(cloud.ListKeys("rst-foreign", "")).To(BeEmpty())
	})

	It("verifies an intact backup, and reports a deleted and a modified object", func() {
		ok := runRestore(restores.New(ns, "verify", restores.FromBackup("base"), restores.VerifyOnly()))
		Expect(ok.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), ok.Status.Message)
		Expect(ok.Status.IsConditionTrue(backupv1alpha1.ConditionVerified)).To(BeTrue())
		Expect(ok.Status.Verification.ObjectsChecked).To(BeEquivalentTo(20))

		damaged := backup("damaged")
		data := project + "/prd/damaged/data/"
		keys := cloud.ListKeys(bucket, data)
		_, err := cloud.S3.DeleteObject(suiteCtx, deleteInput(bucket, data+keys[1]))
		Expect(err).NotTo(HaveOccurred())
		cloud.PutObject(bucket, data+keys[2], []byte("bit rot"))
		bad := runRestore(restores.New(ns, "verify-damaged", restores.FromBackup(damaged.Name), restores.VerifyOnly()))
		Expect(bad.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(reasonOfRR(bad, backupv1alpha1.ConditionVerified)).To(BeEquivalentTo(backupv1alpha1.ReasonBackupIncomplete))
		Expect(bad.Status.Verification.ObjectsMissing).To(BeEquivalentTo(1))
		Expect(bad.Status.Verification.ObjectsDifferent).To(BeEquivalentTo(1))
		Expect(bad.Status.Verification.Problems).To(ConsistOf(ContainSubstring(keys[1]), ContainSubstring(keys[2])))
		Expect(cloud.ListKeys(bucket, project+"/.restores/")).NotTo(ContainElement(ContainSubstring("verify")), "verifyOnly writes nothing")
	})

	It("restores from a manifest URL where no BackupRequest exists, and refuses another project's namespace", func() {
		uat := projectNamespace("proj-rst-uat", project)
		rr := runRestore(restores.New(uat, "dr", restores.FromManifest(base.Status.Manifest.Location), restores.Files(restored, "dr/", "")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
		Expect(rr.Status.Source.BackupRequestName).To(BeEmpty())
		Expect(cloud.ListKeys(restored, "dr/")).To(HaveLen(20))

		other := projectNamespace("proj-thief", "thief")
		cloud.CreateBucket("thief-dl", fixtures.ProjectTag("thief"))
		stolen := runRestore(restores.New(other, "steal", restores.FromManifest(base.Status.Manifest.Location), restores.Files("thief-dl", "loot/", "")))
		Expect(reasonOfRR(stolen, backupv1alpha1.ConditionReady)).To(BeEquivalentTo(backupv1alpha1.ReasonProjectMismatch))
		Expect(cloud.ListKeys("thief-dl", "")).To(BeEmpty())
	})

	It("refuses a tampered manifest and a tampered inventory before writing anything", func() {
		original := cloud.GetObject(bucket, project+"/prd/base/manifest.json")
		tampered := bytes.Replace(original, []byte(`"environment": "prd"`), []byte(`"environment": "dev"`), 1)
		Expect(tampered).NotTo(Equal(original))
		cloud.PutObject(bucket, project+"/prd/tampered/manifest.json", tampered)
		rr := runRestore(restores.New(ns, "tampered-manifest", restores.FromManifest("s3://"+bucket+"/"+project+"/prd/tampered/manifest.json"),
			restores.Files(restored, "tampered/", "")))
		Expect(reasonOfRR(rr, backupv1alpha1.ConditionReady)).To(BeEquivalentTo(backupv1alpha1.ReasonChecksumMismatch))

		inv := backup("inv")
		parts := cloud.ListKeys(bucket, project+"/prd/inv/inventory/")
		Expect(parts).NotTo(BeEmpty())
		cloud.PutObject(bucket, project+"/prd/inv/inventory/"+parts[0], []byte("not the inventory"))
		rr = runRestore(restores.New(ns, "tampered-inventory", restores.FromBackup(inv.Name), restores.Files(restored, "tampered/", "")))
		Expect(reasonOfRR(rr, backupv1alpha1.ConditionReady)).To(BeEquivalentTo(backupv1alpha1.ReasonChecksumMismatch))
		Expect(cloud.ListKeys(restored, "tampered/")).To(BeEmpty())
	})

	It("refuses to repeat a completed restore unless allow-repeat is set", func() {
		first := runRestore(restores.New(ns, "once", restores.FromBackup("base"), restores.Files(restored, "once/", backupv1alpha1.ExistingObjectsSkip)))
		Expect(first.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), first.Status.Message)
		again := runRestore(restores.New(ns, "once-again", restores.FromBackup("base"), restores.Files(restored, "once/", backupv1alpha1.ExistingObjectsSkip)))
		Expect(reasonOfRR(again, backupv1alpha1.ConditionSourceVerified)).To(BeEquivalentTo(backupv1alpha1.ReasonAlreadyRestored))
		allowed := runRestore(restores.New(ns, "once-allowed", restores.FromBackup("base"), restores.Files(restored, "once/", backupv1alpha1.ExistingObjectsSkip),
			restores.Annotation(backupv1alpha1.AllowRepeatAnnotation, "true")))
		Expect(allowed.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), allowed.Status.Message)
		Expect(allowed.Status.DocumentLibrary.ObjectsSkipped).To(BeEquivalentTo(20))
	})

	It("never undoes a succeeded restore when its RestoreRequest is deleted", func() {
		Expect(k8sClient.Delete(suiteCtx, getRR(ns, "files-only"))).To(Succeed())
		Eventually(func() bool {
			return client.IgnoreNotFound(k8sClient.Get(suiteCtx, keyOf(ns, "files-only"), &backupv1alpha1.RestoreRequest{})) == nil &&
				k8sClient.Get(suiteCtx, keyOf(ns, "files-only"), &backupv1alpha1.RestoreRequest{}) != nil
		}).WithTimeout(time.Minute).Should(BeTrue())
		Expect(cloud.ListKeys(restored, "files-only/")).To(HaveLen(20))
	})
})

// The restores held mid-copy through the delay proxy: deleted, killed, protecting their source.
var _ = Describe("RestoreRequest interrupted", Ordered, func() {
	const (
		project  = "rsti"
		db       = "rsti-prd-db"
		source   = "liferay-rsti-prd-dl"
		bucket   = "rsti-backups"
		restored = "rsti-restored"
		objects  = 60
	)
	var (
		ns    string
		ctrlr *runningController
		opts  = controllerOptions()
	)
	BeforeAll(func() {
		ns = projectNamespace("proj-rsti-prd", project)
		cloud.CreateDBInstance(db, fixtures.ProjectTag(project))
		cloud.SeedDocumentLibrary(source, objects, fixtures.ProjectTag(project))
		cloud.CreateBucket(bucket, fixtures.ProjectTag(project))
		cloud.CreateBucket(restored, fixtures.ProjectTag(project))
		opts.CopyConcurrency = 2
		ctrlr = startController(slowProxy.URL, opts)
		br := newBackupRequest(ns, "base", project, backups.Full(db, source, bucket, project+"/prd/base/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, "base")).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
	})
	AfterAll(func() {
		slowProxy.Release()
		if ctrlr != nil {
			ctrlr.Stop()
		}
	})

	It("with Skip, looks the target keys up in one walk of its listing: no HeadObject but for stragglers at inventory part boundaries", func() {
		var heads atomic.Int64
		slowProxy.Hold(func(r *http.Request) bool {
			if r.Method == http.MethodHead && strings.HasPrefix(r.URL.Path, "/"+restored+"/walk/") {
				heads.Add(1)
			}
			return false // counts, holds nothing
		})
		DeferCleanup(slowProxy.Release)
		rr := runRestore(restores.New(ns, "walk", restores.FromBackup("base"), restores.Files(restored, "walk/", backupv1alpha1.ExistingObjectsSkip)))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
		Expect(rr.Status.DocumentLibrary.ObjectsRestored).To(BeEquivalentTo(objects))
		// Each inventory part is in key order; across a boundary at most the copies in
		// flight when the part was written come out of order.
		parts := len(cloud.ListKeys(bucket, project+"/prd/base/inventory/"))
		Expect(parts).To(BeNumerically(">=", 1))
		Expect(heads.Load()).To(BeNumerically("<=", int64(opts.CopyConcurrency*(parts-1))), "%d inventory parts", parts)

		By("deleting the Succeeded restore: its record goes, its files stay")
		Expect(k8sClient.Delete(suiteCtx, rr)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(suiteCtx, keyOf(ns, "walk"), &backupv1alpha1.RestoreRequest{}) }).
			WithTimeout(2 * time.Minute).ShouldNot(Succeed())
		Expect(cloud.ListKeys(bucket, project+"/.restores/")).To(BeEmpty())
		Expect(cloud.ListKeys(restored, "walk/")).To(HaveLen(objects))
	})

	It("on delete mid-restore removes only what it wrote: its instance and its objects", func() {
		before := map[string][]byte{"cancel/20097/20121/1003/1.0": []byte("there before"), "cancel/unrelated.txt": []byte("not the backup's")}
		for k, v := range before {
			cloud.PutObject(restored, k, v)
		}
		slowProxy.Hold(harness.CopiesAfter(restored, "cancel/", 10))
		DeferCleanup(slowProxy.Release)
		rr := restores.New(ns, "cancel", restores.FromBackup("base"), restores.Database("rsti-cancel-db"),
			restores.Files(restored, "cancel/", backupv1alpha1.ExistingObjectsSkip))
		Expect(k8sClient.Create(suiteCtx, rr)).To(Succeed())
		waitParked(slowProxy, opts.CopyConcurrency)
		Expect(instanceExists("rsti-cancel-db")).To(BeTrue())

		Expect(k8sClient.Delete(suiteCtx, getRR(ns, "cancel"))).To(Succeed())
		Eventually(func() error { return k8sClient.Get(suiteCtx, keyOf(ns, "cancel"), &backupv1alpha1.RestoreRequest{}) }).
			WithTimeout(2 * time.Minute).ShouldNot(Succeed())
		slowProxy.Release()
		Expect(cloud.Contents(restored, "cancel/")).To(Equal(before), "only the objects the restore wrote are removed")
		Eventually(func() bool { return instanceExists("rsti-cancel-db") }).WithTimeout(time.Minute).Should(BeFalse())
		Expect(cloud.ListKeys(bucket, project+"/.restores/")).To(BeEmpty())
	})

	It("keeps its source backup from expiring until it ends", func() {
		slowProxy.Hold(harness.CopiesAfter(restored, "protect/", 5))
		DeferCleanup(slowProxy.Release)
		Expect(k8sClient.Create(suiteCtx, restores.New(ns, "protect", restores.FromBackup("base"), restores.Files(restored, "protect/", "")))).To(Succeed())
		waitParked(slowProxy, opts.CopyConcurrency)

		By("moving the clock past the backup's expiry and deleting the newer-kept guard")
		testClock.Advance(40 * 24 * time.Hour)
		DeferCleanup(func() { testClock.Advance(-40 * 24 * time.Hour) })
		Expect(k8sClient.Delete(suiteCtx, getBR(ns, "base"))).To(Succeed())
		Eventually(func() string {
			c := getBR(ns, "base").Status.Condition(backupv1alpha1.ConditionArtifactsRemoved)
			if c == nil {
				return ""
			}
			return c.Reason + ": " + c.Message
		}).WithTimeout(time.Minute).Should(And(HavePrefix(string(backupv1alpha1.ReasonInUseByRestore)), ContainSubstring(ns+"/protect")))
		Consistently(func() []string { return cloud.ListKeys(bucket, project+"/prd/base/data/") }).WithTimeout(2 * time.Second).Should(HaveLen(objects))

		slowProxy.Release()
		Eventually(rrPhaseOf(ns, "protect")).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.RestorePhaseSucceeded))
		Eventually(func() error { return k8sClient.Get(suiteCtx, keyOf(ns, "base"), &backupv1alpha1.BackupRequest{}) }).
			WithTimeout(2*time.Minute).ShouldNot(Succeed(), "the backup's deletion goes on once the restore ended")
		Expect(cloud.ListKeys(restored, "protect/")).To(HaveLen(objects))
	})

	It("resumes after the controller is killed mid-restore: one instance, nothing copied twice", func() {
		br := newBackupRequest(ns, "kill-src", project, backups.Full(db, source, bucket, project+"/prd/kill-src/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, "kill-src")).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))

		slowProxy.Hold(harness.CopiesAfter(restored, "kill/", 20))
		DeferCleanup(slowProxy.Release)
		Expect(k8sClient.Create(suiteCtx, restores.New(ns, "kill", restores.FromBackup("kill-src"), restores.Database("rsti-kill-db"),
			restores.Files(restored, "kill/", "")))).To(Succeed())
		waitParked(slowProxy, opts.CopyConcurrency)
		ctrlr.Stop()
		slowProxy.Drop() // the stopped controller's parked copies never arrive
		copiedBefore := len(cloud.ListKeys(restored, "kill/"))
		Expect(copiedBefore).To(Equal(20))

		var copies atomic.Int64
		slowProxy.Hold(copyCounter(restored, "kill/", &copies))
		ctrlr = startController(slowProxy.URL, opts)
		Eventually(rrPhaseOf(ns, "kill")).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.RestorePhaseSucceeded))
		Expect(copies.Load()).To(BeEquivalentTo(objects-copiedBefore), "objects in place are not copied again")
		Expect(cloud.ListKeys(restored, "kill/")).To(HaveLen(objects))
		// The stop flushed the first run's record, so every object counts as restored
		// by this restore, not as found in place.
		var done backupv1alpha1.RestoreRequest
		Expect(k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "kill"}, &done)).To(Succeed())
		Expect(done.Status.DocumentLibrary.ObjectsRestored).To(BeEquivalentTo(objects))
		Expect(done.Status.DocumentLibrary.ObjectsSkipped).To(BeZero())
		out, err := cloud.RDS.DescribeDBInstances(suiteCtx, &rds.DescribeDBInstancesInput{})
		Expect(err).NotTo(HaveOccurred())
		n := 0
		for _, i := range out.DBInstances {
			if strings.HasPrefix(aws.ToString(i.DBInstanceIdentifier), "rsti-kill-db") {
				n++
			}
		}
		Expect(n).To(Equal(1))
	})
})

func deleteInput(bucket, key string) *s3.DeleteObjectInput {
	return &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
}
