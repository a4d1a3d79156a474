package admission

import (
	"context"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// queuedPriorities sends each object through the creation handler as a Create event
// (listed: from the informer's initial list) into a real controller-runtime priority
// queue and returns the priority each was queued at.
func queuedPriorities(t *testing.T, a *Admission, listed bool, objs ...client.Object) map[string]int {
	t.Helper()
	q := priorityqueue.New[reconcile.Request]("creation-test")
	defer q.ShutDown()
	h := a.CreationHandler()
	for _, o := range objs {
		h.Create(context.Background(), event.CreateEvent{Object: o, IsInInitialList: listed}, q)
	}
	got := map[string]int{}
	for range objs {
		req, priority, shutdown := q.GetWithPriority()
		if shutdown {
			t.Fatal("queue shut down")
		}
		got[req.Name] = priority
		q.Done(req)
	}
	return got
}

func TestCreationsThatWouldStartAreQueuedAtTheDefaultPriorityEvenFromTheInitialList(t *testing.T) {
	// Limit 2, one running: the oldest waiting request takes the free slot, the next waits.
	running := backup("running", "shop", 0, backupv1alpha1.PhaseInProgress)
	first := backup("first", "shop", 1, "")
	second := backup("second", "shop", 2, backupv1alpha1.PhasePending)
	done := backup("done", "shop", 0, backupv1alpha1.PhaseSucceeded)
	other := backup("other", "bank", 3, "")
	a, _ := newAdmission(t, 2, running, first, second, done, other)

	for _, listed := range []bool{true, false} {
		got := queuedPriorities(t, a, listed, first, second, other, running, done)
		if got["first"] != 0 || got["other"] != 0 {
			t.Errorf("listed=%v: requests that would take a free slot must be queued at the default priority 0: %v", listed, got)
		}
		if got["second"] != handler.LowPriority {
			t.Errorf("listed=%v: a request that must wait goes below the starts: %v", listed, got)
		}
		want := 0
		if listed {
			want = handler.LowPriority // a resync of work already done, as controller-runtime queues it
		}
		if got["running"] != want || got["done"] != want {
			t.Errorf("listed=%v: running and finished requests at %d: %v", listed, want, got)
		}
	}
}

func TestANewRequestNotYetInTheCacheQueuesBehindEverythingSeen(t *testing.T) {
	a, _ := newAdmission(t, 1, backup("waiting", "shop", 1, backupv1alpha1.PhasePending))
	got := queuedPriorities(t, a, false, backup("new", "shop", 2, ""))
	if got["new"] != handler.LowPriority {
		t.Fatalf("the only slot goes to the request already waiting: %v", got)
	}
}

func TestRestoreCreationsUseTheirNamespacesProject(t *testing.T) {
	a, _ := newAdmission(t, 1, projectNS("shop"), backup("running", "shop", 0, backupv1alpha1.PhaseInProgress),
		projectNS("bank"))
	got := queuedPriorities(t, a, true,
		restore("blocked", "shop", 1, ""), restore("free", "bank", 1, backupv1alpha1.RestorePhasePending))
	if got["blocked"] != handler.LowPriority || got["free"] != 0 {
		t.Fatalf("a restore's priority follows its namespace's project slots: %v", got)
	}
}

func TestCreationsWhoseProjectCannotBeFoundKeepTheDefaultPriority(t *testing.T) {
	a, _ := newAdmission(t, 1) // no namespace: the restore's first pass refuses it, soon
	got := queuedPriorities(t, a, true, restore("orphan", "nowhere", 0, ""))
	if got["orphan"] != 0 {
		t.Fatalf("in doubt the pass decides, at the default priority: %v", got)
	}
}

func TestForWatchesLeaveCreationsToTheCreationHandler(t *testing.T) {
	br := backup("b", "shop", 0, "")
	if Creations().Update(event.UpdateEvent{ObjectOld: br, ObjectNew: br}) || !Creations().Create(event.CreateEvent{Object: br}) {
		t.Fatal("Creations passes Create events only")
	}
	if NotCreations().Create(event.CreateEvent{Object: br, IsInInitialList: true}) ||
		!NotCreations().Update(event.UpdateEvent{ObjectOld: br, ObjectNew: br}) || !NotCreations().Delete(event.DeleteEvent{Object: br}) {
		t.Fatal("NotCreations passes all but Create events")
	}
}
