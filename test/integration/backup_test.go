package integration

import (
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/controller"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

func fullSpec(instance, source, dest, prefix string) backupv1alpha1.BackupRequestSpec {
	return backupv1alpha1.BackupRequestSpec{
		Provider: "aws",
		Database: &backupv1alpha1.DatabaseBackupSpec{Type: "snapshot", InstanceID: instance},
		DocumentLibrary: &backupv1alpha1.DocumentLibraryBackupSpec{
			SourceBucket: backupv1alpha1.BucketName(source), SourcePrefix: "document_library/",
			DestinationBucket: backupv1alpha1.BucketName(dest), DestinationPrefix: backupv1alpha1.ObjectPrefix(prefix),
			ExcludeGeneratedFiles: true,
		},
	}
}

func warningEventsFor(namespace, name string) []eventsv1.Event {
	var list eventsv1.EventList
	Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(namespace))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Type == "Warning" {
			out = append(out, e)
		}
	}
	return out
}

var _ = Describe("BackupRequest controller on the AWS emulator", Ordered, func() {
	var ctrlr *runningController

	AfterEach(func() {
		if ctrlr != nil {
			ctrlr.Stop()
			ctrlr = nil
		}
	})

	It("backs up a database and a document library end to end", func() {
		ns := projectNamespace("proj-retail-prd", "retail")
		cloud.CreateDBInstance("retail-prd-db", fixtures.ProjectTag("retail"))
		wanted := cloud.SeedDocumentLibrary("liferay-retail-prd-dl", 40, fixtures.ProjectTag("retail"))
		cloud.CreateBucket("liferay-backups", fixtures.SharedBucketTag())
		ctrlr = startController(moto.Endpoint, controllerOptions())

		br := newBackupRequest(ns, "retail-prd-backup-20251109", "retail", fullSpec("retail-prd-db", "liferay-retail-prd-dl", "liferay-backups", "retail/prd/20251109/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, br.Name)).WithTimeout(60 * time.Second).Should(Equal(backupv1alpha1.PhaseSucceeded))
		br = getBR(ns, br.Name)

		By("a snapshot tagged with its owner exists in the emulator")
		Expect(cloud.SnapshotIDs("retail-prd-db")).To(ConsistOf(br.Status.Database.SnapshotID))
		tags := cloud.SnapshotTags(br.Status.Database.SnapshotARN)
		Expect(tags).To(ContainElement("retail"))
		Expect(tags).To(ContainElement(string(br.UID)))

		By("every user document is copied under data/ and no generated file is")
		Expect(cloud.ListKeys("liferay-backups", "retail/prd/20251109/data/")).To(Equal(wanted))
		Expect(br.Status.DocumentLibrary.ObjectsTotal).To(BeEquivalentTo(40))
		Expect(br.Status.DocumentLibrary.ObjectsExcluded).To(BeEquivalentTo(3))
		By("beside data/: the claim, one inventory part and the manifest, nothing else")
		Expect(cloud.ListKeys("liferay-backups", "retail/prd/20251109/")).To(ConsistOf(append(prefixed("data/", wanted),
			"claim.json", "manifest.json", MatchRegexp(`^inventory/\d{8}T\d{6}\.\d{9}Z-00000\.jsonl\.gz$`))))

		By("the manifest verifies and matches status")
		data := cloud.GetObject("liferay-backups", "retail/prd/20251109/manifest.json")
		m, err := manifest.Verify(data)
		Expect(err).NotTo(HaveOccurred())
		Expect(harness.VerifyManifestInPython(data)).To(Succeed())
		Expect(m.Checksum).To(Equal(br.Status.Manifest.Checksum))
		Expect(m.DocumentLibrary.Inventory.ObjectCount).To(BeEquivalentTo(40))
		Expect(m.DocumentLibrary.ObjectCount).To(BeEquivalentTo(40))
		Expect(m.Database.SnapshotID).To(Equal(br.Status.Database.SnapshotID))
		Expect(br.Status.Manifest.Location).To(Equal("s3://liferay-backups/retail/prd/20251109/manifest.json"))

		By("conditions tell the story")
		for _, c := range []string{controller.ConditionReady, controller.ConditionDatabaseSnapshotReady, controller.ConditionDocumentLibraryCopied, controller.ConditionManifestWritten} {
			Expect(meta.IsStatusConditionTrue(br.Status.Conditions, c)).To(BeTrue(), c)
		}
	})

	It("runs at most two backups of a project at once, in creation order, without delaying another project", func() {
		ns := projectNamespace("proj-shop-prd", "shop")
		bankNS := projectNamespace("proj-bank-prd", "bank")
		cloud.CreateDBInstance("shop-prd-db")
		cloud.CreateDBInstance("bank-prd-db")
		cloud.SeedDocumentLibrary("liferay-shop-prd-dl", 10)
		cloud.CreateBucket("shop-backups")
		cloud.CreateBucket("bank-backups")
		opts := controllerOptions()
		opts.SnapshotPollInitial = 3 * time.Second // each backup holds its slot for a while
		opts.SnapshotPollMax = 3 * time.Second
		ctrlr = startController(moto.Endpoint, opts)

		By("watching every phase change")
		var list backupv1alpha1.BackupRequestList
		w, err := k8sClient.Watch(suiteCtx, &list, client.InNamespace(ns))
		Expect(err).NotTo(HaveOccurred())
		defer w.Stop()
		var mu sync.Mutex
		inProgress := map[string]bool{}
		maxInProgress := 0
		var startOrder []string
		go func() {
			defer GinkgoRecover()
			for ev := range w.ResultChan() {
				br, ok := ev.Object.(*backupv1alpha1.BackupRequest)
				if !ok || ev.Type == watch.Deleted {
					continue
				}
				mu.Lock()
				running := br.Status.Phase == backupv1alpha1.PhaseInProgress
				if running && !inProgress[br.Name] {
					startOrder = append(startOrder, br.Name)
				}
				inProgress[br.Name] = running
				n := 0
				for _, r := range inProgress {
					if r {
						n++
					}
				}
				maxInProgress = max(maxInProgress, n)
				mu.Unlock()
			}
		}()

		var names []string
		for i := range 5 {
			name := fmt.Sprintf("shop-backup-%d", i)
			names = append(names, name)
			spec := fullSpec("shop-prd-db", "liferay-shop-prd-dl", "shop-backups", fmt.Sprintf("shop/prd/%d/", i))
			// Created back to back: creation timestamps have second resolution, so names
			// (which sort in creation order here) break the ties.
			Expect(k8sClient.Create(suiteCtx, newBackupRequest(ns, name, "shop", spec))).To(Succeed())
		}
		bank := newBackupRequest(bankNS, "bank-backup", "bank", backupv1alpha1.BackupRequestSpec{
			Provider: "aws", Database: &backupv1alpha1.DatabaseBackupSpec{Type: "snapshot", InstanceID: "bank-prd-db"},
		})
		Expect(k8sClient.Create(suiteCtx, bank)).To(Succeed())

		By("the other project starts at once although shop is queued")
		Eventually(phaseOf(bankNS, bank.Name)).WithTimeout(3 * time.Second).WithPolling(100 * time.Millisecond).
			Should(BeElementOf(backupv1alpha1.PhaseInProgress, backupv1alpha1.PhaseSucceeded))
		Eventually(func(g Gomega) {
			last := getBR(ns, "shop-backup-4")
			g.Expect(last.Status.Phase).To(Equal(backupv1alpha1.PhasePending))
			ready := meta.FindStatusCondition(last.Status.Conditions, controller.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Reason).To(Equal(controller.ReasonWaitingForSlot))
			g.Expect(ready.Message).To(MatchRegexp(`position \d in the queue of project shop`))
		}).WithTimeout(2 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())

		for _, name := range names {
			Eventually(phaseOf(ns, name)).WithTimeout(90*time.Second).Should(Equal(backupv1alpha1.PhaseSucceeded), name)
		}
		Eventually(phaseOf(bankNS, bank.Name)).WithTimeout(30 * time.Second).Should(Equal(backupv1alpha1.PhaseSucceeded))
		mu.Lock()
		defer mu.Unlock()
		Expect(maxInProgress).To(BeNumerically("<=", 2))
		Expect(maxInProgress).To(Equal(2), "two slots must actually be used")
		// With two slots a request may start together with the one created just before it,
		// but never before one created two places earlier.
		Expect(startOrder).To(ConsistOf(names))
		position := map[string]int{}
		for i, n := range startOrder {
			position[n] = i
		}
		for j := 2; j < len(names); j++ {
			Expect(position[names[j]]).To(BeNumerically(">", position[names[j-2]]),
				"%s started before %s: start order %v", names[j], names[j-2], startOrder)
		}
	})

	It("resumes after the controller is stopped mid-copy, with exactly one snapshot", func() {
		ns := projectNamespace("proj-media-prd", "media")
		cloud.CreateDBInstance("media-prd-db", fixtures.ProjectTag("media"))
		cloud.SeedDocumentLibrary("liferay-media-prd-dl", 300, fixtures.ProjectTag("media"))
		cloud.CreateBucket("media-backups", fixtures.ProjectTag("media"))
		slowProxy.SetDelay(15 * time.Millisecond)
		defer slowProxy.SetDelay(0)
		opts := controllerOptions()
		opts.CopyConcurrency = 2
		ctrlr = startController(slowProxy.URL, opts)

		br := newBackupRequest(ns, "media-backup", "media", fullSpec("media-prd-db", "liferay-media-prd-dl", "media-backups", "media/prd/1/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(func() int64 {
			st := getBR(ns, br.Name).Status.DocumentLibrary
			if st == nil {
				return 0
			}
			return st.ObjectsCopied
		}).WithTimeout(60 * time.Second).WithPolling(50 * time.Millisecond).Should(BeNumerically(">", 20))

		By("stopping the controller in the middle of the copy")
		ctrlr.Stop()
		stopped := getBR(ns, br.Name)
		Expect(stopped.Status.Phase).To(Equal(backupv1alpha1.PhaseInProgress))
		copiedBefore := len(cloud.ListKeys("media-backups", "media/prd/1/data/"))
		Expect(copiedBefore).To(BeNumerically("<", 300), "the copy must have been interrupted")

		By("starting it again")
		slowProxy.SetDelay(0)
		ctrlr = startController(slowProxy.URL, opts)
		Eventually(phaseOf(ns, br.Name)).WithTimeout(60 * time.Second).Should(Equal(backupv1alpha1.PhaseSucceeded))
		done := getBR(ns, br.Name)
		Expect(cloud.SnapshotIDs("media-prd-db")).To(HaveLen(1))
		Expect(done.Status.DocumentLibrary.ObjectsTotal).To(BeEquivalentTo(300))
		Expect(done.Status.DocumentLibrary.ObjectsSkipped).To(BeNumerically(">=", copiedBefore), "objects copied before the stop are not copied again")
		Expect(cloud.ListKeys("media-backups", "media/prd/1/data/")).To(HaveLen(300))
		Expect(done.Status.DocumentLibrary.ObjectsTotal).To(BeEquivalentTo(300), "the OBJECTS column counts what the backup holds, not what the last run copied")
	})

	It("fails with an actionable reason and a Warning event when the database instance does not exist", func() {
		ns := projectNamespace("proj-ghost-prd", "ghost")
		ctrlr = startController(moto.Endpoint, controllerOptions())
		br := newBackupRequest(ns, "ghost-backup", "ghost", backupv1alpha1.BackupRequestSpec{
			Provider: "aws", Database: &backupv1alpha1.DatabaseBackupSpec{Type: "snapshot", InstanceID: "ghost-prd-db"},
		})
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, br.Name)).WithTimeout(30 * time.Second).Should(Equal(backupv1alpha1.PhaseFailed))
		failed := getBR(ns, br.Name)
		ready := meta.FindStatusCondition(failed.Status.Conditions, controller.ConditionReady)
		Expect(ready.Reason).To(Equal(controller.ReasonNotFound))
		Expect(failed.Status.Message).To(Equal("database instance ghost-prd-db not found in us-east-1; check spec.database.instanceId"),
			"an actionable message, not the SDK's error chain")
		Eventually(func() []eventsv1.Event { return warningEventsFor(ns, br.Name) }).WithTimeout(10 * time.Second).
			ShouldNot(BeEmpty())
	})

	It("refuses to back up another project's data and calls nothing in AWS", func() {
		ns := projectNamespace("proj-intruder", "intruder")
		cloud.CreateDBInstance("victim-prd-db", fixtures.ProjectTag("victim"))
		cloud.SeedDocumentLibrary("liferay-victim-prd-dl", 5, fixtures.ProjectTag("victim"))
		cloud.CreateBucket("intruder-backups", fixtures.ProjectTag("intruder"))
		ctrlr = startController(moto.Endpoint, controllerOptions())
		br := newBackupRequest(ns, "steal", "victim", fullSpec("victim-prd-db", "liferay-victim-prd-dl", "intruder-backups", "victim/loot/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(phaseOf(ns, br.Name)).WithTimeout(30 * time.Second).Should(Equal(backupv1alpha1.PhaseFailed))
		ready := meta.FindStatusCondition(getBR(ns, br.Name).Status.Conditions, controller.ConditionReady)
		Expect(ready.Reason).To(Equal(controller.ReasonProjectMismatch))
		Expect(cloud.SnapshotIDs("victim-prd-db")).To(BeEmpty())
		Expect(cloud.ListKeys("intruder-backups", "")).To(BeEmpty())
	})
})
