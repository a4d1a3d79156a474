package admission

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

func backup(name, project string, created int, phase backupv1alpha1.BackupPhase) *backupv1alpha1.BackupRequest {
	return &backupv1alpha1.BackupRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns-" + project, Name: name, UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(created) * time.Second))},
		Spec:   backupv1alpha1.BackupRequestSpec{ProjectID: project, Environment: "prd"},
		Status: backupv1alpha1.BackupRequestStatus{Phase: phase},
	}
}

func newAdmission(t *testing.T, limit int, objs ...client.Object) (*Admission, client.Client) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := backupv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fakeclient.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithIndex(&backupv1alpha1.BackupRequest{}, ProjectIndex, IndexProject).Build()
	return New(limit, c), c
}

func TestReleaseWakesTheRequestsNextInLineOfThatProjectOnly(t *testing.T) {
	ctx := context.Background()
	running := backup("run", "shop", 0, backupv1alpha1.PhaseInProgress)
	a, _ := newAdmission(t, 1, running,
		backup("second", "shop", 2, backupv1alpha1.PhasePending),
		backup("first", "shop", 1, backupv1alpha1.PhasePending),
		backup("other", "bank", 0, backupv1alpha1.PhasePending))

	a.Release(ctx, running)
	select {
	case e := <-a.wake:
		if e.Object.GetName() != "first" || e.Object.GetNamespace() != "ns-shop" {
			t.Fatalf("woke %s/%s, want ns-shop/first", e.Object.GetNamespace(), e.Object.GetName())
		}
	default:
		t.Fatal("a release must wake the request first in line at once")
	}
	select {
	case e := <-a.wake:
		t.Fatalf("only as many requests as slots are woken, also got %s", e.Object.GetName())
	default:
	}
	d, err := a.Acquire(ctx, backup("first", "shop", 1, backupv1alpha1.PhasePending))
	if err != nil || !d.Acquired {
		t.Fatalf("the woken request must get the freed slot: %+v, %v", d, err)
	}
}

func TestAcquireCountsRequestsBeingDeletedAsHoldingNoSlot(t *testing.T) {
	ctx := context.Background()
	deleting := backup("deleting", "shop", 0, backupv1alpha1.PhaseInProgress)
	deleting.Finalizers = []string{"keep"}
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	a, _ := newAdmission(t, 1, deleting, backup("next", "shop", 1, backupv1alpha1.PhasePending))
	d, err := a.Acquire(ctx, backup("next", "shop", 1, backupv1alpha1.PhasePending))
	if err != nil || !d.Acquired {
		t.Fatalf("a request being deleted must not hold the slot: %+v, %v", d, err)
	}
}

func TestSlotFreedPassesOnlyLeavingInProgressAndDeletion(t *testing.T) {
	p := SlotFreedPredicate()
	in, done := backup("a", "p", 0, backupv1alpha1.PhaseInProgress), backup("a", "p", 0, backupv1alpha1.PhaseSucceeded)
	progress := in.DeepCopy()
	progress.Status.Message = "more objects"
	deleting := in.DeepCopy()
	now := metav1.Now()
	deleting.DeletionTimestamp = &now
	for name, tc := range map[string]struct {
		got, want bool
	}{
		"create":          {p.Create(event.CreateEvent{Object: in}), false},
		"generic":         {p.Generic(event.GenericEvent{Object: in}), false},
		"delete":          {p.Delete(event.DeleteEvent{Object: in}), true},
		"left InProgress": {p.Update(event.UpdateEvent{ObjectOld: in, ObjectNew: done}), true},
		"progress write":  {p.Update(event.UpdateEvent{ObjectOld: in, ObjectNew: progress}), false},
		"deletion starts": {p.Update(event.UpdateEvent{ObjectOld: in, ObjectNew: deleting}), true},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: passes %v, want %v", name, tc.got, tc.want)
		}
	}
}

func TestNextInLineIsTheFirstWaitingRequestsUpToTheSlots(t *testing.T) {
	ctx := context.Background()
	var objs []client.Object
	for i := range 4 {
		objs = append(objs, backup(fmt.Sprintf("w%d", i), "shop", i, backupv1alpha1.PhasePending))
	}
	a, _ := newAdmission(t, 2, objs...)
	got := a.NextInLine(ctx, "shop")
	if len(got) != 2 || got[0].Name != "w0" || got[1].Name != "w1" {
		t.Fatalf("next in line %v, want w0 and w1", got)
	}
}

func TestPriorityRules(t *testing.T) {
	if r := ContinueAfterStart(); *r.Priority != ContinuePriority || ContinuePriority >= 0 || ContinuePriority <= handler.LowPriority {
		t.Fatalf("a started backup's first step must run below new requests and above rechecks: %+v", r)
	}
	if r := Recheck(time.Minute); r.RequeueAfter != time.Minute || *r.Priority != handler.LowPriority {
		t.Fatalf("rechecks run last: %+v", r)
	}
	if r := RecordPositionLater(300 * time.Millisecond); r.RequeueAfter != QueuePositionDelay-300*time.Millisecond || *r.Priority != handler.LowPriority {
		t.Fatalf("a waiting request records its position once QueuePositionDelay passed: %+v", r)
	}
}

func restore(name, project string, created int, phase backupv1alpha1.RestorePhase) *backupv1alpha1.RestoreRequest {
	return &backupv1alpha1.RestoreRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns-" + project, Name: name, UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(created) * time.Second))},
		Status: backupv1alpha1.RestoreRequestStatus{Phase: phase},
	}
}

func projectNS(project string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns-" + project, Labels: map[string]string{backupv1alpha1.ProjectLabel: project}}}
}

func TestRestoresShareTheProjectSlotsAndGoAheadOfWaitingBackups(t *testing.T) {
	ctx := context.Background()
	running := backup("run", "shop", 0, backupv1alpha1.PhaseInProgress)
	a, _ := newAdmission(t, 1, projectNS("shop"), running,
		backup("old-backup", "shop", 1, backupv1alpha1.PhasePending),
		restore("later-restore", "shop", 5, backupv1alpha1.RestorePhasePending))

	d, err := a.AcquireRestore(ctx, "shop", restore("later-restore", "shop", 5, backupv1alpha1.RestorePhasePending))
	if err != nil || d.Acquired || d.Position != 1 {
		t.Fatalf("a restore waits for the slot a backup holds, first in line: %+v, %v", d, err)
	}
	a.Release(ctx, running)
	select {
	case e := <-a.wakeRestores:
		if e.Object.GetName() != "later-restore" {
			t.Fatalf("woke restore %s, want later-restore", e.Object.GetName())
		}
	default:
		t.Fatal("a freed slot must wake the waiting restore before the older waiting backup")
	}
	select {
	case e := <-a.wake:
		t.Fatalf("the backup must wait behind the restore, woke %s", e.Object.GetName())
	default:
	}
	if d, err := a.Acquire(ctx, backup("old-backup", "shop", 1, backupv1alpha1.PhasePending)); err != nil || d.Acquired {
		t.Fatalf("the waiting backup must not take the restore's slot: %+v, %v", d, err)
	}
	if d, err := a.AcquireRestore(ctx, "shop", restore("later-restore", "shop", 5, backupv1alpha1.RestorePhasePending)); err != nil || !d.Acquired {
		t.Fatalf("the restore gets the freed slot: %+v, %v", d, err)
	}
}

func TestARunningRestoreHoldsASlotOfItsNamespacesProject(t *testing.T) {
	ctx := context.Background()
	a, _ := newAdmission(t, 1, projectNS("shop"), restore("r", "shop", 0, backupv1alpha1.RestorePhaseInProgress))
	if d, err := a.Acquire(ctx, backup("b", "shop", 1, backupv1alpha1.PhasePending)); err != nil || d.Acquired {
		t.Fatalf("a running restore holds the project's only slot: %+v, %v", d, err)
	}
	if d, err := a.Acquire(ctx, backup("b", "bank", 1, backupv1alpha1.PhasePending)); err != nil || !d.Acquired {
		t.Fatalf("another project's slots are its own: %+v, %v", d, err)
	}
}

// TestBackupWaitingForQuotaLetsOthersRunUntilItsRetryThenGoesFirst: a backup the
// cloud refused for a quota holds no slot and is out of the line until its retry
// time, so a newer request takes the free slot meanwhile; from its retry time on it
// is back at its creation's place, ahead of the requests created after it.
func TestBackupWaitingForQuotaLetsOthersRunUntilItsRetryThenGoesFirst(t *testing.T) {
	ctx := context.Background()
	clk := clocktesting.NewFakeClock(t0.Add(time.Hour))
	quota := backup("quota", "shop", 1, backupv1alpha1.PhasePending)
	quota.Status.QuotaWait = &backupv1alpha1.QuotaWaitStatus{Quota: "snapshot", Since: metav1.NewTime(clk.Now()),
		RetryAt: metav1.NewTime(clk.Now().Add(time.Minute)), Attempts: 1}
	later, last := backup("later", "shop", 2, backupv1alpha1.PhasePending), backup("last", "shop", 3, backupv1alpha1.PhasePending)
	a, _ := newAdmission(t, 1, quota, later, last)
	a.SetClock(clk)

	if d, err := a.Acquire(ctx, later); err != nil || !d.Acquired {
		t.Fatalf("a newer request must take the slot the waiting backup does not use: %+v, %v", d, err)
	}
	a.Release(ctx, later)
	<-a.wake // "last", the only one in line before the retry time
	clk.Step(time.Minute)
	if d, err := a.Acquire(ctx, last); err != nil || d.Acquired {
		t.Fatalf("after the retry time a newer request queues behind the waiting backup: %+v, %v", d, err)
	}
	if d, err := a.Acquire(ctx, quota); err != nil || !d.Acquired {
		t.Fatalf("the waiting backup must be first in line at its retry time: %+v, %v", d, err)
	}
}
