package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

func versioned(uid, rv string, phase backupv1alpha1.BackupPhase) *backupv1alpha1.BackupRequest {
	return &backupv1alpha1.BackupRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "br", UID: types.UID(uid), ResourceVersion: rv},
		Status:     backupv1alpha1.BackupRequestStatus{Phase: phase},
	}
}

func TestLastWritesServesOurWriteUntilTheCacheCatchesUp(t *testing.T) {
	w := newLastWrites()
	w.record(versioned("u1", "20", backupv1alpha1.PhaseInProgress))

	mine, _, ok := w.newer(versioned("u1", "10", backupv1alpha1.PhasePending))
	if !ok || mine == nil || mine.Status.Phase != backupv1alpha1.PhaseInProgress {
		t.Fatalf("a cache older than our write must give our write, got %+v (ok %v)", mine, ok)
	}
	mine.Status.Phase = backupv1alpha1.PhaseFailed // the caller's copy is its own
	if again, _, _ := w.newer(versioned("u1", "10", backupv1alpha1.PhasePending)); again.Status.Phase != backupv1alpha1.PhaseInProgress {
		t.Fatal("newer returned a shared object")
	}

	if mine, _, ok := w.newer(versioned("u1", "20", backupv1alpha1.PhaseInProgress)); !ok || mine != nil {
		t.Fatalf("a cache at our write is used as it is, got %+v (ok %v)", mine, ok)
	}
	// The entry is forgotten once the cache caught up: an older cached copy seen later
	// (a relist from another watch) is not replaced any more.
	if mine, _, ok := w.newer(versioned("u1", "10", backupv1alpha1.PhasePending)); !ok || mine != nil {
		t.Fatalf("the entry must be dropped once the cache caught up, got %+v", mine)
	}
}

func TestLastWritesIgnoresAnObjectCreatedAgainUnderTheSameName(t *testing.T) {
	w := newLastWrites()
	w.record(versioned("u1", "20", backupv1alpha1.PhaseInProgress))
	if mine, _, ok := w.newer(versioned("u2", "5", backupv1alpha1.PhasePending)); !ok || mine != nil {
		t.Fatalf("a new object with the same name must not get the old one's status, got %+v", mine)
	}
}

func TestLastWritesAsksForALiveReadWhenVersionsDoNotCompare(t *testing.T) {
	w := newLastWrites()
	w.record(versioned("u1", "not-a-number", backupv1alpha1.PhaseInProgress))
	if mine, _, ok := w.newer(versioned("u1", "10", backupv1alpha1.PhasePending)); ok || mine != nil {
		t.Fatalf("incomparable resourceVersions must ask for a live read, got %+v (ok %v)", mine, ok)
	}
}

func TestLastWritesForgetsADeletedObject(t *testing.T) {
	w := newLastWrites()
	w.record(versioned("u1", "20", backupv1alpha1.PhaseInProgress))
	w.forget(types.NamespacedName{Namespace: "ns", Name: "br"})
	if mine, _, ok := w.newer(versioned("u1", "10", backupv1alpha1.PhasePending)); !ok || mine != nil {
		t.Fatalf("a forgotten object must be read from the cache, got %+v", mine)
	}
}
