package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// scheduleMachine is a BackupSchedule reconciler on a fake API client and a fake clock.
type scheduleMachine struct {
	t        *testing.T
	ctx      context.Context
	client   client.Client
	clock    *clocktesting.FakeClock
	recorder *events.FakeRecorder
	r        *BackupScheduleReconciler
}

var scheduleStart = time.Date(2026, 3, 1, 10, 20, 0, 0, time.UTC)

func newScheduleMachine(t *testing.T, sched *backupv1alpha1.BackupSchedule, objs ...client.Object) *scheduleMachine {
	t.Helper()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = backupv1alpha1.AddToScheme(scheme)
	c := fakeclient.NewClientBuilder().WithScheme(scheme).
		WithStatusSubresource(&backupv1alpha1.BackupRequest{}, &backupv1alpha1.BackupSchedule{}).
		WithObjects(append([]client.Object{sched}, objs...)...).Build()
	m := &scheduleMachine{t: t, ctx: context.Background(), client: c, clock: clocktesting.NewFakeClock(scheduleStart), recorder: events.NewFakeRecorder(100)}
	m.r = m.newReconciler()
	return m
}

// newReconciler is a controller with empty memory, as after a restart.
func (m *scheduleMachine) newReconciler() *BackupScheduleReconciler {
	return &BackupScheduleReconciler{Client: m.client, APIReader: m.client, Recorder: m.recorder, Clock: m.clock, Resync: time.Hour}
}

func hourlySchedule() *backupv1alpha1.BackupSchedule {
	return &backupv1alpha1.BackupSchedule{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "proj-retail-prd", Name: "nightly", UID: "sched-uid", Generation: 1,
			CreationTimestamp: metav1.NewTime(scheduleStart),
			Labels:            map[string]string{"app.kubernetes.io/instance": "retail-prd", "argocd.argoproj.io/instance": "retail-prd"},
			Annotations:       map[string]string{"argocd.argoproj.io/tracking-id": "retail-prd:backup.liferay.cloud/BackupSchedule:proj-retail-prd/nightly"},
		},
		Spec: backupv1alpha1.BackupScheduleSpec{
			Schedule: "0 * * * *", TimeZone: "UTC", ConcurrencyPolicy: backupv1alpha1.ConcurrencyForbid,
			Template: backupv1alpha1.BackupTemplateSpec{
				ProjectID: "retail", Environment: "prd", Provider: backupv1alpha1.ProviderAWS,
				Database: &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupSnapshot, InstanceID: "retail-prd-db"},
				DocumentLibrary: &backupv1alpha1.DocumentLibraryTemplateSpec{
					SourceBucket: "liferay-retail-prd-dl", SourcePrefix: "document_library/", DestinationBucket: "liferay-backups",
					ExcludeGeneratedFiles: true,
				},
			},
		},
	}
}

func (m *scheduleMachine) reconcile() ctrl.Result {
	m.t.Helper()
	res, err := m.r.Reconcile(m.ctx, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "proj-retail-prd", Name: "nightly"}})
	if err != nil {
		m.t.Fatalf("reconcile: %v", err)
	}
	return res
}

func (m *scheduleMachine) schedule() *backupv1alpha1.BackupSchedule {
	m.t.Helper()
	s := &backupv1alpha1.BackupSchedule{}
	if err := m.client.Get(m.ctx, client.ObjectKey{Namespace: "proj-retail-prd", Name: "nightly"}, s); err != nil {
		m.t.Fatal(err)
	}
	return s
}

func (m *scheduleMachine) backups() []backupv1alpha1.BackupRequest {
	m.t.Helper()
	var list backupv1alpha1.BackupRequestList
	if err := m.client.List(m.ctx, &list); err != nil {
		m.t.Fatal(err)
	}
	return list.Items
}

func (m *scheduleMachine) setPhase(name string, phase backupv1alpha1.BackupPhase, completed time.Time) {
	m.t.Helper()
	br := &backupv1alpha1.BackupRequest{}
	if err := m.client.Get(m.ctx, client.ObjectKey{Namespace: "proj-retail-prd", Name: name}, br); err != nil {
		m.t.Fatal(err)
	}
	br.Status.Phase = phase
	if phase.IsTerminal() {
		br.Status.CompletionTime = ptr.To(metav1.NewTime(completed))
	}
	if err := m.client.Status().Update(m.ctx, br); err != nil {
		m.t.Fatal(err)
	}
}

func (m *scheduleMachine) events() string {
	var out []string
	for {
		select {
		case e := <-m.recorder.Events:
			out = append(out, e)
		default:
			return strings.Join(out, "\n")
		}
	}
}

func TestScheduleCreatesDeterministicChildren(t *testing.T) {
	m := newScheduleMachine(t, hourlySchedule())
	res := m.reconcile()
	st := m.schedule().Status
	if st.NextScheduleTime == nil || !st.NextScheduleTime.Equal(ptr.To(metav1.NewTime(time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)))) {
		t.Fatalf("next = %v", st.NextScheduleTime)
	}
	if res.RequeueAfter != 40*time.Minute {
		t.Fatalf("requeue after %s, want 40m (the next slot)", res.RequeueAfter)
	}
	if st.EffectiveSchedule != "0 * * * *" || !st.Conditions[0].LastTransitionTime.Equal(ptr.To(metav1.NewTime(scheduleStart))) {
		t.Fatalf("status %+v", st)
	}
	if len(m.backups()) != 0 {
		t.Fatal("a backup before the first slot")
	}

	m.clock.SetTime(time.Date(2026, 3, 1, 11, 0, 3, 0, time.UTC))
	m.reconcile()
	items := m.backups()
	if len(items) != 1 {
		t.Fatalf("%d backups", len(items))
	}
	br := items[0]
	if br.Name != "nightly-20260301110000" {
		t.Errorf("name %q", br.Name)
	}
	if want := map[string]string{backupv1alpha1.ScheduleLabel: "nightly"}; len(br.Labels) != 1 || br.Labels[backupv1alpha1.ScheduleLabel] != "nightly" {
		t.Errorf("labels %v, want only %v (none of the schedule's)", br.Labels, want)
	}
	for k := range br.Annotations {
		if strings.Contains(k, "argocd") {
			t.Errorf("annotation %s copied from the schedule", k)
		}
	}
	ref := metav1.GetControllerOf(&br)
	if ref == nil || ref.UID != "sched-uid" || ref.Kind != "BackupSchedule" || ref.BlockOwnerDeletion == nil || *ref.BlockOwnerDeletion {
		t.Errorf("owner reference %+v", ref)
	}
	if got := br.Spec.DocumentLibrary.DestinationPrefix; got != "retail/prd/nightly/20260301110000/" {
		t.Errorf("destination prefix %q", got)
	}
	if br.Annotations[backupv1alpha1.ScheduledAtAnnotation] != "2026-03-01T11:00:00Z" {
		t.Errorf("scheduled-at %q", br.Annotations[backupv1alpha1.ScheduledAtAnnotation])
	}
	st = m.schedule().Status
	if st.LastBackup != br.Name || !st.LastScheduleTime.Equal(ptr.To(metav1.NewTime(time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)))) ||
		len(st.Active) != 1 {
		t.Errorf("status %+v", st)
	}
	if ev := m.events(); !strings.Contains(ev, "BackupCreated") {
		t.Errorf("events %q", ev)
	}
	// Another pass in the same slot creates nothing.
	m.reconcile()
	if len(m.backups()) != 1 {
		t.Fatal("a second backup for the same slot")
	}
}

// TestScheduleRestartMidSlotAdopts: a pass created the backup and stopped before
// storing the status; the restarted controller adopts it, and neither duplicates it
// nor skips its slot as concurrent with itself.
func TestScheduleRestartMidSlotAdopts(t *testing.T) {
	sched := hourlySchedule()
	slot := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	existing := newScheduledBackup(sched, slot)
	m := newScheduleMachine(t, sched, existing)
	m.clock.SetTime(slot.Add(5 * time.Second))
	m.r = m.newReconciler()
	m.reconcile()
	if n := len(m.backups()); n != 1 {
		t.Fatalf("%d backups, want the one adopted", n)
	}
	st := m.schedule().Status
	if st.LastBackup != existing.Name || st.LastSkipped != nil {
		t.Fatalf("status %+v", st)
	}
	if ev := m.events(); !strings.Contains(ev, "BackupAdopted") {
		t.Errorf("events %q", ev)
	}
}

func TestScheduleRefusesForeignName(t *testing.T) {
	slot := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	foreign := &backupv1alpha1.BackupRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "proj-retail-prd", Name: "nightly-20260301110000"},
		Spec: backupv1alpha1.BackupRequestSpec{ProjectID: "retail", Environment: "prd"}}
	m := newScheduleMachine(t, hourlySchedule(), foreign)
	m.clock.SetTime(slot.Add(time.Second))
	m.reconcile()
	st := m.schedule().Status
	if st.LastSkipped == nil || st.LastSkipped.Reason != backupv1alpha1.ReasonNameInUse || st.LastBackup != "" {
		t.Fatalf("status %+v", st)
	}
	got := &backupv1alpha1.BackupRequest{}
	_ = m.client.Get(m.ctx, client.ObjectKeyFromObject(foreign), got)
	if len(got.OwnerReferences) != 0 || got.Labels[backupv1alpha1.ScheduleLabel] != "" {
		t.Fatalf("the foreign BackupRequest was changed: %+v", got.ObjectMeta)
	}
	if ev := m.events(); !strings.Contains(ev, "Warning NameInUse") {
		t.Errorf("events %q", ev)
	}
	// The next slot runs normally.
	m.clock.SetTime(slot.Add(time.Hour + time.Second))
	m.reconcile()
	if m.schedule().Status.LastBackup != "nightly-20260301120000" {
		t.Fatal("the next slot did not run")
	}
}

func TestScheduleForbidWithLongRunningBackup(t *testing.T) {
	m := newScheduleMachine(t, hourlySchedule())
	m.clock.SetTime(time.Date(2026, 3, 1, 11, 0, 1, 0, time.UTC))
	m.reconcile()
	m.setPhase("nightly-20260301110000", backupv1alpha1.PhaseInProgress, time.Time{})
	m.clock.SetTime(time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC))
	m.reconcile()
	st := m.schedule().Status
	if len(m.backups()) != 1 || st.LastSkipped == nil || st.LastSkipped.Reason != backupv1alpha1.ReasonConcurrencyForbidden {
		t.Fatalf("%d backups, status %+v", len(m.backups()), st)
	}
	if ev := m.events(); !strings.Contains(ev, "ConcurrencyForbidden") {
		t.Errorf("events %q", ev)
	}
	m.setPhase("nightly-20260301110000", backupv1alpha1.PhaseSucceeded, time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC))
	m.reconcile()
	if st := m.schedule().Status; st.LastSuccessfulTime == nil || len(st.Active) != 0 {
		t.Fatalf("status %+v", st)
	}
	m.clock.SetTime(time.Date(2026, 3, 1, 13, 0, 1, 0, time.UTC))
	m.reconcile()
	if len(m.backups()) != 2 {
		t.Fatal("the slot after the long backup did not run")
	}
}

func TestScheduleSuspendResumeAndCatchUp(t *testing.T) {
	m := newScheduleMachine(t, hourlySchedule())
	m.reconcile()
	s := m.schedule()
	s.Spec.Suspend = true
	s.Generation++
	_ = m.client.Update(m.ctx, s)
	m.clock.SetTime(time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC))
	m.reconcile()
	if c := m.schedule().Status.Condition(backupv1alpha1.ConditionReady); c.Reason != string(backupv1alpha1.ReasonSuspended) {
		t.Fatalf("ready %+v", c)
	}
	// Slots pass while suspended (no pass sees them), then it is resumed.
	m.clock.SetTime(time.Date(2026, 3, 1, 13, 30, 0, 0, time.UTC))
	s = m.schedule()
	s.Spec.Suspend = false
	_ = m.client.Update(m.ctx, s)
	m.reconcile()
	if len(m.backups()) != 0 {
		t.Fatal("resuming fired a backup for a slot missed while suspended")
	}
	if st := m.schedule().Status; st.LastSkipped == nil || st.LastSkipped.Reason != "Suspended" || st.MissedRuns != 0 {
		t.Fatalf("status %+v", st)
	}
	// Then the controller is down for three slots: one catch-up, two missed.
	m.clock.SetTime(time.Date(2026, 3, 1, 16, 10, 0, 0, time.UTC))
	m.r = m.newReconciler()
	m.reconcile()
	items := m.backups()
	if len(items) != 1 || items[0].Name != "nightly-20260301160000" {
		t.Fatalf("backups %v", items)
	}
	if st := m.schedule().Status; st.MissedRuns != 2 || !st.LastMissedTime.Equal(ptr.To(metav1.NewTime(time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC)))) {
		t.Fatalf("status %+v", st)
	}
}

func TestScheduleInvalid(t *testing.T) {
	sched := hourlySchedule()
	sched.Spec.TimeZone = "Mars/Olympus"
	m := newScheduleMachine(t, sched)
	res := m.reconcile()
	c := m.schedule().Status.Condition(backupv1alpha1.ConditionReady)
	if c == nil || c.Reason != string(backupv1alpha1.ReasonInvalidSchedule) || res.RequeueAfter != time.Hour {
		t.Fatalf("ready %+v, requeue %s", c, res.RequeueAfter)
	}
	if ev := m.events(); !strings.Contains(ev, "Warning InvalidSchedule") {
		t.Errorf("events %q", ev)
	}
}

func TestScheduleRetentionMarksWhatGFSDrops(t *testing.T) {
	sched := hourlySchedule()
	sched.Spec.Retention = &backupv1alpha1.ScheduleRetention{KeepLast: ptr.To[int32](2)}
	m := newScheduleMachine(t, sched)
	for h := 11; h <= 14; h++ {
		m.clock.SetTime(time.Date(2026, 3, 1, h, 0, 1, 0, time.UTC))
		m.reconcile()
		name := "nightly-202603011" + string(rune('0'+h-10)) + "0000"
		m.setPhase(name, backupv1alpha1.PhaseSucceeded, m.clock.Now().Add(10*time.Minute))
	}
	m.reconcile()
	got := map[string]string{}
	for _, br := range m.backups() {
		got[br.Name] = br.Annotations[backupv1alpha1.RetentionAnnotation]
	}
	want := map[string]string{
		"nightly-20260301110000": "expire", "nightly-20260301120000": "expire",
		"nightly-20260301130000": "schedule", "nightly-20260301140000": "schedule",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: retention %q, want %q", k, got[k], v)
		}
	}
	if ev := m.events(); strings.Count(ev, "RetentionExpiring") != 2 {
		t.Errorf("events %q", ev)
	}
}

// TestScheduleDeletionOrphansBackups: the finalizer removes the schedule's owner
// reference from its backups (so the garbage collector leaves them), keeps other
// owners, then lets the schedule go.
func TestScheduleDeletionOrphansBackups(t *testing.T) {
	m := newScheduleMachine(t, hourlySchedule())
	m.reconcile() // adds the finalizer
	if s := m.schedule(); len(s.Finalizers) != 1 || s.Finalizers[0] != OrphanFinalizer {
		t.Fatalf("finalizers %v", s.Finalizers)
	}
	m.clock.SetTime(time.Date(2026, 3, 1, 11, 0, 1, 0, time.UTC))
	m.reconcile()
	br := m.backups()[0]
	other := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "keep-me", UID: "other-uid"}
	br.OwnerReferences = append(br.OwnerReferences, other)
	_ = m.client.Update(m.ctx, &br)

	if err := m.client.Delete(m.ctx, m.schedule()); err != nil {
		t.Fatal(err)
	}
	m.reconcile()
	if err := m.client.Get(m.ctx, client.ObjectKey{Namespace: "proj-retail-prd", Name: "nightly"}, &backupv1alpha1.BackupSchedule{}); err == nil {
		t.Fatal("the schedule is still there")
	}
	items := m.backups()
	if len(items) != 1 {
		t.Fatal("the backup is gone")
	}
	if refs := items[0].OwnerReferences; len(refs) != 1 || refs[0].UID != "other-uid" {
		t.Fatalf("owner references %v", refs)
	}
	if items[0].Labels[backupv1alpha1.ScheduleLabel] != "nightly" {
		t.Fatal("the schedule label was removed; it is how users find the backups")
	}
	if ev := m.events(); !strings.Contains(ev, "BackupsOrphaned") {
		t.Errorf("events %q", ev)
	}
}

func TestNewScheduledBackupPrefix(t *testing.T) {
	sched := hourlySchedule()
	slot := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	if p := newScheduledBackup(sched, slot).Spec.DocumentLibrary.DestinationPrefix; p != "retail/prd/nightly/20260301020000/" {
		t.Errorf("default base: %q", p)
	}
	sched.Spec.Template.DocumentLibrary.DestinationPrefix = "retail/scheduled"
	if p := newScheduledBackup(sched, slot).Spec.DocumentLibrary.DestinationPrefix; p != "retail/scheduled/nightly/20260301020000/" {
		t.Errorf("given base: %q", p)
	}
	sched.Spec.Template.DocumentLibrary = nil
	if br := newScheduledBackup(sched, slot); br.Spec.DocumentLibrary != nil || br.Spec.Database == nil {
		t.Errorf("database-only: %+v", br.Spec)
	}
	var _ corev1.ObjectReference
}
