package controller

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// quotaMetrics counts what the controller tells the metrics of starts and quota waits.
type quotaMetrics struct {
	providerCalls
	mu              sync.Mutex
	started, waited map[string]int // by backup name; waited by "name quota"
}

func (q *quotaMetrics) Started(br *backupv1alpha1.BackupRequest) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.started[br.Name]++
}

func (q *quotaMetrics) WaitingForQuota(br *backupv1alpha1.BackupRequest, quota string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waited[br.Name+" "+quota]++
}

// snapshotQuotaExceeded is the error the AWS provider returns for RDS's SnapshotQuotaExceeded.
func snapshotQuotaExceeded() error {
	return provider.NewError(provider.KindQuotaExceeded, "CreateDBSnapshot", "retail-prd-db", errors.New("SnapshotQuotaExceeded")).
		WithMessage("manual snapshot quota of the account exceeded in us-east-1 (SnapshotQuotaExceeded), cannot snapshot database instance retail-prd-db: delete unneeded manual snapshots or raise the RDS quota").
		WithQuota(provider.QuotaSnapshot)
}

// newQuotaMachine is a machine whose project has one slot, with counting metrics.
func newQuotaMachine(t *testing.T, names ...string) (*machine, *quotaMetrics) {
	t.Helper()
	var objs []*backupv1alpha1.BackupRequest
	for i, name := range names {
		br := request(name)
		br.CreationTimestamp.Time = start.Add(time.Duration(i) * time.Second)
		objs = append(objs, br)
	}
	m := newMachine(t)
	for _, br := range objs {
		if err := m.client.Create(m.ctx, br); err != nil {
			t.Fatal(err)
		}
	}
	metrics := &quotaMetrics{started: map[string]int{}, waited: map[string]int{}}
	m.r = m.quotaReconciler(metrics)
	return m, metrics
}

// quotaReconciler is a reconciler with empty memory (as after a restart) whose
// project has one slot.
func (m *machine) quotaReconciler(metrics MetricsRecorder) *BackupRequestReconciler {
	r := m.newReconciler()
	opts := Options{MaxConcurrentBackupsPerProject: 1}
	r.Options.MaxConcurrentBackupsPerProject = 1
	r.Slots = NewSlots(opts, m.client, m.clock)
	r.Metrics = metrics
	r.prepare(m.ctx)
	return r
}

// pass runs one pass without moving the clock.
func (m *machine) pass(name string) ctrl.Result {
	m.t.Helper()
	res, err := m.r.Reconcile(m.ctx, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "proj-retail-prd", Name: name}})
	if err != nil {
		m.t.Fatalf("reconcile %s: %v", name, err)
	}
	return res
}

func TestQuotaRetryDoublesFromInitialToMax(t *testing.T) {
	o := Options{}.WithDefaults()
	var got []time.Duration
	for attempts := int32(1); attempts <= 8; attempts++ {
		got = append(got, quotaRetryAfter(attempts, o.QuotaRetryInitial, o.QuotaRetryMax))
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("waits %v, want %v", got, want)
		}
	}
	if o := (Options{QuotaRetryInitial: time.Hour}).WithDefaults(); o.QuotaRetryMax != time.Hour {
		t.Errorf("a max below the initial wait is raised to it: %s", o.QuotaRetryMax)
	}
}

// TestSnapshotQuotaWaitsInItsQueueThenRuns: a backup whose snapshot the cloud refuses
// for the account's quota is not failed. It goes back to Pending with reason
// WaitingForQuota and a message naming the quota, gives its slot to the next
// request, keeps waiting across a restart, retries with a doubling interval, and
// succeeds once the quota clears: started once, one Warning and one counted wait.
func TestSnapshotQuotaWaitsInItsQueueThenRuns(t *testing.T) {
	m, metrics := newQuotaMachine(t, "quota", "next")
	m.cloud.FailWith("CreateDatabaseSnapshot", snapshotQuotaExceeded())

	m.pass("quota") // takes the project's only slot
	firstStart := m.get("quota").Status.StartTime
	res := m.pass("quota")
	br := m.get("quota")
	ready := condition(br, backupv1alpha1.ConditionReady)
	if br.Status.Phase != backupv1alpha1.PhasePending || ready.Reason != string(backupv1alpha1.ReasonWaitingForQuota) {
		t.Fatalf("want Pending/WaitingForQuota, got %s %+v", br.Status.Phase, ready)
	}
	for _, want := range []string{"snapshot quota", "SnapshotQuotaExceeded", "delete unneeded manual snapshots", "retrying in 1m"} {
		if !strings.Contains(br.Status.Message, want) || !strings.Contains(ready.Message, want) {
			t.Errorf("message %q must say %q", br.Status.Message, want)
		}
	}
	w := br.Status.QuotaWait
	if w == nil || w.Quota != provider.QuotaSnapshot || w.Attempts != 1 || !w.RetryAt.Time.Equal(m.clock.Now().Add(time.Minute)) {
		t.Fatalf("quotaWait %+v", w)
	}
	if res.RequeueAfter != time.Minute {
		t.Errorf("next look after %s, want 1m", res.RequeueAfter)
	}
	if br.Status.Claim == nil || len(m.cloud.Snapshots()) != 0 {
		t.Fatalf("the wait keeps the claim and made no snapshot: claim %+v, snapshots %v", br.Status.Claim, m.cloud.Snapshots())
	}
	if evs := strings.Join(m.events(), "\n"); !strings.Contains(evs, "Warning WaitingForQuota") || strings.Contains(evs, "Warning QuotaExceeded") {
		t.Errorf("want one Warning WaitingForQuota and no failure, got:\n%s", evs)
	}

	// The slot is free: the next request runs meanwhile.
	m.pass("next")
	if p := m.get("next").Status.Phase; p != backupv1alpha1.PhaseInProgress {
		t.Fatalf("next must take the slot the waiting backup gave back, is %s", p)
	}

	// Before its retry time the waiting backup does nothing, also after a restart.
	m.clock.Step(30 * time.Second)
	m.r = m.quotaReconciler(metrics)
	if res := m.pass("quota"); res.RequeueAfter != 30*time.Second {
		t.Errorf("before the retry time: next look after %s, want the 30s left", res.RequeueAfter)
	}
	if n := m.cloud.Calls("CreateDatabaseSnapshot"); n != 1 {
		t.Fatalf("CreateDatabaseSnapshot called %d times before the retry time", n)
	}

	// At the retry time the slot is still next's: the backup waits for it, first in line.
	m.clock.Step(30 * time.Second)
	m.pass("quota")
	if ready := condition(m.get("quota"), backupv1alpha1.ConditionReady); ready.Reason != string(backupv1alpha1.ReasonWaitingForSlot) || !strings.Contains(ready.Message, "position 1") {
		t.Fatalf("at its retry time with no slot free: %+v", ready)
	}
	m.cloud.FailWith("CreateDatabaseSnapshot", nil)
	m.cloud.SnapshotReadyAfter = 0
	if br := m.drive("next"); br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		t.Fatalf("next %s: %s", br.Status.Phase, br.Status.Message)
	}

	// Refused again: the wait goes on with twice the interval, without a second Warning.
	m.cloud.FailWith("CreateDatabaseSnapshot", snapshotQuotaExceeded())
	m.pass("quota") // resumes
	m.pass("quota") // refused
	br = m.get("quota")
	if br.Status.QuotaWait.Attempts != 2 || !strings.Contains(br.Status.Message, "retrying in 2m") {
		t.Fatalf("second refusal: %+v %q", br.Status.QuotaWait, br.Status.Message)
	}
	if evs := strings.Join(m.events(), "\n"); strings.Contains(evs, "Warning WaitingForQuota") || !strings.Contains(evs, "Normal Started") {
		t.Errorf("a resume and no second Warning expected, got:\n%s", evs)
	}

	// The quota clears: the backup runs and succeeds, started once, from its first start.
	m.cloud.FailWith("CreateDatabaseSnapshot", nil)
	m.clock.Step(2 * time.Minute)
	br = m.drive("quota")
	if br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		t.Fatalf("after the quota cleared: %s %s", br.Status.Phase, br.Status.Message)
	}
	if !br.Status.StartTime.Equal(firstStart) {
		t.Errorf("startTime %s, want the first start %s", br.Status.StartTime, firstStart)
	}
	if w := br.Status.QuotaWait; w == nil || w.EndTime == nil || w.Attempts != 2 {
		t.Errorf("the wait's record: %+v", w)
	}
	if metrics.started["quota"] != 1 || metrics.waited["quota snapshot"] != 1 {
		t.Errorf("started %d times and counted %d waits, want 1 and 1", metrics.started["quota"], metrics.waited["quota snapshot"])
	}
}

// TestQuotaWaitEndsAtTheBackupDeadline: the deadline still counts from the first
// start; a backup still refused for quota then fails with DeadlineExceeded, saying
// it waited for the quota, and expires like any backup that claimed a destination.
func TestQuotaWaitEndsAtTheBackupDeadline(t *testing.T) {
	m, _ := newQuotaMachine(t, "late")
	m.r.Options.QuotaRetryMax = 4 * time.Hour
	m.cloud.FailWith("CreateDatabaseSnapshot", snapshotQuotaExceeded())
	br := m.drive("late")
	if ready := condition(br, backupv1alpha1.ConditionReady); br.Status.Phase != backupv1alpha1.PhaseFailed || ready.Reason != string(backupv1alpha1.ReasonDeadlineExceeded) {
		t.Fatalf("want Failed/DeadlineExceeded, got %s %+v", br.Status.Phase, ready)
	}
	if !strings.Contains(br.Status.Message, "snapshot quota") || br.Status.ExpiresAt == nil {
		t.Errorf("message %q must name the quota wait; expiresAt %v", br.Status.Message, br.Status.ExpiresAt)
	}
	if over := br.Status.CompletionTime.Sub(br.Status.StartTime.Time) - m.r.Options.BackupDeadline; over < 0 || over > time.Minute {
		t.Errorf("failed %s after the deadline, want right after it", over)
	}
}

// TestDeletingABackupWaitingForQuotaLeavesNothing: a waiting backup deleted goes away
// with its claim; no snapshot was made.
func TestDeletingABackupWaitingForQuotaLeavesNothing(t *testing.T) {
	m, _ := newQuotaMachine(t, "cancel")
	m.cloud.FailWith("CreateDatabaseSnapshot", snapshotQuotaExceeded())
	m.pass("cancel")
	m.pass("cancel")
	if br := m.get("cancel"); br.Status.Phase != backupv1alpha1.PhasePending || m.objectsUnder("retail/prd/cancel/") == 0 {
		t.Fatalf("want a waiting backup with its claim written: %s, %d objects", br.Status.Phase, m.objectsUnder("retail/prd/cancel/"))
	}
	if err := m.client.Delete(m.ctx, m.get("cancel")); err != nil {
		t.Fatal(err)
	}
	m.pass("cancel")
	if n := m.objectsUnder("retail/prd/cancel/"); n != 0 || len(m.cloud.Snapshots()) != 0 {
		t.Fatalf("left behind: %d objects, snapshots %v", n, m.cloud.Snapshots())
	}
	err := m.client.Get(m.ctx, types.NamespacedName{Namespace: "proj-retail-prd", Name: "cancel"}, &backupv1alpha1.BackupRequest{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("the object must be gone, got %v", err)
	}
}
