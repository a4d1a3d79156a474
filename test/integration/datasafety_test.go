package integration

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

// The data-safety suite seeds a shared backup bucket with other backups, a retained
// backup whose BackupRequest is gone and foreign objects, drives requests through every
// ending, and after each checks that every object the request did not write is still
// there, byte for byte.
var _ = Describe("Data safety: the controller never destroys what it did not write", Ordered, func() {
	const (
		project = "safe"
		ns      = "proj-safe-prd"
		db      = "safe-prd-db"
		source  = "liferay-safe-prd-dl"
		bucket  = "safe-shared-backups"
	)
	var (
		ctrlr *runningController
		// others are the objects of everyone but the request under test, as seeded.
		others map[string][]byte
	)

	// untouched fails unless every object of others is still in the bucket, unchanged.
	untouched := func() {
		GinkgoHelper()
		now := cloud.Contents(bucket, "")
		for key, data := range others {
			Expect(now).To(HaveKey(key), "an object the request did not write was deleted")
			Expect(bytes.Equal(now[key], data)).To(BeTrue(), "%s was changed", key)
		}
	}
	// remember adds what a request under test wrote and that must now stay.
	remember := func(prefix string) {
		GinkgoHelper()
		for k, v := range cloud.Contents(bucket, prefix) {
			others[k] = v
		}
	}
	// intrude puts a foreign object at key (inside a destination a request claimed): it
	// must survive whatever the request's ending.
	intrude := func(key string) {
		GinkgoHelper()
		cloud.PutObject(bucket, key, []byte("not the backup's"))
		others[key] = []byte("not the backup's")
	}
	spec := func(prefix string, retention int32) []backups.Option {
		return []backups.Option{backups.Full(db, source, bucket, prefix), backups.Retention(retention)}
	}
	run := func(name string, opts []backups.Option, more ...backups.Option) *backupv1alpha1.BackupRequest {
		GinkgoHelper()
		br := newBackupRequest(ns, name, project, append(opts, more...)...)
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, name)).WithTimeout(90*time.Second).Should(BeElementOf(backupv1alpha1.PhaseSucceeded, backupv1alpha1.PhaseFailed), name)
		return getBR(ns, name)
	}
	reasonOf := func(br *backupv1alpha1.BackupRequest) string {
		return br.Status.Condition(backupv1alpha1.ConditionReady).Reason
	}
	// passTime moves every controller's clock by d for the rest of the spec.
	passTime := func(d time.Duration) {
		testClock.Advance(d)
		DeferCleanup(func() { testClock.Advance(-d) })
	}
	// expiresLeavingOnlyTheIntruder moves the clock past br's expiry and checks that
	// retention removed its snapshot and everything it wrote under prefix, leaving the
	// foreign object intrude put there, and nothing else of anyone changed.
	expiresLeavingOnlyTheIntruder := func(br *backupv1alpha1.BackupRequest, prefix string) {
		GinkgoHelper()
		passTime(8 * 24 * time.Hour)
		Eventually(phaseOf(ns, br.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseExpired))
		Expect(cloud.ListKeys(bucket, prefix)).To(Equal([]string{"data/intruder.txt"}))
		Expect(cloud.SnapshotIDs(db)).NotTo(ContainElement(br.Status.Database.SnapshotID))
		untouched()
	}

	BeforeAll(func() {
		projectNamespace(ns, project)
		cloud.CreateDBInstance(db, fixtures.ProjectTag(project))
		cloud.SeedDocumentLibrary(source, 20, fixtures.ProjectTag(project))
		// Source objects named like the controller's own files are data like any other.
		for _, key := range reservedNames {
			cloud.PutObject(source, "document_library/"+key, []byte("user data named "+key))
		}
		// A sibling of the document library that "document_library" without '/' would select.
		cloud.PutObject(source, "document_library_old/ignored.bin", []byte("not in the backup"))
		cloud.CreateBucket(bucket, fixtures.SharedBucketTag())
		opts := controllerOptions()
		opts.RetentionCheckInterval = 500 * time.Millisecond
		ctrlr = startController(slowProxy.URL, opts)
		DeferCleanup(func() { ctrlr.Stop() })

		By("two other backups, and a retained one whose BackupRequest is deleted")
		for _, name := range []string{"a1", "a2", "kept"} {
			var more []backups.Option
			if name == "kept" {
				more = append(more, backups.Retain())
			}
			Expect(run(name, spec("safe/prd/"+name+"/", 365), more...).Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded))
		}
		Expect(k8sClient.Delete(suiteCtx, getBR(ns, "kept"))).To(Succeed())
		Eventually(func() error { return k8sClient.Get(suiteCtx, keyOf(ns, "kept"), &backupv1alpha1.BackupRequest{}) }).
			WithTimeout(2 * time.Minute).Should(MatchError(ContainSubstring("not found")))

		By("foreign objects around and between the backups")
		for _, key := range []string{"safe/prd/readme.txt", "safe/foreign/x.bin", "safe/prd/a1-notes.txt", "other/prd/1/data/f", "safe/prd/zz/manifest.txt"} {
			cloud.PutObject(bucket, key, []byte("foreign "+key))
		}
		others = cloud.Contents(bucket, "")
		Expect(others).To(HaveKey("safe/prd/kept/manifest.json"))
	})

	It("backs up source objects named like the controller's files byte for byte, with counts that agree everywhere", func() {
		a1 := getBR(ns, "a1")
		prefix := "safe/prd/a1/"
		for _, key := range reservedNames {
			Expect(cloud.GetObject(bucket, prefix+"data/"+key)).To(Equal([]byte("user data named "+key)), key)
		}
		Expect(cloud.ListKeys(bucket, prefix+"data/")).NotTo(ContainElement(HavePrefix("../")))
		stored := cloud.ListKeys(bucket, prefix+"data/")
		var size int64
		for _, k := range stored {
			size += int64(len(cloud.GetObject(bucket, prefix+"data/"+k)))
		}
		Expect(stored).NotTo(ContainElement(ContainSubstring("ignored.bin")), "document_library/ does not select document_library_old/")

		data := cloud.GetObject(bucket, prefix+"manifest.json")
		m, err := manifest.Verify(data)
		Expect(err).NotTo(HaveOccurred())
		Expect(harness.VerifyManifestInPython(data)).To(Succeed())
		entries := readInventory(bucket, prefix, m)
		Expect(entries).To(HaveLen(len(stored)))
		for _, e := range entries {
			Expect(stored).To(ContainElement(strings.TrimPrefix(e.StoredKey, "data/")))
		}
		st := a1.Status.DocumentLibrary
		By(fmt.Sprintf("%d objects, %d bytes in the bucket", len(stored), size))
		Expect(st.ObjectsTotal).To(BeEquivalentTo(len(stored)))
		Expect(st.TotalSizeBytes).To(Equal(size))
		Expect(m.DocumentLibrary.ObjectCount).To(BeEquivalentTo(len(stored)))
		Expect(m.DocumentLibrary.TotalSizeBytes).To(Equal(size))
		Expect(m.DocumentLibrary.Inventory.ObjectCount).To(BeEquivalentTo(len(stored)))
		Expect(m.DocumentLibrary.Inventory.TotalSizeBytes).To(Equal(size))
		Expect(m.DocumentLibrary.Files).To(ContainElement(HaveField("Key", prefix+"data/manifest.json")))
	})

	It("refuses a request of another project, writes nothing and never expires it", func() {
		// The namespace belongs to project safe; the request names another project.
		br := newBackupRequest(ns, "tenant", "other", backups.Full(db, source, bucket, "other/prd/x/"), backups.Retention(7))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, br.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseFailed))
		refused := getBR(ns, br.Name)
		Expect(reasonOf(refused)).To(BeEquivalentTo(backupv1alpha1.ReasonProjectMismatch))
		Expect(refused.Status.Claim).To(BeNil())
		Expect(refused.Status.ExpiresAt).To(BeNil(), "a refused request has nothing to expire")
		passTime(8 * 24 * time.Hour)
		Consistently(phaseOf(ns, br.Name)).WithTimeout(2 * time.Second).Should(Equal(backupv1alpha1.PhaseFailed))
		untouched()
	})

	DescribeTable("refuses a destination that is not empty or lies inside another backup, with nothing to clean up on expiry or delete",
		func(name, prefix string, reason backupv1alpha1.Reason) {
			snapshots := cloud.SnapshotIDs(db)
			br := run(name, spec(prefix, 7))
			Expect(br.Status.Phase).To(Equal(backupv1alpha1.PhaseFailed))
			Expect(reasonOf(br)).To(BeEquivalentTo(reason), br.Status.Message)
			Expect(br.Status.Message).To(ContainSubstring("spec.documentLibrary.destinationPrefix"))
			Expect(br.Status.Claim).To(BeNil())
			Expect(br.Status.ExpiresAt).To(BeNil())
			Expect(cloud.SnapshotIDs(db)).To(ConsistOf(snapshots), "no snapshot for a refused request")
			passTime(8 * 24 * time.Hour)
			Consistently(phaseOf(ns, name)).WithTimeout(2 * time.Second).Should(Equal(backupv1alpha1.PhaseFailed))
			untouched()
			Expect(k8sClient.Delete(suiteCtx, br)).To(Succeed())
			Eventually(func() error { return k8sClient.Get(suiteCtx, keyOf(ns, name), &backupv1alpha1.BackupRequest{}) }).
				WithTimeout(2 * time.Minute).Should(MatchError(ContainSubstring("not found")))
			untouched()
		},
		Entry("the parent of two backups", "parent", "safe/prd/", backupv1alpha1.ReasonDestinationInUse),
		Entry("inside a Succeeded backup", "nested", "safe/prd/a1/nested/", backupv1alpha1.ReasonDestinationInUse),
		Entry("inside a retained backup whose BackupRequest is gone", "orphan-nested", "safe/prd/kept/x/", backupv1alpha1.ReasonDestinationInUse),
		Entry("a prefix holding foreign objects", "foreign", "safe/foreign/", backupv1alpha1.ReasonDestinationNotEmpty),
		Entry("the same destination as a Succeeded backup", "same", "safe/prd/a2/", backupv1alpha1.ReasonDestinationInUse),
	)

	It("refuses a request naming another project's bucket before any write", func() {
		cloud.CreateBucket("safe-foreign-dest", fixtures.ProjectTag("bravo"))
		snapshots := cloud.SnapshotIDs(db)
		br := run("owned", []backups.Option{backups.Full(db, source, "safe-foreign-dest", "safe/prd/owned/")})
		Expect(reasonOf(br)).To(BeEquivalentTo(backupv1alpha1.ReasonResourceNotOwned))
		Expect(cloud.SnapshotIDs(db)).To(ConsistOf(snapshots))
		Expect(cloud.ListKeys("safe-foreign-dest", "")).To(BeEmpty())
		untouched()
	})

	It("removes only what a copy that failed mid-way wrote, when it expires", func() {
		failing := "liferay-safe-fail-dl"
		cloud.SeedDocumentLibrary(failing, 30, fixtures.ProjectTag(project))
		// An archived object cannot be copied: the copy fails after the others.
		_, err := cloud.S3.PutObject(suiteCtx, &s3.PutObjectInput{Bucket: aws.String(failing), Key: aws.String("document_library/zz/archived.bin"),
			Body: strings.NewReader("cold"), StorageClass: s3types.StorageClassGlacier})
		Expect(err).NotTo(HaveOccurred())
		br := run("failed", []backups.Option{backups.Full(db, failing, bucket, "safe/prd/failed/"), backups.Retention(7)})
		Expect(br.Status.Phase).To(Equal(backupv1alpha1.PhaseFailed), br.Status.Message)
		Expect(br.Status.Message).To(ContainSubstring("archived.bin"))
		Expect(br.Status.Claim).NotTo(BeNil())
		Expect(br.Status.ExpiresAt).NotTo(BeNil())
		written := cloud.ListKeys(bucket, "safe/prd/failed/data/")
		Expect(written).NotTo(BeEmpty())
		Expect(cloud.ListKeys(bucket, "safe/prd/failed/")).To(ContainElement(HavePrefix("inventory/")), "what the failed copy wrote is recorded")

		By("a foreign object put into the claimed destination afterwards")
		intrude("safe/prd/failed/data/intruder.txt")

		expiresLeavingOnlyTheIntruder(br, "safe/prd/failed/")
	})

	It("removes only what a copy cancelled by deleting its request wrote", func() {
		big := "liferay-safe-big-dl"
		cloud.SeedDocumentLibrary(big, 300, fixtures.ProjectTag(project))
		By("letting 10 copies through, then holding every copy worker")
		slowProxy.Hold(harness.CopiesAfter(bucket, "safe/prd/cancelled/", 10))
		DeferCleanup(slowProxy.Release)
		br := newBackupRequest(ns, "cancelled", project, backups.Full(db, big, bucket, "safe/prd/cancelled/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		waitParked(slowProxy, controllerOptions().CopyConcurrency)
		Expect(cloud.ListKeys(bucket, "safe/prd/cancelled/data/")).To(HaveLen(10), "the copy is in the middle")
		intrude("safe/prd/cancelled/data/intruder.txt")

		Expect(k8sClient.Delete(suiteCtx, getBR(ns, br.Name))).To(Succeed())
		Eventually(func() error { return k8sClient.Get(suiteCtx, keyOf(ns, br.Name), &backupv1alpha1.BackupRequest{}) }).
			WithTimeout(2 * time.Minute).Should(MatchError(ContainSubstring("not found")))
		Expect(cloud.ListKeys(bucket, "safe/prd/cancelled/")).To(Equal([]string{"data/intruder.txt"}))
		untouched()
	})

	It("expires a successful backup: its own objects go, a foreign object in its prefix stays", func() {
		uat := func(name string, retention int32) *backupv1alpha1.BackupRequest {
			return run(name, spec("safe/uat/"+name+"/", retention), backups.Environment("uat"))
		}
		old := uat("uat-old", 7)
		Expect(old.Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded))
		time.Sleep(1100 * time.Millisecond) // completion times have second resolution
		newest := uat("uat-new", 365)
		Expect(newest.Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded))
		remember("safe/uat/uat-new/")
		intrude("safe/uat/uat-old/data/intruder.txt")

		expiresLeavingOnlyTheIntruder(old, "safe/uat/uat-old/")
	})

	It("keeps everything of a deleted request with deletion-policy retain, and removes only its own files without it", func() {
		kept := run("retain-me", spec("safe/prd/retain-me/", 30), backups.Retain())
		Expect(kept.Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded))
		remember("safe/prd/retain-me/")
		Expect(k8sClient.Delete(suiteCtx, kept)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(suiteCtx, keyOf(ns, kept.Name), &backupv1alpha1.BackupRequest{}) }).
			WithTimeout(2 * time.Minute).Should(MatchError(ContainSubstring("not found")))
		Expect(cloud.SnapshotIDs(db)).To(ContainElement(kept.Status.Database.SnapshotID))
		untouched()

		gone := run("delete-me", spec("safe/prd/delete-me/", 30))
		Expect(gone.Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded))
		Expect(k8sClient.Delete(suiteCtx, gone)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(suiteCtx, keyOf(ns, gone.Name), &backupv1alpha1.BackupRequest{}) }).
			WithTimeout(2 * time.Minute).Should(MatchError(ContainSubstring("not found")))
		Expect(cloud.ListKeys(bucket, "safe/prd/delete-me/")).To(BeEmpty())
		Expect(cloud.SnapshotIDs(db)).NotTo(ContainElement(gone.Status.Database.SnapshotID))
		untouched()
	})
})

// Tenant isolation: a request naming a resource of another project, or an untagged
// one, is refused before any AWS write, each case on its own.
var _ = Describe("Tenant isolation of the resources a spec names", Ordered, func() {
	const ns = "proj-iso-prd"
	var ctrlr *runningController
	BeforeAll(func() {
		projectNamespace(ns, "iso")
		cloud.CreateDBInstance("iso-prd-db", fixtures.ProjectTag("iso"))
		cloud.CreateDBInstance("bravo-prd-db", fixtures.ProjectTag("bravo"))
		cloud.CreateDBInstance("untagged-prd-db")
		cloud.SeedDocumentLibrary("iso-prd-dl", 3, fixtures.ProjectTag("iso"))
		cloud.SeedDocumentLibrary("bravo-prd-dl", 3, fixtures.ProjectTag("bravo"))
		cloud.SeedDocumentLibrary("untagged-prd-dl", 3)
		cloud.CreateBucket("iso-backups", fixtures.ProjectTag("iso"))
		cloud.CreateBucket("bravo-backups", fixtures.ProjectTag("bravo"))
		cloud.CreateBucket("untagged-backups")
		ctrlr = startController(moto.Endpoint, controllerOptions())
		DeferCleanup(func() { ctrlr.Stop() })
	})

	DescribeTable("refuses with ResourceNotOwned, naming the resource and the tag to add, and writes nothing",
		func(name, instance, source, dest, resource string) {
			watched := []string{"iso-backups", "bravo-backups", "untagged-backups"}
			before := map[string][]string{}
			for _, b := range watched {
				before[b] = cloud.ListKeys(b, "")
			}
			snapshots := map[string][]string{}
			for _, i := range []string{"iso-prd-db", "bravo-prd-db", "untagged-prd-db"} {
				snapshots[i] = cloud.SnapshotIDs(i)
			}
			br := newBackupRequest(ns, name, "iso", backups.Full(instance, source, dest, "iso/prd/"+name+"/"))
			Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
			Eventually(phaseOf(ns, name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseFailed))
			refused := getBR(ns, name)
			ready := refused.Status.Condition(backupv1alpha1.ConditionReady)
			Expect(ready.Reason).To(BeEquivalentTo(backupv1alpha1.ReasonResourceNotOwned))
			Expect(refused.Status.Message).To(ContainSubstring(resource))
			Expect(refused.Status.Message).To(ContainSubstring(backupv1alpha1.OwnershipTagKey + "=iso"))
			Expect(refused.Status.Claim).To(BeNil())
			for b, keys := range before {
				Expect(cloud.ListKeys(b, "")).To(Equal(keys), "nothing written to %s", b)
			}
			for i, ids := range snapshots {
				Expect(cloud.SnapshotIDs(i)).To(Equal(ids), "no snapshot of %s", i)
			}
			Eventually(func() []string {
				var reasons []string
				for _, e := range warningEventsFor(ns, name) {
					reasons = append(reasons, e.Reason)
				}
				return reasons
			}).WithTimeout(2 * time.Minute).Should(ContainElement(BeEquivalentTo(backupv1alpha1.ReasonResourceNotOwned)))
		},
		Entry("another project's database instance", "x-instance", "bravo-prd-db", "iso-prd-dl", "iso-backups", "database instance bravo-prd-db"),
		Entry("another project's source bucket", "x-source", "iso-prd-db", "bravo-prd-dl", "iso-backups", "source bucket bravo-prd-dl"),
		Entry("another project's destination bucket", "x-dest", "iso-prd-db", "iso-prd-dl", "bravo-backups", "destination bucket bravo-backups"),
		Entry("an untagged database instance", "u-instance", "untagged-prd-db", "iso-prd-dl", "iso-backups", "database instance untagged-prd-db"),
		Entry("an untagged source bucket", "u-source", "iso-prd-db", "untagged-prd-dl", "iso-backups", "source bucket untagged-prd-dl"),
		Entry("an untagged destination bucket", "u-dest", "iso-prd-db", "iso-prd-dl", "untagged-backups", "destination bucket untagged-backups"),
	)
})

// reservedNames are source keys (relative to the document library) named like the
// controller's files or folders.
var reservedNames = []string{"manifest.json", "claim.json", "inventory/x.jsonl.gz", "data/nested.bin"}

// inventoryLine is one line of an inventory part, decoded independently of the controller.
type inventoryLine struct {
	SourceKey string `json:"sourceKey"`
	StoredKey string `json:"storedKey"`
	Size      int64  `json:"size"`
	ETag      string `json:"etag"`
}

// readInventory reads every part the manifest references, checking each part's sha256.
func readInventory(bucket, prefix string, m *manifest.Manifest) []inventoryLine {
	GinkgoHelper()
	Expect(m.DocumentLibrary.Inventory).NotTo(BeNil())
	var lines []inventoryLine
	for _, part := range m.DocumentLibrary.Inventory.Parts {
		data := cloud.GetObject(bucket, prefix+part.Key)
		Expect(sha256Hex(data)).To(Equal(part.SHA256), part.Key)
		zr, err := gzip.NewReader(bytes.NewReader(data))
		Expect(err).NotTo(HaveOccurred())
		raw, err := io.ReadAll(zr)
		Expect(err).NotTo(HaveOccurred())
		for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			var e inventoryLine
			Expect(json.Unmarshal([]byte(l), &e)).To(Succeed())
			lines = append(lines, e)
		}
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].StoredKey < lines[j].StoredKey })
	return lines
}
