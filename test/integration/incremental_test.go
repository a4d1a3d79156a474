package integration

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/repository"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
	"github.com/liferay/lc2-backup-controller/test/fixtures/restores"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

// library is the document library as a backup must hold it: every object under
// document_library/ except the generated files the fixtures exclude, key to bytes.
func library(bucket string) map[string][]byte {
	GinkgoHelper()
	state := cloud.Contents(bucket, "document_library/")
	for _, k := range fixtures.GeneratedFiles {
		delete(state, k)
	}
	return state
}

// restoredAs reads what a restore wrote under prefix, keyed as the source keys under
// document_library/, so it compares with library.
func restoredAs(bucket, prefix string) map[string][]byte {
	GinkgoHelper()
	out := map[string][]byte{}
	for k, v := range cloud.Contents(bucket, prefix) {
		out["document_library/"+strings.TrimPrefix(k, prefix)] = v
	}
	return out
}

// storedKeysOf reads the repository keys a backup's manifest lists (the tests'
// backups are far below the manifest's 10,000-file list).
func storedKeysOf(br *backupv1alpha1.BackupRequest) []string {
	GinkgoHelper()
	bucket, key, err := provider.ParseObjectURL(br.Status.Manifest.Location)
	Expect(err).NotTo(HaveOccurred())
	m, err := manifest.Parse(cloud.GetObject(bucket, key))
	Expect(err).NotTo(HaveOccurred())
	Expect(m.DocumentLibrary.Truncated).To(BeFalse())
	var keys []string
	for _, f := range m.DocumentLibrary.Files {
		keys = append(keys, f.Key)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// repositoryKeys lists the stored objects of a repository, as full keys.
func repositoryKeys(bucket, project, env string) []string {
	GinkgoHelper()
	prefix := repository.Prefix(project, env) + repository.ObjectsDir
	keys := cloud.ListKeys(bucket, prefix)
	for i := range keys {
		keys[i] = prefix + keys[i]
	}
	return keys
}

func union(sets ...[]string) []string {
	var all []string
	for _, s := range sets {
		all = append(all, s...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// runIncremental creates an Incremental backup and waits for it to succeed.
func runIncremental(ns, name, project, source, dest string, opts ...backups.Option) *backupv1alpha1.BackupRequest {
	GinkgoHelper()
	opts = append([]backups.Option{backups.DocumentLibrary(source, dest, project+"/prd/"+name+"/"), backups.Incremental()}, opts...)
	br := newBackupRequest(ns, name, project, opts...)
	Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
	Eventually(phaseOf(ns, name)).WithTimeout(2*time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded), name)
	return getBR(ns, name)
}

// expireNow makes a backup's retention remove it at once (what a schedule does with
// a backup its policy drops).
func expireNow(br *backupv1alpha1.BackupRequest) {
	GinkgoHelper()
	patch := client.MergeFrom(br.DeepCopy())
	if br.Annotations == nil {
		br.Annotations = map[string]string{}
	}
	br.Annotations[backupv1alpha1.RetentionAnnotation] = backupv1alpha1.RetentionExpire
	Expect(k8sClient.Patch(suiteCtx, br, patch)).To(Succeed())
}

// verifyBackup runs a verifyOnly restore of br and expects it to pass.
func verifyBackup(ns, name string, br *backupv1alpha1.BackupRequest) {
	GinkgoHelper()
	rr := runRestore(restores.New(ns, name, restores.FromBackup(br.Name), restores.VerifyOnly()))
	Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), "%s: %s", name, rr.Status.Message)
	Expect(rr.Status.Verification.ObjectsChecked).To(Equal(br.Status.DocumentLibrary.ObjectsTotal))
}

// sweepDeletes matches the DeleteObjects requests of a sweep of the repositories in
// bucket (their bodies name stored keys) after the first n, reading and restoring
// the body so the request goes on unchanged.
func sweepDeletes(bucket string, n int64) func(*http.Request) bool {
	var seen atomic.Int64
	return func(r *http.Request) bool {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/"+bucket) || !r.URL.Query().Has("delete") {
			return false
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return false
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !bytes.Contains(body, []byte("/"+repository.Dir)) || !bytes.Contains(body, []byte("/"+repository.ObjectsDir)) {
			return false
		}
		return seen.Add(1) > n
	}
}

var _ = Describe("Incremental backups", Ordered, func() {
	It("store each object once, copy only what changed, restore each backup as the library was, and expiry sweeps exactly what no backup references", func() {
		ns := projectNamespace("proj-inc-prd", "inc")
		src, dest := "liferay-inc-prd-dl", "inc-backups"
		cloud.SeedDocumentLibrary(src, 6, fixtures.ProjectTag("inc"))
		cloud.CreateBucket(dest, fixtures.ProjectTag("inc"))
		ctrlr := startController(moto.Endpoint, controllerOptions())
		defer ctrlr.Stop()

		By("the first backup stores every object in the repository and nothing under its own prefix but its files")
		state1 := library(src)
		b1 := runIncremental(ns, "inc-1", "inc", src, dest)
		dl := b1.Status.DocumentLibrary
		Expect(dl.Mode).To(Equal(backupv1alpha1.ModeIncremental))
		Expect([]int64{dl.ObjectsTotal, dl.ObjectsCopied, dl.ObjectsReferenced}).To(Equal([]int64{6, 6, 0}))
		Expect(dl.Consistency).To(Equal(backupv1alpha1.ConsistencyLive), "the source bucket is not versioned")
		Expect(b1.Status.Condition(backupv1alpha1.ConditionDocumentLibraryCopied).Message).To(ContainSubstring("not point-in-time"))
		Expect(dl.Repository).To(Equal("s3://" + dest + "/" + repository.Prefix("inc", "prd")))
		Expect(repositoryKeys(dest, "inc", "prd")).To(HaveLen(6))
		Expect(cloud.ListKeys(dest, "inc/prd/inc-1/")).To(ConsistOf("claim.json", "manifest.json", HavePrefix("inventory/")))
		Expect(cloud.ListKeys(dest, repository.Prefix("inc", "prd")+repository.RefsDir)).To(ConsistOf(string(b1.UID) + ".json"))
		hints := cloud.Contents(dest, repository.Prefix("inc", "prd")+repository.ListingDir)
		Expect(hints).To(HaveLen(1), "the listing hints of the library")
		for _, h := range hints {
			Expect(string(h)).To(ContainSubstring(`"uid":"`+string(b1.UID)+`"`), "they name the first backup as the next one's index")
		}

		By("the second copies only what was added or replaced, and references the rest")
		cloud.PutObject(src, "document_library/20097/20121/2000/1.0", []byte("new document"))
		cloud.PutObject(src, "document_library/20097/20121/2001/1.0", []byte("another new document"))
		cloud.PutObject(src, "document_library/20097/20121/1000/1.0", []byte("replaced in place"))
		cloud.DeleteObject(src, "document_library/20097/20121/1001/1.0")
		state2 := library(src)
		b2 := runIncremental(ns, "inc-2", "inc", src, dest)
		dl = b2.Status.DocumentLibrary
		Expect([]int64{dl.ObjectsTotal, dl.ObjectsCopied, dl.ObjectsReferenced}).To(Equal([]int64{7, 3, 4}))
		Expect(dl.BytesReferenced + dl.BytesCopied).To(Equal(dl.TotalSizeBytes))
		Expect(repositoryKeys(dest, "inc", "prd")).To(HaveLen(9))

		By("the third, after a document only the second holds is deleted, copies nothing")
		cloud.DeleteObject(src, "document_library/20097/20121/2001/1.0")
		state3 := library(src)
		time.Sleep(1100 * time.Millisecond) // completion times have second resolution: the third must be newer
		b3 := runIncremental(ns, "inc-3", "inc", src, dest)
		dl = b3.Status.DocumentLibrary
		Expect([]int64{dl.ObjectsTotal, dl.ObjectsCopied, dl.ObjectsReferenced}).To(Equal([]int64{6, 0, 6}))
		Expect(repositoryKeys(dest, "inc", "prd")).To(Equal(union(storedKeysOf(b1), storedKeysOf(b2), storedKeysOf(b3))))

		By("each backup restores byte for byte to the library as it was when it ran")
		for i, c := range []struct {
			br    *backupv1alpha1.BackupRequest
			state map[string][]byte
		}{{b1, state1}, {b2, state2}, {b3, state3}} {
			target := fmt.Sprintf("restored-%d/", i+1)
			rr := runRestore(restores.New(ns, fmt.Sprintf("inc-restore-%d", i+1), restores.FromBackup(c.br.Name),
				restores.Files(src, target, backupv1alpha1.ExistingObjectsRefuse)))
			Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
			Expect(restoredAs(src, target)).To(Equal(c.state), target)
		}

		By("expiring the middle backup removes its files and exactly the objects no other backup references")
		onlyB2 := slices.DeleteFunc(slices.Clone(storedKeysOf(b2)), func(k string) bool {
			return slices.Contains(union(storedKeysOf(b1), storedKeysOf(b3)), k)
		})
		Expect(onlyB2).To(HaveLen(1), "the document added and deleted between the second and third backups")
		before := cloud.Contents(dest, "")
		expireNow(b2)
		Eventually(phaseOf(ns, b2.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseExpired))
		after := cloud.Contents(dest, "")
		var gone []string
		for k := range before {
			if _, ok := after[k]; !ok {
				gone = append(gone, k)
			}
		}
		Expect(gone).To(ConsistOf(append(keysUnder(before, "inc/prd/inc-2/"),
			repository.Prefix("inc", "prd")+repository.RefKey(string(b2.UID)), onlyB2[0])...))
		for k, v := range after {
			Expect(before[k]).To(Equal(v), "an object the expiry kept changed: %s", k)
		}
		Expect(eventsFor(ns, b2.Name, func(e eventsv1.Event) bool { return e.Reason == string(backupv1alpha1.ReasonRepositorySwept) })).To(HaveLen(1))
		Expect(repositoryKeys(dest, "inc", "prd")).To(Equal(union(storedKeysOf(b1), storedKeysOf(b3))))

		By("the backups around it still verify and restore")
		verifyBackup(ns, "inc-verify-1", b1)
		verifyBackup(ns, "inc-verify-3", b3)
		rr := runRestore(restores.New(ns, "inc-restore-1-again", restores.FromBackup(b1.Name),
			restores.Files(src, "restored-1-again/", backupv1alpha1.ExistingObjectsRefuse)))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
		Expect(restoredAs(src, "restored-1-again/")).To(Equal(state1))
	})

	It("copies the versions current when the database snapshot was taken from a versioned bucket", func() {
		ns := projectNamespace("proj-incv-prd", "incv")
		src, dest := "liferay-incv-prd-dl", "incv-backups"
		cloud.CreateBucket(src, fixtures.ProjectTag("incv"))
		cloud.EnableVersioning(src)
		for i := range 4 {
			cloud.PutObject(src, fmt.Sprintf("document_library/20097/20121/%d/1.0", 1000+i), []byte(strings.Repeat("v1-", 100+i)))
		}
		cloud.CreateDBInstance("incv-prd-db", fixtures.ProjectTag("incv"))
		cloud.CreateBucket(dest, fixtures.ProjectTag("incv"))
		asSnapshotSaw := library(src)

		proxy, err := harness.NewDelayProxy(moto.Endpoint)
		Expect(err).NotTo(HaveOccurred())
		defer proxy.Close()
		// The copy's listing of the versions is parked, so the library changes after the
		// snapshot and before the copy reads it.
		proxy.Hold(func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/"+src) && r.URL.Query().Has("versions")
		})
		ctrlr := startController(proxy.URL, controllerOptions())
		defer ctrlr.Stop()
		br := newBackupRequest(ns, "incv-1", "incv", backups.Database("incv-prd-db"),
			backups.DocumentLibrary(src, dest, "incv/prd/incv-1/"), backups.Incremental())
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		waitParked(proxy, 1)
		// Object times have one-second resolution: the changes must be a second later.
		time.Sleep(1100 * time.Millisecond)
		cloud.PutObject(src, "document_library/20097/20121/1000/1.0", []byte("replaced after the snapshot"))
		cloud.DeleteObject(src, "document_library/20097/20121/1001/1.0")
		cloud.PutObject(src, "document_library/20097/20121/3000/1.0", []byte("added after the snapshot"))
		proxy.Release()
		Eventually(phaseOf(ns, br.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))

		br = getBR(ns, br.Name)
		dl := br.Status.DocumentLibrary
		Expect(dl.Consistency).To(Equal(backupv1alpha1.ConsistencyPointInTime))
		Expect(dl.PointInTime).NotTo(BeNil())
		Expect([]int64{dl.ObjectsTotal, dl.ObjectsCopied}).To(Equal([]int64{4, 4}))
		rr := runRestore(restores.New(ns, "incv-restore", restores.FromBackup(br.Name),
			restores.Files(src, "restored/", backupv1alpha1.ExistingObjectsRefuse)))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
		Expect(restoredAs(src, "restored/")).To(Equal(asSnapshotSaw), "the files as the snapshot saw them, not as they are")
	})

	It("never sweeps what a running backup references, and a sweep killed midway resumes and finishes", func() {
		ns := projectNamespace("proj-incs-prd", "incs")
		src, dest := "liferay-incs-prd-dl", "incs-backups"
		cloud.SeedDocumentLibrary(src, 4, fixtures.ProjectTag("incs"))
		cloud.CreateBucket(dest, fixtures.ProjectTag("incs"))
		proxy, err := harness.NewDelayProxy(moto.Endpoint)
		Expect(err).NotTo(HaveOccurred())
		defer proxy.Close()
		opts := controllerOptions()
		opts.SweepMaxDeletes = 1 // one object per pass: a sweep of several objects takes several passes
		ctrlr := startController(proxy.URL, opts)
		defer func() { ctrlr.Stop() }()

		old := runIncremental(ns, "incs-1", "incs", src, dest)
		for i := range 4 { // every object of the first backup is replaced: it alone references 4
			cloud.PutObject(src, fmt.Sprintf("document_library/20097/20121/%d/1.0", 1000+i), []byte(fmt.Sprintf("second version %d", i)))
		}
		time.Sleep(1100 * time.Millisecond) // completion times have second resolution: the second must be newer
		keep := runIncremental(ns, "incs-2", "incs", src, dest)
		Expect(repositoryKeys(dest, "incs", "prd")).To(HaveLen(8))

		By("a backup copying into the repository holds the sweep off")
		cloud.PutObject(src, "document_library/20097/20121/5000/1.0", []byte("copied while the sweep waits"))
		proxy.Hold(harness.CopiesAfter(dest, repository.Prefix("incs", "prd"), 0))
		running := newBackupRequest(ns, "incs-3", "incs", backups.DocumentLibrary(src, dest, "incs/prd/incs-3/"), backups.Incremental())
		Expect(k8sClient.Create(suiteCtx, running)).To(Succeed())
		waitParked(proxy, 1)
		expireNow(old)
		Eventually(func(g Gomega) {
			c := getBR(ns, old.Name).Status.Condition(backupv1alpha1.ConditionArtifactsRemoved)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(BeEquivalentTo(backupv1alpha1.ReasonSweeping))
			g.Expect(c.Message).To(ContainSubstring("waits for 1 backups copying into it"))
		}).WithTimeout(2 * time.Minute).Should(Succeed())
		Consistently(func() []string { return repositoryKeys(dest, "incs", "prd") }).WithTimeout(2 * time.Second).Should(HaveLen(8))

		By("once it is done the sweep runs; its second pass is parked and the controller killed")
		// The sweep cannot start before the running backup's copy ends, many requests
		// after this: its lock is still held when the new hold takes over.
		proxy.Release()
		proxy.Hold(sweepDeletes(dest, 1))
		Eventually(phaseOf(ns, running.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		running = getBR(ns, running.Name)
		waitParked(proxy, 1)
		Expect(repositoryKeys(dest, "incs", "prd")).To(HaveLen(8), "one of the first backup's 4 objects is swept, 9 - 1")
		ctrlr.Stop()
		proxy.Drop() // the stopped controller's parked delete never arrives
		Expect(phaseOf(ns, old.Name)()).To(Equal(backupv1alpha1.PhaseSucceeded), "not yet expired: its sweep did not finish")

		By("a new controller resumes the sweep and finishes it")
		ctrlr = startController(proxy.URL, opts)
		Eventually(phaseOf(ns, old.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseExpired))
		Expect(repositoryKeys(dest, "incs", "prd")).To(Equal(union(storedKeysOf(keep), storedKeysOf(running))))
		verifyBackup(ns, "incs-verify-2", keep)
		verifyBackup(ns, "incs-verify-3", running)
	})

	It("keeps projects' repositories apart in a shared bucket", func() {
		nsA, nsB := projectNamespace("proj-inca-prd", "inca"), projectNamespace("proj-incb-prd", "incb")
		dest := "inc-shared-backups"
		cloud.CreateBucket(dest, fixtures.SharedBucketTag())
		// The same library in both projects: same keys, sizes and ETags.
		cloud.SeedDocumentLibrary("liferay-inca-prd-dl", 3, fixtures.ProjectTag("inca"))
		cloud.SeedDocumentLibrary("liferay-incb-prd-dl", 3, fixtures.ProjectTag("incb"))
		ctrlr := startController(moto.Endpoint, controllerOptions())
		defer ctrlr.Stop()

		a := runIncremental(nsA, "inca-1", "inca", "liferay-inca-prd-dl", dest)
		b := runIncremental(nsB, "incb-1", "incb", "liferay-incb-prd-dl", dest)
		Expect(b.Status.DocumentLibrary.ObjectsCopied).To(Equal(int64(3)), "nothing shared with the other project's repository")
		Expect(storedKeysOf(b)).To(HaveEach(HavePrefix(repository.Prefix("incb", "prd"))))
		bKeys := cloud.Contents(dest, "incb/")

		By("removing project A's only backup sweeps A's repository and leaves B's untouched")
		Expect(k8sClient.Delete(suiteCtx, a)).To(Succeed())
		Eventually(func() []string { return repositoryKeys(dest, "inca", "prd") }).WithTimeout(2 * time.Minute).Should(BeEmpty())
		Expect(cloud.Contents(dest, "incb/")).To(Equal(bKeys))
		Expect(cloud.ListKeys(dest, "inca/")).To(BeEmpty(), "nothing of project A's backup is left")

		By("a backup may not put its destination inside a repository")
		bad := newBackupRequest(nsB, "incb-bad", "incb", backups.DocumentLibrary("liferay-incb-prd-dl", dest, "incb/.repository/prd/x/"))
		err := k8sClient.Create(suiteCtx, bad)
		Expect(err).To(MatchError(ContainSubstring("spec.documentLibrary.destinationPrefix must not begin with")))
	})
})

// keysUnder lists the keys of contents under prefix.
func keysUnder(contents map[string][]byte, prefix string) []any {
	var out []any
	for k := range contents {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}
