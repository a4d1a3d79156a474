package controller

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/admission"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
)

// laggingCache serves BackupRequests as they were when freeze was called, like an
// informer cache that has not yet seen the controller's latest writes.
type laggingCache struct {
	client.Client
	mu     sync.Mutex
	frozen map[types.NamespacedName]*backupv1alpha1.BackupRequest
}

func (c *laggingCache) freeze(br *backupv1alpha1.BackupRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen == nil {
		c.frozen = map[types.NamespacedName]*backupv1alpha1.BackupRequest{}
	}
	c.frozen[client.ObjectKeyFromObject(br)] = br.DeepCopy()
}

func (c *laggingCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.mu.Lock()
	old, ok := c.frozen[key]
	c.mu.Unlock()
	if br, isBR := obj.(*backupv1alpha1.BackupRequest); ok && isBR {
		*br = *old.DeepCopy()
		return nil
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

func TestLaggingCacheDoesNotRepeatAFinishedStep(t *testing.T) {
	m := newMachine(t, request("lag"))
	cache := &laggingCache{Client: m.client}
	m.r.Client, m.r.APIReader = cache, failingReader{t}

	m.step("lag") // InProgress
	cache.freeze(m.get("lag"))
	m.step("lag") // snapshot created; the cache still shows no snapshot
	if m.get("lag").Status.Database == nil {
		t.Fatal("snapshot not recorded")
	}
	for range 3 {
		if _, err := m.reconcile("lag"); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.cloud.Calls("CreateDatabaseSnapshot"); n != 1 {
		t.Fatalf("CreateDatabaseSnapshot called %d times on a lagging cache, want 1", n)
	}
	if n := strings.Count(strings.Join(m.events(), "\n"), "SnapshotCreating"); n != 1 {
		t.Fatalf("%d SnapshotCreating events, want 1", n)
	}
	if c := condition(m.get("lag"), backupv1alpha1.ConditionDatabaseSnapshotReady); c == nil || c.Reason == "" {
		t.Fatalf("snapshot condition lost: %+v", c)
	}
}

// failingReader fails the test if the reconciler reads around the cache: its own
// last write is enough to act on.
type failingReader struct{ t *testing.T }

func (f failingReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	f.t.Error("unexpected live read")
	return nil
}

func (f failingReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	f.t.Error("unexpected live list")
	return nil
}

func TestABackupCostsFourStatusWrites(t *testing.T) {
	m := newMachine(t, request("writes"))
	m.cloud.SnapshotReadyAfter = 0
	var patches atomic.Int64
	m.r.Client = hookedStatus{Client: m.client, onPatch: func(client.Object) error { patches.Add(1); return nil }}
	// The copy waits until the pass that started it is over: otherwise, on a scheduler
	// that runs the copy's goroutine at once, that pass would also see it finished
	// and write one status less.
	release := make(chan struct{})
	providers := provider.NewRegistry()
	providers.Register("aws", heldCopies{Provider: m.cloud, release: release})
	m.r.Providers = providers
	for passes := 0; ; passes++ {
		if passes == 10 {
			t.Fatalf("the copy did not start in %d passes: %+v", passes, m.get("writes").Status)
		}
		if c := condition(m.get("writes"), backupv1alpha1.ConditionDocumentLibraryCopied); c != nil && c.Reason == string(backupv1alpha1.ReasonCopying) {
			break
		}
		if _, err := m.reconcile("writes"); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	if br := m.drive("writes"); br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		t.Fatalf("phase %s: %s", br.Status.Phase, br.Status.Message)
	}
	// InProgress; snapshot created; snapshot available + copy started; copied +
	// manifest written + Succeeded (the steps of one pass share its write). The fake
	// reports progress just before its copy returns: a pass in between adds one
	// progress write.
	if n := patches.Load(); n != 4 && n != 5 {
		t.Fatalf("%d status writes for one backup, want 4 (5 with a progress write)", n)
	}
}

// heldCopies is a provider whose copies start only once release is closed.
type heldCopies struct {
	*fake.Provider
	release chan struct{}
}

func (h heldCopies) CopyObjectStorage(ctx context.Context, req provider.ObjectStorageCopyRequest) (*provider.ObjectStorageCopyResult, error) {
	select {
	case <-h.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return h.Provider.CopyObjectStorage(ctx, req)
}

// hookedStatus calls onPatch before every status patch; an error it returns fails the
// patch instead.
type hookedStatus struct {
	client.Client
	onPatch func(client.Object) error
}

func (h hookedStatus) Status() client.SubResourceWriter {
	return hookedSubResource{SubResourceWriter: h.Client.Status(), onPatch: h.onPatch}
}

type hookedSubResource struct {
	client.SubResourceWriter
	onPatch func(client.Object) error
}

func (s hookedSubResource) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if err := s.onPatch(obj); err != nil {
		return err
	}
	return s.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

func TestWaitingRequestRecordsItsPlaceAtLowPriority(t *testing.T) {
	var objs []client.Object
	for _, name := range []string{"a", "b", "c"} {
		objs = append(objs, request(name))
	}
	m := newMachine(t, objs...)
	m.cloud.SnapshotReadyAfter = 0
	for _, name := range []string{"a", "b"} {
		// Taking the slot is a pass of its own; the first step follows below new requests.
		if res := m.step(name); m.get(name).Status.Phase != backupv1alpha1.PhaseInProgress || res.Priority == nil || *res.Priority != admission.ContinuePriority {
			t.Fatalf("%s: %s, result %+v", name, m.get(name).Status.Phase, res)
		}
	}
	res, err := m.r.Reconcile(m.ctx, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "proj-retail-prd", Name: "c"}})
	if err != nil || res.Priority == nil || *res.Priority != handler.LowPriority || m.get("c").Status.Phase != "" {
		t.Fatalf("first look at a request without a slot must only requeue it at low priority: %+v %v %q", res, err, m.get("c").Status.Phase)
	}
	m.clock.Step(res.RequeueAfter) // the work queue hands it out again then
	m.step("c")
	c := m.get("c")
	if ready := condition(c, backupv1alpha1.ConditionReady); c.Status.Phase != backupv1alpha1.PhasePending || ready.Reason != string(backupv1alpha1.ReasonWaitingForSlot) || !strings.Contains(ready.Message, "position 1") {
		t.Fatalf("c must record its place: %s %+v", c.Status.Phase, ready)
	}
}

// TestAFinishedCopyOutlivesAConflictingStatusWrite: another writer changes the
// backup's status while the pass that records a finished copy writes it. The write
// conflicts; the pass rebases its changes on the live object and stores them: status
// (and the metrics, counted once it is stored) hold the one copy, and the other
// writer's condition stays.
func TestAFinishedCopyOutlivesAConflictingStatusWrite(t *testing.T) {
	m := newMachine(t, request("conflict"))
	m.cloud.SnapshotReadyAfter = 0
	var conflicted atomic.Bool
	m.r.Client = hookedStatus{Client: m.client, onPatch: func(obj client.Object) error {
		br, ok := obj.(*backupv1alpha1.BackupRequest)
		if !ok || !br.Status.IsConditionTrue(backupv1alpha1.ConditionDocumentLibraryCopied) || !conflicted.CompareAndSwap(false, true) {
			return nil
		}
		live := &backupv1alpha1.BackupRequest{}
		if err := m.client.Get(context.Background(), client.ObjectKeyFromObject(br), live); err != nil {
			return err
		}
		meta.SetStatusCondition(&live.Status.Conditions, metav1.Condition{Type: "ExternalAudit", Status: metav1.ConditionTrue, Reason: "Seen", Message: "another writer"})
		return m.client.Status().Update(context.Background(), live)
	}}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("did not finish: %+v", m.get("conflict").Status)
		}
		if _, err := m.reconcile("conflict"); err != nil {
			t.Fatalf("a conflicting write must be rebased, not fail the pass: %v", err)
		}
		if m.get("conflict").Status.Phase.IsTerminal() {
			break
		}
	}
	br := m.get("conflict")
	if !conflicted.Load() || br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		t.Fatalf("conflict injected %v, phase %s: %s", conflicted.Load(), br.Status.Phase, br.Status.Message)
	}
	if c := br.Status.Condition("ExternalAudit"); c == nil || c.Message != "another writer" {
		t.Errorf("the other writer's condition was overwritten: %+v", br.Status.Conditions)
	}
	if n := m.cloud.Calls("CopyObjectStorage"); n != 1 {
		t.Errorf("CopyObjectStorage called %d times, want 1: the finished copy was lost with the conflicting write", n)
	}
	if dl := br.Status.DocumentLibrary; dl.ObjectsCopied != dl.ObjectsTotal || dl.ObjectsCopied == 0 {
		t.Errorf("status says %d copied of %d, want every object copied by the one run", dl.ObjectsCopied, dl.ObjectsTotal)
	}
}
