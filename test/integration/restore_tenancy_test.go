package integration

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
	"github.com/liferay/lc2-backup-controller/test/fixtures/restores"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

// A user of project bravo can write and seal a manifest in bravo's own buckets: its
// checksum proves nothing about whose data it names. Each forged manifest below must
// be refused before the controller sends a single request for project alpha's data,
// which the proxy between the controller and the emulator counts.
var _ = Describe("RestoreRequest of a forged manifest", Ordered, func() {
	const (
		shared   = "w2-backups"
		alphaDB  = "w2alpha-prd-db"
		alphaDL  = "w2alpha-prd-dl"
		bravoDL  = "w2bravo-prd-dl"
		alphaPfx = "alpha/"
	)
	var (
		alphaNS, bravoNS string
		ctrlr            *runningController
		// alphaRequests counts the requests for anything under alpha/ in the shared
		// bucket (keys as sent, and as a path-normalising server would read them).
		alphaRequests atomic.Int64
	)
	alphaManifest := func(name string) *manifest.Manifest {
		GinkgoHelper()
		m, err := manifest.Verify(cloud.GetObject(shared, alphaPfx+"prd/"+name+"/manifest.json"))
		Expect(err).NotTo(HaveOccurred())
		return m
	}
	// seal re-seals m as bravo's and writes it under prefix of bucket, with a claim
	// naming bravo beside it: everything a user of bravo can write.
	seal := func(bucket, prefix string, m *manifest.Manifest) string {
		GinkgoHelper()
		m.ProjectID, m.Checksum = "bravo", ""
		Expect(m.Seal()).To(Succeed())
		data, err := m.Marshal(manifest.Pretty)
		Expect(err).NotTo(HaveOccurred())
		claim := &layout.Claim{Version: layout.ClaimVersion, BackupID: m.BackupID, UID: "forged", Namespace: bravoNS, Name: "forged",
			ProjectID: "bravo", Environment: "prd", ClaimedAt: time.Now().UTC()}
		claimData, err := claim.Marshal()
		Expect(err).NotTo(HaveOccurred())
		cloud.PutObject(bucket, prefix+layout.ClaimName, claimData)
		cloud.PutObject(bucket, prefix+layout.ManifestName, data)
		return "s3://" + bucket + "/" + prefix + layout.ManifestName
	}
	// refused runs rr and checks that it failed with reason, its message naming every
	// one of names, and that nothing of alpha was requested.
	refused := func(rr *backupv1alpha1.RestoreRequest, reason backupv1alpha1.Reason, names ...string) *backupv1alpha1.RestoreRequest {
		GinkgoHelper()
		alphaRequests.Store(0)
		rr = runRestore(rr)
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseFailed), rr.Status.Message)
		Expect(reasonOfRR(rr, backupv1alpha1.ConditionReady)).To(BeEquivalentTo(reason), rr.Status.Message)
		for _, n := range names {
			Expect(rr.Status.Message).To(ContainSubstring(n))
		}
		Expect(alphaRequests.Load()).To(BeZero(), "requests for alpha's data")
		Expect(rr.Status.Database).To(BeNil())
		Expect(rr.Status.DocumentLibrary).To(BeNil())
		return rr
	}

	BeforeAll(func() {
		alphaNS = projectNamespace("proj-w2alpha-prd", "alpha")
		bravoNS = projectNamespace("proj-w2bravo-prd", "bravo")
		cloud.CreateDBInstance(alphaDB, fixtures.ProjectTag("alpha"))
		cloud.SeedDocumentLibrary(alphaDL, 6, fixtures.ProjectTag("alpha"))
		cloud.CreateBucket(shared, fixtures.SharedBucketTag())
		cloud.CreateBucket(bravoDL, fixtures.ProjectTag("bravo"))

		proxy, err := harness.NewDelayProxy(moto.Endpoint)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(proxy.Close)
		var counting atomic.Bool
		// Never parks a request (the matcher says no): it only counts them.
		proxy.Hold(func(r *http.Request) bool {
			if !counting.Load() {
				return false
			}
			p, q := r.URL.Path, r.URL.Query()
			if strings.HasPrefix(p, "/"+shared+"/"+alphaPfx) || strings.HasPrefix(path.Clean(p), "/"+shared+"/"+alphaPfx) ||
				(strings.TrimSuffix(p, "/") == "/"+shared && strings.HasPrefix(q.Get("prefix"), alphaPfx)) {
				alphaRequests.Add(1)
			}
			return false
		})
		ctrlr = startController(proxy.URL, controllerOptions())
		DeferCleanup(func() { ctrlr.Stop() })

		By("alpha's Full backup with its snapshot, and its Incremental one")
		for _, br := range []*backupv1alpha1.BackupRequest{
			newBackupRequest(alphaNS, "a1", "alpha", backups.Full(alphaDB, alphaDL, shared, alphaPfx+"prd/a1/")),
			newBackupRequest(alphaNS, "a2", "alpha", backups.DocumentLibrary(alphaDL, shared, alphaPfx+"prd/a2/"), backups.Incremental()),
		} {
			Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
			Eventually(phaseOf(alphaNS, br.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		}
		counting.Store(true)
	})

	It("refuses a manifest naming another project's backup prefix, restoring or verifying", func() {
		m := alphaManifest("a1")
		m.Database = nil
		url := seal(bravoDL, "bravo/forged-prefix/", m)
		where := "s3://" + shared + "/" + alphaPfx + "prd/a1/"
		refused(restores.New(bravoNS, "forged-prefix", restores.FromManifest(url), restores.Files(bravoDL, "loot-prefix/", "")),
			backupv1alpha1.ReasonProjectMismatch, "documentLibrary.destinationPrefix", where)
		Expect(cloud.ListKeys(bravoDL, "loot-prefix/")).To(BeEmpty())
		refused(restores.New(bravoNS, "forged-prefix-verify", restores.FromManifest(url), restores.VerifyOnly()),
			backupv1alpha1.ReasonProjectMismatch, "documentLibrary.destinationPrefix", where)
	})

	It("refuses a manifest whose backup lies in the project's prefix but has no claim", func() {
		m := alphaManifest("a1")
		m.Database = nil
		// Pointing at bravo's own prefix reads only bravo's data; without a claim there
		// nothing says it is a backup at all.
		m.DocumentLibrary.DestinationBucket, m.DocumentLibrary.DestinationPrefix = bravoDL, "bravo/unclaimed/"
		url := seal(bravoDL, "bravo/forged-unclaimed/", m)
		refused(restores.New(bravoNS, "forged-unclaimed", restores.FromManifest(url), restores.Files(bravoDL, "loot-unclaimed/", "")),
			backupv1alpha1.ReasonResourceNotOwned, "documentLibrary.destinationPrefix", "s3://"+bravoDL+"/bravo/unclaimed/", "claim.json")
		Expect(cloud.ListKeys(bravoDL, "loot-unclaimed/")).To(BeEmpty())
	})

	// The forged backup lies in bravo's prefix of the shared bucket, with bravo's claim:
	// only the inventory names alpha's keys.
	DescribeTable("refuses a forged inventory naming another project's keys",
		func(name string, forge func(m *manifest.Manifest, prefix string), field string) {
			prefix := "bravo/" + name + "/"
			m := alphaManifest("a1")
			m.Database = nil
			m.DocumentLibrary.DestinationPrefix = prefix
			forge(m, prefix)
			url := seal(shared, prefix, m)
			refused(restores.New(bravoNS, name, restores.FromManifest(url), restores.Files(bravoDL, "loot-"+name+"/", "")),
				backupv1alpha1.ReasonResourceNotOwned, field)
			Expect(cloud.ListKeys(bravoDL, "loot-"+name+"/")).To(BeEmpty())
		},
		Entry("a part key leading out of the backup into alpha's inventory", "forged-part-key",
			func(m *manifest.Manifest, prefix string) {
				p := &m.DocumentLibrary.Inventory.Parts[0]
				p.Key = "inventory/" + strings.Repeat("../", 3) + alphaPfx + "prd/a1/" + p.Key
			}, "documentLibrary.inventory.parts[0].key"),
		Entry("stored keys leading out of the backup into alpha's data", "forged-stored-keys",
			func(m *manifest.Manifest, prefix string) {
				GinkgoHelper()
				// A part of its own, in bravo's prefix, listing alpha's objects.
				alpha := readInventory(shared, alphaPfx+"prd/a1/", alphaManifest("a1"))
				var lines []string
				var size int64
				for _, e := range alpha {
					e.StoredKey = "data/" + strings.Repeat("../", 3) + alphaPfx + "prd/a1/" + e.StoredKey
					lines = append(lines, fmt.Sprintf(`{"sourceKey":%q,"storedKey":%q,"size":%d,"etag":%q}`, e.SourceKey, e.StoredKey, e.Size, e.ETag))
					size += e.Size
				}
				part := gzipped(strings.Join(lines, "\n") + "\n")
				key := layout.PartKey("20261206T000000.000000000Z", 0)
				cloud.PutObject(shared, prefix+key, part)
				inv := m.DocumentLibrary.Inventory
				inv.Parts = []manifest.InventoryPart{{Key: key, SHA256: inventory.Checksum(part), ObjectCount: int64(len(alpha)), SizeBytes: size}}
				inv.ObjectCount, inv.TotalSizeBytes = int64(len(alpha)), size
				m.DocumentLibrary.ObjectCount, m.DocumentLibrary.TotalSizeBytes = int64(len(alpha)), size
			}, "climbs above "+"bravo/forged-stored-keys/"),
	)

	It("refuses a manifest naming another project's repository", func() {
		m := alphaManifest("a2")
		Expect(m.DocumentLibrary.Incremental()).To(BeTrue())
		prefix := "bravo/forged-repository/"
		// alpha's inventory, under bravo's prefix: its stored keys are alpha's repository's.
		for _, p := range m.DocumentLibrary.Inventory.Parts {
			cloud.PutObject(shared, prefix+p.Key, cloud.GetObject(shared, alphaPfx+"prd/a2/"+p.Key))
		}
		m.DocumentLibrary.DestinationPrefix = prefix
		url := seal(shared, prefix, m)
		refused(restores.New(bravoNS, "forged-repository", restores.FromManifest(url), restores.Files(bravoDL, "loot-repository/", "")),
			backupv1alpha1.ReasonProjectMismatch, "documentLibrary.repositoryPrefix", "s3://"+shared+"/"+m.DocumentLibrary.RepositoryPrefix)
		Expect(cloud.ListKeys(bravoDL, "loot-repository/")).To(BeEmpty())
	})

	It("refuses a manifest naming another project's snapshot, restoring or verifying", func() {
		m := alphaManifest("a1")
		Expect(m.Database).NotTo(BeNil())
		snapshot := m.Database.SnapshotID
		m.DocumentLibrary = nil
		m.BackupID = "forged-snapshot"
		url := seal(bravoDL, "bravo/forged-snapshot/", m)
		rr := refused(restores.New(bravoNS, "forged-snapshot", restores.FromManifest(url), restores.Database("w2bravo-db-stolen")),
			backupv1alpha1.ReasonValidationFailed, "database.snapshotId", snapshot, `project "alpha"`)
		Expect(reasonOfRR(rr, backupv1alpha1.ConditionSourceVerified)).To(BeEquivalentTo(backupv1alpha1.ReasonProjectMismatch))
		Expect(instanceExists("w2bravo-db-stolen")).To(BeFalse())
		refused(restores.New(bravoNS, "forged-snapshot-verify", restores.FromManifest(url), restores.VerifyOnly()),
			backupv1alpha1.ReasonValidationFailed, "database.snapshotId", snapshot)
	})

	It("still restores the project's own backup from its manifest URL", func() {
		br := getBR(alphaNS, "a1")
		rr := runRestore(restores.New(alphaNS, "own", restores.FromManifest(br.Status.Manifest.Location), restores.Files(alphaDL, "restored/", "")))
		Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
		Expect(cloud.ListKeys(alphaDL, "restored/")).To(HaveLen(int(alphaManifest("a1").DocumentLibrary.ObjectCount)))
	})
})

// gzipped is text gzip-compressed, as inventory parts are stored.
func gzipped(text string) []byte {
	GinkgoHelper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write([]byte(text))
	Expect(err).NotTo(HaveOccurred())
	Expect(zw.Close()).To(Succeed())
	return buf.Bytes()
}
