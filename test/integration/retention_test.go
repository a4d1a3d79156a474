package integration

import (
	"time"

	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
)

var _ = Describe("Retention", Ordered, func() {
	It("removes an expired backup's snapshot and files from the emulator, keeps the newest, and honours retain", func() {
		ns := projectNamespace("proj-keep-prd", "keep")
		cloud.CreateDBInstance("keep-prd-db", fixtures.ProjectTag("keep"))
		cloud.SeedDocumentLibrary("liferay-keep-prd-dl", 6, fixtures.ProjectTag("keep"))
		cloud.CreateBucket("keep-backups", fixtures.ProjectTag("keep"))
		opts := controllerOptions()
		opts.RetentionCheckInterval = 500 * time.Millisecond
		ctrlr := startController(moto.Endpoint, opts)
		defer ctrlr.Stop()

		run := func(name, prefix string, annotations map[string]string) *backupv1alpha1.BackupRequest {
			br := newBackupRequest(ns, name, "keep", backups.Full("keep-prd-db", "liferay-keep-prd-dl", "keep-backups", prefix))
			br.Annotations = annotations
			Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
			Eventually(phaseOf(ns, name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
			return getBR(ns, name)
		}
		oldest := run("keep-1", "keep/1/", nil)
		retained := run("keep-2", "keep/2/", map[string]string{backupv1alpha1.DeletionPolicyAnnotation: "retain"})
		time.Sleep(1100 * time.Millisecond) // completion times have second resolution
		newest := run("keep-3", "keep/3/", nil)
		Expect(cloud.SnapshotIDs("keep-prd-db")).To(HaveLen(3))

		By("moving the clock past every expiry")
		testClock.Advance(31 * 24 * time.Hour)
		defer testClock.Advance(-31 * 24 * time.Hour)

		Eventually(phaseOf(ns, oldest.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseExpired))
		Eventually(phaseOf(ns, retained.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseExpired))
		Expect(cloud.ListKeys("keep-backups", "keep/1/")).To(BeEmpty())
		Expect(cloud.ListKeys("keep-backups", "keep/2/")).NotTo(BeEmpty(), "retain keeps the files")
		Expect(cloud.SnapshotIDs("keep-prd-db")).To(ConsistOf(retained.Status.Database.SnapshotID, newest.Status.Database.SnapshotID))

		By("the newest successful backup stays, though expired: retention says so and keeps it")
		Eventually(func(g Gomega) {
			cond := getBR(ns, newest.Name).Status.Condition(backupv1alpha1.ConditionArtifactsRemoved)
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Reason).To(BeEquivalentTo(backupv1alpha1.ReasonKeptAsNewest))
		}).WithTimeout(2 * time.Minute).Should(Succeed())
		Consistently(phaseOf(ns, newest.Name)).WithTimeout(2 * time.Second).Should(Equal(backupv1alpha1.PhaseSucceeded))
		Expect(cloud.ListKeys("keep-backups", "keep/3/")).NotTo(BeEmpty())

		By("deleting a BackupRequest removes its artefacts before the object goes")
		Expect(k8sClient.Delete(suiteCtx, getBR(ns, newest.Name))).To(Succeed())
		Eventually(func() []string { return cloud.ListKeys("keep-backups", "keep/3/") }).WithTimeout(2 * time.Minute).Should(BeEmpty())
		Eventually(func() int { return len(cloud.SnapshotIDs("keep-prd-db")) }).WithTimeout(2 * time.Minute).Should(Equal(1))
	})
})
