package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/lib/pq"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
	"github.com/liferay/lc2-backup-controller/test/fixtures/restores"
	"github.com/liferay/lc2-backup-controller/test/harness"
	"github.com/liferay/lc2-backup-controller/test/harness/liferay"
)

// The dump files (the dump and its record) in the backup's inventory, as a user reads
// them back from the bucket, and what reads that inventory: a restore of files, a
// verifyOnly restore and expiry. A real PostgreSQL server is dumped through the
// manager's process runner into the AWS emulator.
var _ = Describe("A dump backup's inventory", Ordered, func() {
	const (
		project   = "lima"
		ns        = "proj-lima-prd"
		library   = "lima-dl"
		store     = "lima-backups"
		manifests = "lima-manifests"
		restored  = "lima-restored"
		password  = "lima-Db-pass#2"
	)
	libraryKeys := []string{"document_library/20097/1.0", "document_library/20097/2.0", "document_library/30001/notes.txt"}
	var (
		ctrlr *runningController
	)

	BeforeAll(func() {
		projectNamespace(ns, project)
		for _, b := range []string{library, store, manifests, restored} {
			cloud.CreateBucket(b, fixtures.ProjectTag(project))
		}
		for i, k := range libraryKeys {
			cloud.PutObject(library, k, []byte(strings.Repeat("lima file ", i+1)))
		}

		src := startSeededPostgres(password, "lima", 11, liferay.Counts{Companies: 1, GroupsPerCompany: 1, FoldersPerGroup: 1,
			FilesPerFolder: 2, VersionsPerFile: 1, BulkRows: 50, BulkRowBytes: 256})
		createSecret(ns, "lima-db", src.connection(password))

		opts := controllerOptions()
		opts.DumpPollInterval = 2 * time.Second
		opts.RetentionCheckInterval = 500 * time.Millisecond // expiry is seen soon after the test moves the clock
		opts.ManifestBucket = manifests
		ctrlr = startController(moto.Endpoint, opts, withProcessDumper)
		DeferCleanup(func() { ctrlr.Stop() })
	})

	run := func(name string, opts ...backups.Option) *backupv1alpha1.BackupRequest {
		GinkgoHelper()
		br := newBackupRequest(ns, name, project, append(opts, backups.Dump("lima-db"), backups.Retention(30))...)
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, name)).WithTimeout(3 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		return getBR(ns, name)
	}

	// readManifest reads and verifies the manifest status names, in Go and in Python.
	readManifest := func(br *backupv1alpha1.BackupRequest) *manifest.Manifest {
		GinkgoHelper()
		bucket, key, err := provider.ParseObjectURL(br.Status.Manifest.Location)
		Expect(err).NotTo(HaveOccurred())
		data := cloud.GetObject(bucket, key)
		Expect(harness.VerifyManifestInPython(data)).To(Succeed())
		m, err := manifest.Verify(data)
		Expect(err).NotTo(HaveOccurred())
		return m
	}

	// storedETag is the ETag the store reports for bucket/key, without quotes.
	storedETag := func(bucket, key string) string {
		GinkgoHelper()
		head, err := cloud.S3.HeadObject(suiteCtx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		Expect(err).NotTo(HaveOccurred())
		return strings.Trim(aws.ToString(head.ETag), `"`)
	}

	// expectDumpFilesListed reads the part the manifest's database.inventory names under
	// prefix of bucket, checks it is the one the manifest references, and that it lists
	// exactly the dump and its record, each as the bucket holds it now.
	expectDumpFilesListed := func(m *manifest.Manifest, bucket, prefix string) {
		GinkgoHelper()
		inv := m.Database.Inventory
		Expect(inv).NotTo(BeNil(), "the manifest references the dump files' inventory")
		Expect(inv.Format).To(Equal(manifest.InventoryFormat))
		Expect(inv.Parts).To(HaveLen(1))
		part := inv.Parts[0]
		Expect(part.Key).To(Equal("inventory/database.jsonl.gz"))
		data := cloud.GetObject(bucket, prefix+part.Key)
		Expect(inventory.Checksum(data)).To(Equal(part.SHA256), "the part is stored as the manifest's checksum says")

		var entries []inventory.Entry
		read, err := inventory.Read(data, func(e inventory.Entry) error { entries = append(entries, e); return nil })
		Expect(err).NotTo(HaveOccurred())
		Expect(read.Objects).To(Equal(part.ObjectCount))
		Expect(read.Bytes).To(Equal(part.SizeBytes))
		Expect(inv.ObjectCount).To(Equal(part.ObjectCount))
		Expect(inv.TotalSizeBytes).To(Equal(part.SizeBytes))

		dumpBytes := cloud.GetObject(bucket, prefix+"database/dump.pgdump")
		recordBytes := cloud.GetObject(bucket, prefix+"database/dump.json")
		sha := func(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }
		Expect(entries).To(Equal([]inventory.Entry{
			{StoredKey: "database/dump.json", Size: int64(len(recordBytes)), ETag: storedETag(bucket, prefix+"database/dump.json"), Checksum: sha(recordBytes)},
			{StoredKey: "database/dump.pgdump", Size: int64(len(dumpBytes)), ETag: storedETag(bucket, prefix+"database/dump.pgdump"), Checksum: sha(dumpBytes)},
		}), "the dump and its record, each with its size, ETag and SHA-256 as stored, and no source key")
		Expect(inv.ObjectCount).To(BeEquivalentTo(2))
		Expect(inv.TotalSizeBytes).To(BeEquivalentTo(len(dumpBytes) + len(recordBytes)))
		Expect(m.Database.Dump.Key).To(Equal("database/dump.pgdump"))
		Expect(m.Database.Dump.SizeBytes).To(BeEquivalentTo(len(dumpBytes)))
		Expect(m.Database.Dump.SHA256).To(Equal(sha(dumpBytes)))
	}

	It("lists the dump and its record in the backup's inventory as stored, apart from the document library's counts", func() {
		br := run("lima-1", backups.DocumentLibrary(library, store, "lima/prd/1/"))
		m := readManifest(br)
		expectDumpFilesListed(m, store, "lima/prd/1/")
		Expect(br.Status.Database.Dump.SizeBytes).To(Equal(m.Database.Dump.SizeBytes), "status says what the inventory lists")

		By("the document library's totals, in status, manifest and its own parts, count only its files")
		dl := m.DocumentLibrary
		Expect(dl.ObjectCount).To(BeEquivalentTo(len(libraryKeys)))
		Expect(br.Status.DocumentLibrary.ObjectsTotal).To(Equal(dl.ObjectCount))
		Expect(br.Status.DocumentLibrary.TotalSizeBytes).To(Equal(dl.TotalSizeBytes))
		Expect(dl.Inventory.ObjectCount).To(Equal(dl.ObjectCount))
		for _, p := range dl.Inventory.Parts {
			Expect(p.Key).NotTo(Equal(m.Database.Inventory.Parts[0].Key))
			_, err := inventory.Read(cloud.GetObject(store, "lima/prd/1/"+p.Key), func(e inventory.Entry) error {
				Expect(layout.IsDataKey(e.StoredKey)).To(BeTrue(), e.StoredKey)
				return nil
			})
			Expect(err).NotTo(HaveOccurred())
		}
	})

	It("gives a database-only dump backup an inventory beside its manifest in the manifest bucket", func() {
		br := run("lima-db")
		Expect(br.Status.Claim).NotTo(BeNil())
		Expect(br.Status.Claim.Bucket).To(BeEquivalentTo(manifests))
		prefix := br.Status.Claim.Prefix
		Expect(br.Status.Manifest.Location).To(Equal("s3://" + manifests + "/" + prefix + "manifest.json"))
		m := readManifest(br)
		Expect(m.DocumentLibrary).To(BeNil())
		expectDumpFilesListed(m, manifests, prefix)
		Expect(cloud.ListKeys(manifests, prefix)).To(ConsistOf("claim.json", "manifest.json", "inventory/database.jsonl.gz", "database/dump.pgdump", "database/dump.json"))

		By("verifyOnly of it checks the two dump files")
		rr := runRestore(restores.New(ns, "lima-db-verify", restores.FromBackup("lima-db"), restores.VerifyOnly()))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
		Expect(rr.Status.Verification.ObjectsChecked).To(BeEquivalentTo(2))
	})

	It("restores only the document library's files from a dump backup", func() {
		rr := runRestore(restores.New(ns, "lima-files", restores.FromBackup("lima-1"), restores.Files(restored, "document_library/", "")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
		Expect(cloud.ListKeys(restored, "")).To(ConsistOf(libraryKeys), "the dump files are no document-library files")
		Expect(cloud.Contents(restored, "")).To(Equal(cloud.Contents(library, "")))
		Expect(rr.Status.DocumentLibrary.ObjectsTotal).To(BeEquivalentTo(len(libraryKeys)))
		Expect(rr.Status.DocumentLibrary.ObjectsRestored).To(BeEquivalentTo(len(libraryKeys)))
	})

	It("counts the dump files in verifyOnly, and fails it when the dump is truncated or deleted", func() {
		checked := int64(len(libraryKeys) + 2)
		rr := runRestore(restores.New(ns, "lima-verify-1", restores.FromBackup("lima-1"), restores.VerifyOnly()))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
		key := "lima/prd/1/database/dump.pgdump"
		Expect(*rr.Status.Verification).To(Equal(backupv1alpha1.VerificationStatus{ObjectsChecked: checked,
			Dump: &backupv1alpha1.DumpVerificationStatus{JobName: "lc2-verify-" + string(rr.UID), Location: "s3://" + store + "/" + key,
				Result: backupv1alpha1.DumpVerificationPassed}}))
		Expect(rr.Status.Condition(backupv1alpha1.ConditionVerified).Message).To(ContainSubstring("all %d objects present", checked))

		dump := cloud.GetObject(store, key)
		By("truncating the stored dump")
		cloud.PutObject(store, key, dump[:len(dump)/2])
		rr = runRestore(restores.New(ns, "lima-verify-2", restores.FromBackup("lima-1"), restores.VerifyOnly()))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(reasonOfRR(rr, backupv1alpha1.ConditionVerified)).To(BeEquivalentTo(backupv1alpha1.ReasonBackupIncomplete))
		Expect(rr.Status.Verification.ObjectsChecked).To(Equal(checked))
		Expect(rr.Status.Verification.ObjectsDifferent).To(BeEquivalentTo(1))
		Expect(rr.Status.Verification.Dump.Result).To(Equal(backupv1alpha1.DumpVerificationFailed), "the dumper's full read fails too")
		Expect(rr.Status.Verification.Problems).To(ConsistOf(
			HavePrefix("dump s3://"+store+"/"+key+": the full read failed"),
			"different: s3://"+store+"/"+key+" is "+strconv.Itoa(len(dump)/2)+" bytes, the inventory records "+strconv.Itoa(len(dump))))

		By("deleting the stored dump")
		cloud.DeleteObject(store, key)
		rr = runRestore(restores.New(ns, "lima-verify-3", restores.FromBackup("lima-1"), restores.VerifyOnly()))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed))
		Expect(rr.Status.Verification.ObjectsChecked).To(Equal(checked))
		Expect(rr.Status.Verification.ObjectsMissing).To(BeEquivalentTo(1))
		Expect(rr.Status.Verification.Dump.Result).To(Equal(backupv1alpha1.DumpVerificationFailed))
		Expect(rr.Status.Verification.Problems).To(ConsistOf(HavePrefix("dump s3://"+store+"/"+key+": the full read failed"), "missing: s3://"+store+"/"+key))
	})

	It("expiry deletes the dump files the inventory lists, and nothing else", func() {
		// An object named like a dump that the backup's inventory does not list, put
		// under its prefix afterwards: not the backup's to delete.
		cloud.PutObject(store, "lima/prd/1/database/dump.sql.gz", []byte("someone else's"))
		dbOnly := getBR(ns, "lima-db").Status.Claim.Prefix
		testClock.Advance(2 * time.Second) // lima-2 completes after the others, whatever the machine's speed
		DeferCleanup(func() { testClock.Advance(-2 * time.Second) })
		run("lima-2", backups.DocumentLibrary(library, store, "lima/prd/2/"))
		live := cloud.Contents(library, "")

		testClock.Advance(31 * 24 * time.Hour)
		DeferCleanup(func() { testClock.Advance(-31 * 24 * time.Hour) })
		Eventually(phaseOf(ns, "lima-1")).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseExpired))
		Eventually(phaseOf(ns, "lima-db")).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseExpired))
		Expect(cloud.ListKeys(store, "lima/prd/1/")).To(ConsistOf("database/dump.sql.gz"), "only the object the inventory does not list is left")
		Expect(cloud.ListKeys(manifests, dbOnly)).To(BeEmpty())
		Expect(cloud.ListKeys(store, "lima/prd/2/")).To(ContainElements("database/dump.pgdump", "database/dump.json", "inventory/database.jsonl.gz"),
			"the newest backup is kept")
		Expect(cloud.Contents(library, "")).To(Equal(live), "the live library is untouched")
	})
})
