package integration

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

// The account's manual-snapshot quota, which moto never enforces: a proxy between the
// controller and moto answers CreateDBSnapshot as RDS does when the account is full
// (HTTP 400, AWS Query XML error SnapshotQuotaExceeded) for as long as a spec says.
var _ = Describe("Snapshot quota", Ordered, func() {
	var (
		ctrlr *runningController
		proxy *harness.DelayProxy
		opts  = controllerOptions()
	)
	const quotaWaits = `backup_quota_waits_total{environment="prd",project_id="quota",quota="snapshot"}`

	BeforeAll(func() {
		projectNamespace("proj-quota-prd", "quota")
		cloud.CreateDBInstance("quota-prd-db", fixtures.ProjectTag("quota"))
		cloud.SeedDocumentLibrary("liferay-quota-prd-dl", 5, fixtures.ProjectTag("quota"))
		cloud.CreateBucket("quota-backups", fixtures.ProjectTag("quota"))
		var err error
		proxy, err = harness.NewDelayProxy(moto.Endpoint)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(proxy.Close)
		// Short waits, so a spec sees several attempts; the doubling and its cap are
		// the same as with the default 1 m to 30 m.
		opts.QuotaRetryInitial, opts.QuotaRetryMax = time.Second, 3*time.Second
	})
	AfterEach(func() {
		proxy.Accept()
		if ctrlr != nil {
			ctrlr.Stop()
			ctrlr = nil
		}
	})
	refuseSnapshots := func() {
		proxy.RefuseWith(harness.RDSAction("CreateDBSnapshot"),
			harness.RDSError("SnapshotQuotaExceeded", "Cannot create more than 100 manual snapshots"))
	}
	// waiting asserts what a user sees of a backup waiting for the snapshot quota.
	waiting := func(g Gomega, br *backupv1alpha1.BackupRequest) {
		g.Expect(br.Status.Phase).To(Equal(backupv1alpha1.PhasePending), br.Status.Message)
		ready := br.Status.Condition(backupv1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Reason).To(BeEquivalentTo(backupv1alpha1.ReasonWaitingForQuota))
		g.Expect(ready.Message).To(Equal(br.Status.Message))
		g.Expect(br.Status.Message).To(And(ContainSubstring("snapshot quota"), ContainSubstring("SnapshotQuotaExceeded"),
			ContainSubstring("quota-prd-db"), ContainSubstring("delete unneeded manual snapshots"), ContainSubstring("retrying in")))
		g.Expect(br.Status.QuotaWait).NotTo(BeNil())
		g.Expect(br.Status.QuotaWait.Quota).To(Equal("snapshot"))
	}

	It("keeps a quota-refused backup waiting in its queue, across a restart, and runs it once the quota clears", func() {
		ns := "proj-quota-prd"
		refuseSnapshots()
		ctrlr = startController(proxy.URL, opts)
		br := newBackupRequest(ns, "quota-backup", "quota", backups.Full("quota-prd-db", "liferay-quota-prd-dl", "quota-backups", "quota/prd/1/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())

		By("waiting with reason WaitingForQuota, a message naming the quota, a Warning event and a counted wait")
		Eventually(func(g Gomega) { waiting(g, getBR(ns, br.Name)) }).WithTimeout(2 * time.Minute).Should(Succeed())
		Eventually(func(g Gomega) {
			warnings := warningEventsFor(ns, br.Name)
			g.Expect(warnings).To(HaveLen(1))
			g.Expect(warnings[0].Reason).To(Equal(string(backupv1alpha1.ReasonWaitingForQuota)))
			g.Expect(warnings[0].Note).To(ContainSubstring("SnapshotQuotaExceeded"))
		}).WithTimeout(metricsPatience).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(scrape(g, ctrlr.metricsURL)).To(HaveKeyWithValue(quotaWaits, 1.0))
		}).WithTimeout(metricsPatience).Should(Succeed())

		By("retrying with backoff, never failing")
		Eventually(func(g Gomega) {
			b := getBR(ns, br.Name)
			g.Expect(b.Status.Phase).NotTo(Equal(backupv1alpha1.PhaseFailed), b.Status.Message)
			g.Expect(b.Status.QuotaWait).NotTo(BeNil())
			g.Expect(b.Status.QuotaWait.Attempts).To(BeNumerically(">=", 3))
		}).WithTimeout(2 * time.Minute).Should(Succeed())
		Expect(proxy.Refused()).To(BeNumerically(">=", 3), "each attempt reached the proxy once (the SDK does not retry a quota error)")

		By("restarting the controller while the backup waits: the wait goes on where it was")
		ctrlr.Stop()
		before := getBR(ns, br.Name)
		waiting(Default, before)
		ctrlr = startController(proxy.URL, opts)
		Eventually(func(g Gomega) {
			b := getBR(ns, br.Name)
			waiting(g, b)
			g.Expect(b.Status.QuotaWait.Attempts).To(BeNumerically(">", before.Status.QuotaWait.Attempts))
			g.Expect(b.Status.QuotaWait.Since.Equal(&before.Status.QuotaWait.Since)).To(BeTrue(), "the same wait, not a new one")
		}).WithTimeout(2 * time.Minute).Should(Succeed())
		Expect(warningEventsFor(ns, br.Name)).To(HaveLen(1), "one Warning per wait")
		Expect(cloud.SnapshotIDs("quota-prd-db")).To(BeEmpty())

		By("the quota clears: the backup runs and succeeds")
		proxy.Accept()
		Eventually(phaseOf(ns, br.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseSucceeded))
		done := getBR(ns, br.Name)
		Expect(done.Status.QuotaWait.EndTime).NotTo(BeNil())
		Expect(done.Status.StartTime.Time).To(BeTemporally("<=", done.Status.QuotaWait.Since.Time), "startTime is the first start")
		Expect(cloud.SnapshotIDs("quota-prd-db")).To(ConsistOf(done.Status.Database.SnapshotID))
		Expect(cloud.ListKeys("quota-backups", "quota/prd/1/data/")).To(HaveLen(5))
		Expect(eventReasons(ns, br.Name, "WaitingForQuota", "Started", "SnapshotAvailable", "Succeeded")).NotTo(BeEmpty())
		Eventually(func(g Gomega) {
			samples := scrape(g, ctrlr.metricsURL)
			g.Expect(samples).To(HaveKeyWithValue(quotaWaits, 1.0))
			g.Expect(samples).To(HaveKeyWithValue(`backup_requests_total{environment="prd",project_id="quota",state="started"}`, 1.0), "a resumed backup is not started twice")
			g.Expect(samples).To(HaveKeyWithValue(`backup_requests_total{environment="prd",project_id="quota",state="succeeded"}`, 1.0))
		}).WithTimeout(metricsPatience).Should(Succeed())
	})

	It("deletes a backup waiting for the quota without leaving anything behind", func() {
		ns := "proj-quota-prd"
		refuseSnapshots()
		ctrlr = startController(proxy.URL, opts)
		br := newBackupRequest(ns, "quota-cancel", "quota", backups.Full("quota-prd-db", "liferay-quota-prd-dl", "quota-backups", "quota/prd/2/"))
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())
		Eventually(func(g Gomega) { waiting(g, getBR(ns, br.Name)) }).WithTimeout(2 * time.Minute).Should(Succeed())
		Expect(cloud.ListKeys("quota-backups", "quota/prd/2/")).NotTo(BeEmpty(), "the backup claimed its destination before the refusal")
		snapshots := cloud.SnapshotIDs("quota-prd-db")

		Expect(k8sClient.Delete(suiteCtx, getBR(ns, br.Name))).To(Succeed())
		Eventually(func() error { return k8sClient.Get(suiteCtx, keyOf(ns, br.Name), &backupv1alpha1.BackupRequest{}) }).
			WithTimeout(2 * time.Minute).Should(Satisfy(apierrors.IsNotFound))
		Expect(cloud.ListKeys("quota-backups", "quota/prd/2/")).To(BeEmpty())
		Expect(cloud.SnapshotIDs("quota-prd-db")).To(Equal(snapshots), "no snapshot made, none removed")
		Expect(eventsFor(ns, br.Name, func(e eventsv1.Event) bool { return e.Reason == string(backupv1alpha1.ReasonWaitingForQuota) })).NotTo(BeEmpty())
	})
})
