package controller

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/admission"
)

// A phase change this controller wrote itself is not queued again (the pass that
// wrote it returned its own requeue); one written elsewhere is queued at the
// priority of its next pass. The queue is controller-runtime's priority queue.
func TestTransitionHandlerSkipsOwnPhaseWritesAndPrioritisesOthers(t *testing.T) {
	writes := newLastWrites()
	h := transitionHandler{wrote: writes.wrote}
	at := func(name, rv string, phase backupv1alpha1.BackupPhase) *backupv1alpha1.BackupRequest {
		return &backupv1alpha1.BackupRequest{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name), ResourceVersion: rv},
			Status:     backupv1alpha1.BackupRequestStatus{Phase: phase},
		}
	}
	q := priorityqueue.New[reconcile.Request]("transition-test")
	defer q.ShutDown()
	update := func(oldObj, newObj *backupv1alpha1.BackupRequest) {
		h.Update(context.Background(), event.UpdateEvent{ObjectOld: oldObj, ObjectNew: newObj}, q)
	}

	// Ours: recorded as our last write, so skipped, whatever the transition.
	for _, phase := range []backupv1alpha1.BackupPhase{backupv1alpha1.PhaseInProgress, backupv1alpha1.PhasePending, backupv1alpha1.PhaseSucceeded} {
		mine := at("mine-"+string(phase), "7", phase)
		writes.record(mine)
		update(at(mine.Name, "6", ""), mine)
	}
	// Ours, in flight: the watch event arrives before the write's response is recorded.
	writes.sending(at("inflight", "5", backupv1alpha1.PhaseSucceeded))
	update(at("inflight", "5", backupv1alpha1.PhaseInProgress), at("inflight", "6", backupv1alpha1.PhaseSucceeded))
	// Elsewhere, although a write of ours was in flight from the same version: another phase.
	writes.sending(at("raced", "5", backupv1alpha1.PhaseSucceeded))
	update(at("raced", "5", backupv1alpha1.PhaseInProgress), at("raced", "6", backupv1alpha1.PhaseFailed))
	// Elsewhere: not our last write (another resourceVersion), or no write of ours at all.
	writes.record(at("started", "10", backupv1alpha1.PhaseInProgress))
	update(at("started", "10", backupv1alpha1.PhasePending), at("started", "11", backupv1alpha1.PhaseInProgress))
	update(at("ended", "3", backupv1alpha1.PhaseInProgress), at("ended", "4", backupv1alpha1.PhaseFailed))
	update(at("parked", "3", ""), at("parked", "4", backupv1alpha1.PhasePending))
	// Not a phase change at all: nothing.
	update(at("progress", "3", backupv1alpha1.PhaseInProgress), at("progress", "4", backupv1alpha1.PhaseInProgress))

	want := map[string]int{"started": admission.ContinuePriority, "ended": handler.LowPriority, "parked": handler.LowPriority, "raced": handler.LowPriority}
	if n := q.Len(); n != len(want) {
		t.Fatalf("%d requests queued, want %d (own writes and progress skipped)", n, len(want))
	}
	for range want {
		req, priority, _ := q.GetWithPriority()
		if p, ok := want[req.Name]; !ok || p != priority {
			t.Errorf("%s queued at priority %d, want %v (known: %v)", req.Name, priority, p, ok)
		}
		q.Done(req)
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("%d requests left in the queue", n)
	}
}
