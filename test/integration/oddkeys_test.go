package integration

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
	"github.com/liferay/lc2-backup-controller/test/fixtures/restores"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

// oddLibraryKeys are keys, relative to document_library/, that S3 accepts and that a
// path rule would treat apart from others. S3 keys are opaque strings: each must be
// stored as written, listed in the inventory, restored byte for byte and deleted
// (docs/backup-layout.md).
var oddLibraryKeys = []string{
	"20097/20121/../dotdot-segment.txt",
	"../leading-dotdot.txt",
	"a/..",
	"20097/./dot-segment.txt",
	"./leading-dot.txt",
	"trailing-dot.",
	"double//slash.txt",
	"/leading-slash.txt",
	"folder-marker/",
	"spaces and %25 + ? # & = ; ~.txt",
	"unicode/\u00e9t\u00e9-\u6587\u4ef6-\U0001F600.txt",
	"twins/caf\u00e9.txt",  // NFC: é is one code point
	"twins/cafe\u0301.txt", // NFD: e + combining acute: another key that looks the same
	"control/tab\tand-cr\r.txt",
	"control/bell\a-and-unit-separator\x1f.txt",
	"percent/%2e%2e/%2F.txt",
	`backslash\..\x.txt`,
}

// atKeyLimit is a library key whose stored key under the 17-byte destination prefixes
// of this suite ("odd/prd/full-old/") is exactly S3's 1,024-byte limit.
var atKeyLimit = "long/" + strings.Repeat("k", provider.MaxKeyBytes-len("odd/prd/full-old/data/long/"))

var _ = Describe("Keys S3 accepts, however odd, are backed up, listed, restored byte for byte and deleted", Ordered, func() {
	const (
		project = "odd"
		ns      = "proj-odd-prd"
		source  = "liferay-odd-prd-dl"
		bucket  = "odd-backups"
		target  = "odd-restored-dl"
	)
	var (
		ctrlr *runningController
		// lib is the document library: full source key to bytes.
		lib map[string][]byte
		// seeded is what the backup bucket must hold once every backup is removed.
		seeded map[string][]byte
	)

	BeforeAll(func() {
		projectNamespace(ns, project)
		cloud.CreateBucket(source, fixtures.ProjectTag(project))
		for i, k := range append(slices.Clone(oddLibraryKeys), atKeyLimit, "20097/20121/1000/1.0") {
			cloud.PutObject(source, "document_library/"+k, []byte(fmt.Sprintf("document %d: %q", i, k)))
		}
		lib = cloud.Contents(source, "document_library/")
		Expect(lib).To(HaveLen(len(oddLibraryKeys)+2), "the emulator stores every key apart, the NFC/NFD twins included")
		Expect(lib).To(HaveKey("document_library/" + oddLibraryKeys[0]))
		cloud.CreateBucket(bucket, fixtures.ProjectTag(project))
		cloud.CreateBucket(target, fixtures.ProjectTag(project))
		// Where a path rule would resolve the stored ".." keys of the backups: foreign.
		for _, key := range []string{"odd/prd/leading-dotdot.txt", "odd/prd/data/leading-dotdot.txt", "odd/readme.txt"} {
			cloud.PutObject(bucket, key, []byte("foreign "+key))
		}
		seeded = cloud.Contents(bucket, "")
		opts := controllerOptions()
		opts.RetentionCheckInterval = 500 * time.Millisecond
		ctrlr = startController(slowProxy.URL, opts)
		DeferCleanup(func() { ctrlr.Stop() })
	})

	// backup runs one backup of the library in mode and expects it to succeed.
	backup := func(name string, incremental bool) *backupv1alpha1.BackupRequest {
		GinkgoHelper()
		opts := []backups.Option{backups.DocumentLibrary(source, bucket, "odd/prd/"+name+"/")}
		if incremental {
			opts = append(opts, backups.Incremental())
		}
		Expect(k8sClient.Create(suiteCtx, newBackupRequest(ns, name, project, opts...))).To(Succeed())
		Eventually(phaseOf(ns, name)).WithTimeout(2*time.Minute).Should(BeElementOf(backupv1alpha1.PhaseSucceeded, backupv1alpha1.PhaseFailed), name)
		br := getBR(ns, name)
		Expect(br.Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded), br.Status.Message)
		return br
	}
	// waitGone waits until the object name of into's kind is gone.
	waitGone := func(name string, into client.Object) {
		GinkgoHelper()
		Eventually(func() error { return k8sClient.Get(suiteCtx, keyOf(ns, name), into) }).
			WithTimeout(2 * time.Minute).Should(MatchError(ContainSubstring("not found")))
	}

	DescribeTable("each key is stored apart, listed, restored byte-equal and removed on expiry and on delete",
		func(mode string, incremental bool) {
			oldName, newName := mode+"-old", mode+"-new"
			old := backup(oldName, incremental)
			prefix := "odd/prd/" + oldName + "/"

			By("the inventory lists every source key exactly as written")
			data := cloud.GetObject(bucket, prefix+"manifest.json")
			m, err := manifest.Verify(data)
			Expect(err).NotTo(HaveOccurred())
			lines := readInventory(bucket, prefix, m)
			var listed []string
			for _, l := range lines {
				listed = append(listed, l.SourceKey)
				stored := prefix + l.StoredKey
				if incremental {
					stored = m.DocumentLibrary.RepositoryPrefix + l.StoredKey
				} else {
					Expect(l.StoredKey).To(Equal("data/"+strings.TrimPrefix(l.SourceKey, "document_library/")), "stored as written")
				}
				Expect(bytes.Equal(cloud.GetObject(bucket, stored), lib[l.SourceKey])).To(BeTrue(), "stored object of %q", l.SourceKey)
			}
			Expect(listed).To(ConsistOf(keysOf(lib)))
			Expect(old.Status.DocumentLibrary.ObjectsTotal).To(BeEquivalentTo(len(lib)))
			if !incremental {
				Expect(cloud.ListKeys(bucket, prefix+"data/")).To(HaveLen(len(lib)), "one object per key, none merged or resolved")
				Expect(len(prefix + "data/" + atKeyLimit)).To(Equal(provider.MaxKeyBytes))
			}

			By("a restore writes every key back byte for byte, the twins apart")
			rr := runRestore(restores.New(ns, mode+"-restore", restores.FromBackup(oldName), restores.Files(target, mode+"/", "")))
			Expect(rr.Status.Phase).To(Equal(backupv1alpha1.RestorePhaseSucceeded), rr.Status.Message)
			Expect(cloud.Contents(target, mode+"/")).To(Equal(rekeyed(lib, "document_library/", mode+"/")))
			Expect(k8sClient.Delete(suiteCtx, rr)).To(Succeed())
			waitGone(rr.Name, &backupv1alpha1.RestoreRequest{})

			var intruders []string
			if !incremental {
				By("foreign objects where a path rule would resolve the '..' keys, put inside the destination")
				intruders = []string{"data/20097/dotdot-segment.txt", "leading-dotdot.txt"}
				for _, key := range intruders {
					cloud.PutObject(bucket, prefix+key, []byte("foreign "+key))
					seeded[prefix+key] = []byte("foreign " + key)
				}
			}

			By("the older backup expires: every object it stored goes")
			time.Sleep(1100 * time.Millisecond) // completion times have second resolution: the second must be newer
			newer := backup(newName, incremental)
			expireNow(old)
			Eventually(phaseOf(ns, oldName)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseExpired))
			Expect(cloud.ListKeys(bucket, prefix)).To(ConsistOf(intruders), "nothing of the expired backup is left, and nothing else went")
			if !incremental {
				removed := getBR(ns, oldName).Status.Condition(backupv1alpha1.ConditionArtifactsRemoved)
				Expect(removed.Message).To(ContainSubstring(fmt.Sprintf("removed %d objects", len(lib))))
			}

			By("deleting the newer one removes the rest: the bucket holds exactly what was seeded")
			Expect(k8sClient.Delete(suiteCtx, newer)).To(Succeed())
			waitGone(newName, &backupv1alpha1.BackupRequest{})
			Expect(cloud.Contents(bucket, "")).To(Equal(seeded))
		},
		Entry("Full", "full", false),
		Entry("Incremental", "inc", true),
	)

	It("removes everything a copy of odd keys wrote when its request is deleted mid-copy", func() {
		prefix := "odd/prd/full-cxl/" // as long as the others: the key at the limit fits
		// Enough copies pass that the odd keys are among them; the last ones are parked.
		slowProxy.Hold(harness.CopiesAfter(bucket, prefix, int64(len(lib)-2)))
		DeferCleanup(slowProxy.Release)
		br := newBackupRequest(ns, "full-cxl", project, backups.DocumentLibrary(source, bucket, prefix))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		waitParked(slowProxy, 2)
		// The copies let through may still be on their way when the last two are parked.
		Eventually(func() []string { return cloud.ListKeys(bucket, prefix+"data/") }).WithTimeout(time.Minute).
			Should(And(HaveLen(len(lib)-2), ContainElement(oddLibraryKeys[0])), "the copy is in the middle, the '..' key copied")

		Expect(k8sClient.Delete(suiteCtx, getBR(ns, br.Name))).To(Succeed())
		waitGone(br.Name, &backupv1alpha1.BackupRequest{})
		Expect(cloud.Contents(bucket, "")).To(Equal(seeded))
	})

	It("fails a backup whose stored key would exceed S3's limit, naming the key, and removes what it wrote", func() {
		longSource := "liferay-odd-long-dl"
		cloud.CreateBucket(longSource, fixtures.ProjectTag(project))
		// One byte over the limit under this destination prefix (18 bytes).
		tooLong := "document_library/" + strings.Repeat("x", provider.MaxKeyBytes-len("odd/prd/too-long/data/")+1)
		Expect(len(tooLong)).To(BeNumerically("<=", provider.MaxKeyBytes), "the source key itself is one S3 accepts")
		cloud.PutObject(longSource, tooLong, []byte("cannot be stored"))
		cloud.PutObject(longSource, "document_library/a/../short.txt", []byte("stored"))
		br := newBackupRequest(ns, "too-long", project, backups.DocumentLibrary(longSource, bucket, "odd/prd/too-long/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, br.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseFailed))
		br = getBR(ns, br.Name)
		Expect(br.Status.Condition(backupv1alpha1.ConditionReady).Reason).To(BeEquivalentTo(backupv1alpha1.ReasonInvalidInput))
		Expect(br.Status.Message).To(ContainSubstring("S3 keys are at most 1024 bytes"))
		Expect(br.Status.Message).To(ContainSubstring(tooLong[:60]))
		Expect(cloud.ListKeys(bucket, "odd/prd/too-long/data/")).To(Equal([]string{"a/../short.txt"}))

		expireNow(br)
		Eventually(phaseOf(ns, br.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseExpired))
		Expect(cloud.Contents(bucket, "")).To(Equal(seeded))
	})
})

// rekeyed is m with the prefix from of each key replaced by to.
func rekeyed(m map[string][]byte, from, to string) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range m {
		out[to+strings.TrimPrefix(k, from)] = v
	}
	return out
}
