package integration

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/schedule"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
)

var _ = Describe("BackupSchedule", Ordered, func() {
	const (
		ns     = "proj-sched-prd"
		name   = "every-minute"
		bucket = "sched-backups"
	)
	var (
		ctrlr    *runningController
		advanced time.Duration
	)

	getSchedule := func() *backupv1alpha1.BackupSchedule {
		s := &backupv1alpha1.BackupSchedule{}
		Expect(k8sClient.Get(suiteCtx, keyOf(ns, name), s)).To(Succeed())
		return s
	}
	children := func() []backupv1alpha1.BackupRequest {
		var list backupv1alpha1.BackupRequestList
		Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(ns), client.MatchingLabels{backupv1alpha1.ScheduleLabel: name})).To(Succeed())
		return list.Items
	}
	// nextSlot waits for the schedule's next slot, then moves the test clock just past
	// it (instead of waiting a real minute) and returns it.
	nextSlot := func() time.Time {
		GinkgoHelper()
		var next time.Time
		Eventually(func(g Gomega) {
			st := getSchedule().Status
			g.Expect(st.NextScheduleTime).NotTo(BeNil())
			next = st.NextScheduleTime.Time
		}).WithTimeout(time.Minute).Should(Succeed())
		if d := next.Sub(testClock.Now()) + time.Second; d > 0 {
			testClock.Advance(d)
			advanced += d
		}
		return next
	}
	succeeded := func(slot time.Time) *backupv1alpha1.BackupRequest {
		GinkgoHelper()
		child := schedule.BackupName(name, slot)
		Eventually(func(g Gomega) {
			br := &backupv1alpha1.BackupRequest{}
			g.Expect(k8sClient.Get(suiteCtx, keyOf(ns, child), br)).To(Succeed())
			g.Expect(br.Status.Phase).To(Equal(backupv1alpha1.PhaseSucceeded), br.Status.Message)
		}).WithTimeout(3 * time.Minute).Should(Succeed())
		return getBR(ns, child)
	}

	BeforeAll(func() {
		// The schedule's creation time comes from the API server's (real) clock and its
		// slots from the test clock: a clock another spec left moved would make days of
		// slots due at once, and Forbid would skip the slot this container waits for.
		Expect(testClock.Offset()).To(BeZero(), "a spec that ran before this one left the test clock moved")
		projectNamespace(ns, "sched")
		cloud.CreateDBInstance("sched-prd-db", fixtures.ProjectTag("sched"))
		cloud.SeedDocumentLibrary("liferay-sched-prd-dl", 5, fixtures.ProjectTag("sched"))
		cloud.CreateBucket(bucket, fixtures.ProjectTag("sched"))
		ctrlr = startController(moto.Endpoint, controllerOptions())
		DeferCleanup(func() {
			ctrlr.Stop()
			testClock.Advance(-advanced)
		})
	})

	var first, second, third *backupv1alpha1.BackupRequest

	It("creates a backup per slot with a deterministic name, its owner reference and label, and none of the schedule's Argo CD metadata", func() {
		s := backups.NewSchedule(ns, name, "sched", "* * * * *", "sched-prd-db", "liferay-sched-prd-dl", bucket)
		s.Labels = map[string]string{"app.kubernetes.io/instance": "sched-prd", "argocd.argoproj.io/instance": "sched-prd"}
		s.Annotations = map[string]string{"argocd.argoproj.io/tracking-id": "sched-prd:backup.liferay.cloud/BackupSchedule:" + ns + "/" + name}
		s.Spec.Retention = &backupv1alpha1.ScheduleRetention{KeepLast: ptr.To[int32](2)}
		Expect(k8sClient.Create(suiteCtx, s)).To(Succeed())

		slot := nextSlot()
		first = succeeded(slot)
		Expect(first.Name).To(Equal(name + "-" + slot.UTC().Format("20060102150405")))
		sched := getSchedule()
		Expect(metav1.IsControlledBy(first, sched)).To(BeTrue())
		Expect(*metav1.GetControllerOf(first).BlockOwnerDeletion).To(BeFalse())
		Expect(first.Labels).To(Equal(map[string]string{backupv1alpha1.ScheduleLabel: name}))
		Expect(first.Annotations).NotTo(HaveKey("argocd.argoproj.io/tracking-id"))
		Expect(first.Spec.DocumentLibrary.DestinationPrefix).To(BeEquivalentTo("sched/prd/" + name + "/" + schedule.SlotStamp(slot) + "/"))
		Expect(cloud.ListKeys(bucket, string(first.Spec.DocumentLibrary.DestinationPrefix))).NotTo(BeEmpty())

		second = succeeded(nextSlot())
		Eventually(func(g Gomega) {
			st := getSchedule().Status
			g.Expect(st.LastBackup).To(Equal(second.Name))
			g.Expect(st.LastSuccessfulTime).NotTo(BeNil())
			g.Expect(st.EffectiveSchedule).To(Equal("* * * * *"))
		}).WithTimeout(time.Minute).Should(Succeed())
	})

	It("adopts, after a restart mid-slot, the backup a stopped controller created, without a duplicate", func() {
		ctrlr.Stop()
		slot := nextSlot()
		// What the stopped controller had written before its status: the backup only.
		sched := getSchedule()
		crashed := second.DeepCopy()
		crashed.ObjectMeta = metav1.ObjectMeta{
			Namespace: ns, Name: schedule.BackupName(name, slot),
			Labels:          map[string]string{backupv1alpha1.ScheduleLabel: name},
			Annotations:     map[string]string{backupv1alpha1.ScheduledAtAnnotation: slot.UTC().Format(time.RFC3339), backupv1alpha1.RetentionAnnotation: backupv1alpha1.RetentionBySchedule},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(sched, backupv1alpha1.GroupVersion.WithKind("BackupSchedule"))},
		}
		crashed.OwnerReferences[0].BlockOwnerDeletion = ptr.To(false)
		crashed.Status = backupv1alpha1.BackupRequestStatus{}
		crashed.Spec.DocumentLibrary.DestinationPrefix = backupv1alpha1.ObjectPrefix(sched.RunPrefix(schedule.SlotStamp(slot)))
		Expect(k8sClient.Create(suiteCtx, crashed)).To(Succeed())

		ctrlr = startController(moto.Endpoint, controllerOptions())
		third = succeeded(slot)
		Expect(third.UID).To(Equal(crashed.UID))
		Eventually(func() string { return getSchedule().Status.LastBackup }).WithTimeout(time.Minute).Should(Equal(third.Name))
		Consistently(func() int { return len(children()) }).WithTimeout(2 * time.Second).Should(Equal(3))
		Expect(getSchedule().Status.LastSkipped).To(BeNil())
	})

	It("expires exactly the backups retention drops: their objects are gone, the kept ones byte-intact", func() {
		keptBefore := map[string][]byte{}
		for _, br := range []*backupv1alpha1.BackupRequest{second, third} {
			for k, v := range cloud.Contents(bucket, string(br.Spec.DocumentLibrary.DestinationPrefix)) {
				keptBefore[k] = v
			}
		}
		Expect(keptBefore).NotTo(BeEmpty())
		Eventually(phaseOf(ns, first.Name)).WithTimeout(2 * time.Minute).Should(Equal(backupv1alpha1.PhaseExpired))
		Expect(cloud.ListKeys(bucket, string(first.Spec.DocumentLibrary.DestinationPrefix))).To(BeEmpty())
		Expect(cloud.SnapshotIDs("sched-prd-db")).NotTo(ContainElement(first.Status.Database.SnapshotID))
		Consistently(func() []backupv1alpha1.BackupPhase {
			return []backupv1alpha1.BackupPhase{getBR(ns, second.Name).Status.Phase, getBR(ns, third.Name).Status.Phase}
		}).WithTimeout(2 * time.Second).Should(Equal([]backupv1alpha1.BackupPhase{backupv1alpha1.PhaseSucceeded, backupv1alpha1.PhaseSucceeded}))
		keptAfter := map[string][]byte{}
		for _, br := range []*backupv1alpha1.BackupRequest{second, third} {
			for k, v := range cloud.Contents(bucket, string(br.Spec.DocumentLibrary.DestinationPrefix)) {
				keptAfter[k] = v
			}
		}
		Expect(keptAfter).To(Equal(keptBefore))
		Expect(cloud.SnapshotIDs("sched-prd-db")).To(ContainElements(second.Status.Database.SnapshotID, third.Status.Database.SnapshotID))
	})

	It("leaves its backups and their data when deleted: its finalizer removes their owner reference first", func() {
		sched := getSchedule()
		Expect(sched.Finalizers).To(ContainElement("backup.liferay.cloud/orphan-backups"))
		Expect(k8sClient.Delete(suiteCtx, sched)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(suiteCtx, keyOf(ns, name), &backupv1alpha1.BackupSchedule{}) }).
			WithTimeout(time.Minute).Should(MatchError(ContainSubstring("not found")))
		for _, br := range children() {
			Expect(br.OwnerReferences).To(BeEmpty(), br.Name)
			Expect(br.Labels).To(HaveKeyWithValue(backupv1alpha1.ScheduleLabel, name))
		}
		Expect(cloud.ListKeys(bucket, string(third.Spec.DocumentLibrary.DestinationPrefix))).NotTo(BeEmpty())
	})
})
