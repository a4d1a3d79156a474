package archiver

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// withArchived returns conds plus an Archived condition of status and reason.
func withArchived(conds []metav1.Condition, status metav1.ConditionStatus, reason, message string) []metav1.Condition {
	out := append([]metav1.Condition{}, conds...)
	meta.SetStatusCondition(&out, metav1.Condition{Type: ConditionArchived, Status: status, Reason: reason, Message: message})
	return out
}

// Archival is read from status.archivedPhase and the condition's status and reason,
// never from its message: a message naming the phase without archivedPhase (an
// older controller's) concludes nothing, nor does an archivedPhase of an earlier phase.
func TestArchivalIsReadFromArchivedPhase(t *testing.T) {
	recorded := recordedMessage("Succeeded")
	refused := "phase Succeeded not recorded in backup history: invalid backup record: field project_id"
	for _, tc := range []struct {
		name              string
		phase, archived   backupv1.BackupPhase
		status            metav1.ConditionStatus
		reason, message   string
		isArchived, isRej bool
	}{
		{"recorded", backupv1.PhaseSucceeded, backupv1.PhaseSucceeded, metav1.ConditionTrue, ReasonRecorded, recorded, true, false},
		{"recorded, message unrelated", backupv1.PhaseSucceeded, backupv1.PhaseSucceeded, metav1.ConditionTrue, ReasonRecorded, "done", true, false},
		{"message names the phase, no archivedPhase", backupv1.PhaseSucceeded, "", metav1.ConditionTrue, ReasonRecorded, recorded, false, false},
		{"earlier phase archived", backupv1.PhaseExpired, backupv1.PhaseSucceeded, metav1.ConditionTrue, ReasonRecorded, recorded, false, false},
		{"True with another reason", backupv1.PhaseSucceeded, backupv1.PhaseSucceeded, metav1.ConditionTrue, "Other", recorded, false, false},
		{"refused", backupv1.PhaseSucceeded, backupv1.PhaseSucceeded, metav1.ConditionFalse, ReasonInvalidRecord, refused, false, true},
		{"refused, no archivedPhase", backupv1.PhaseSucceeded, "", metav1.ConditionFalse, ReasonInvalidRecord, refused, false, false},
		{"refused an earlier phase", backupv1.PhaseExpired, backupv1.PhaseSucceeded, metav1.ConditionFalse, ReasonInvalidRecord, refused, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := newBR("ns", "b", tc.phase)
			br.Status.ArchivedPhase = tc.archived
			br.Status.Conditions = withArchived(br.Status.Conditions, tc.status, tc.reason, tc.message)
			if got := IsArchived(br); got != tc.isArchived {
				t.Errorf("IsArchived %v, want %v", got, tc.isArchived)
			}
			if got := backupArchival(br).rejected(); got != tc.isRej {
				t.Errorf("rejected %v, want %v", got, tc.isRej)
			}

			// Restores have no Expired: there the later phase is Succeeded, after InProgress.
			phase, archived := backupv1.RestorePhase(tc.phase), backupv1.RestorePhase(tc.archived)
			if tc.phase == backupv1.PhaseExpired {
				phase, archived = backupv1.RestorePhaseSucceeded, backupv1.RestorePhaseInProgress
			}
			rr := newRR("ns", "r", phase)
			rr.Status.ArchivedPhase = archived
			rr.Status.Conditions = withArchived(rr.Status.Conditions, tc.status, tc.reason, tc.message)
			if got := IsRestoreArchived(rr); got != tc.isArchived {
				t.Errorf("IsRestoreArchived %v, want %v", got, tc.isArchived)
			}
			if got := restoreArchival(rr).rejected(); got != tc.isRej {
				t.Errorf("restore rejected %v, want %v", got, tc.isRej)
			}
			if got := (&Archiver{}).HistorySettled(rr); got != (tc.isArchived || tc.isRej) {
				t.Errorf("HistorySettled %v, want %v", got, tc.isArchived || tc.isRej)
			}
		})
	}
	none := newBR("ns", "none", backupv1.PhaseSucceeded)
	if IsArchived(none) {
		t.Error("IsArchived without any Archived condition")
	}
	none.Status.ArchivedPhase = backupv1.PhaseSucceeded
	if IsArchived(none) {
		t.Error("IsArchived with archivedPhase but no Archived condition")
	}
}

// An object archived by a controller that predates archivedPhase (condition
// Archived=True naming the phase in its message, no archivedPhase) is archived
// again, once: the upsert leaves its row as it was, and the object gets
// archivedPhase with the condition's message unchanged. An object whose phase
// archivedPhase names is left alone.
func TestArchivedWithoutArchivedPhaseIsArchivedAgain(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	store := newCountingStore(db)
	legacyBR := newBR("ns", "legacy", backupv1.PhaseSucceeded)
	legacyBR.Status.Conditions = withArchived(legacyBR.Status.Conditions, metav1.ConditionTrue, ReasonRecorded, recordedMessage("Succeeded"))
	currentBR := newBR("ns", "current", backupv1.PhaseSucceeded)
	currentBR.Status.Conditions = withArchived(currentBR.Status.Conditions, metav1.ConditionTrue, ReasonRecorded, recordedMessage("Succeeded"))
	currentBR.Status.ArchivedPhase = backupv1.PhaseSucceeded
	legacyRR := newRR("ns", "legacy", backupv1.RestorePhaseSucceeded)
	legacyRR.Status.Conditions = withArchived(legacyRR.Status.Conditions, metav1.ConditionTrue, ReasonRecorded, recordedMessage("Succeeded"))
	currentRR := newRR("ns", "current", backupv1.RestorePhaseSucceeded)
	currentRR.Status.Conditions = withArchived(currentRR.Status.Conditions, metav1.ConditionTrue, ReasonRecorded, recordedMessage("Succeeded"))
	currentRR.Status.ArchivedPhase = backupv1.RestorePhaseSucceeded
	kc := newFakeClient(t, projectNamespace("ns", "retail"), legacyBR, currentBR, legacyRR, currentRR)
	// The older controller committed the legacy rows from the objects as stored (the
	// API server keeps times to the second); archiving them again must not change them.
	var storedBR backupv1.BackupRequest
	var storedRR backupv1.RestoreRequest
	if err := kc.Get(ctx, client.ObjectKeyFromObject(legacyBR), &storedBR); err != nil {
		t.Fatal(err)
	}
	if err := kc.Get(ctx, client.ObjectKeyFromObject(legacyRR), &storedRR); err != nil {
		t.Fatal(err)
	}
	if err := db.UpsertBackupRecord(ctx, RecordFromBackupRequest(&storedBR, time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := db.UpsertRestoreRecord(ctx, RecordFromRestoreRequest(&storedRR, time.Now())); err != nil {
		t.Fatal(err)
	}
	rows := `SELECT 'backup:' || updated_at FROM backup_requests UNION ALL SELECT 'restore:' || updated_at FROM restore_requests ORDER BY 1`
	before := queryStrings(t, db.DB(), rows)

	reg := prometheus.NewRegistry()
	a, err := New(Options{Client: kc, Store: store, Registerer: reg, ResyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	var gotBR backupv1.BackupRequest
	var gotRR backupv1.RestoreRequest
	waitFor(t, "the legacy objects archived again", func() bool {
		if err := kc.Get(ctx, client.ObjectKeyFromObject(legacyBR), &gotBR); err != nil {
			t.Fatal(err)
		}
		if err := kc.Get(ctx, client.ObjectKeyFromObject(legacyRR), &gotRR); err != nil {
			t.Fatal(err)
		}
		return IsArchived(&gotBR) && IsRestoreArchived(&gotRR)
	})
	waitFor(t, "the archiver to be idle", func() bool { return counterValue(t, reg, "backup_archival_pending", nil) == 0 })
	if gotBR.Status.ArchivedPhase != backupv1.PhaseSucceeded || gotRR.Status.ArchivedPhase != backupv1.RestorePhaseSucceeded {
		t.Fatalf("archivedPhase %q and %q, want Succeeded", gotBR.Status.ArchivedPhase, gotRR.Status.ArchivedPhase)
	}
	for _, conds := range [][]metav1.Condition{gotBR.Status.Conditions, gotRR.Status.Conditions} {
		if c := meta.FindStatusCondition(conds, ConditionArchived); c.Message != "phase Succeeded recorded in backup history" {
			t.Fatalf("the message users read changed: %+v", c)
		}
	}
	if n := store.attempts(string(legacyBR.UID)); n != 1 {
		t.Fatalf("legacy backup upserted %d times, want 1", n)
	}
	if n := store.attempts(string(legacyRR.UID)); n != 1 {
		t.Fatalf("legacy restore upserted %d times, want 1", n)
	}
	if n := store.attempts(string(currentBR.UID)) + store.attempts(string(currentRR.UID)); n != 0 {
		t.Fatalf("objects whose archivedPhase is their phase were upserted %d times, want 0", n)
	}
	after := queryStrings(t, db.DB(), rows)
	if len(after) != 2 || after[0] != before[0] || after[1] != before[1] {
		t.Fatalf("archiving again changed the rows: before %v, after %v", before, after)
	}
}

// A phase the history refused for good (Archived=False, InvalidRecord, archivedPhase
// the phase) is not retried by resyncs, even when the record would now be accepted;
// the same condition without archivedPhase (an older controller's) is tried again.
func TestRejectedPhaseIsNotRetried(t *testing.T) {
	db := newDB(t)
	store := newCountingStore(db)
	refused := "phase Succeeded not recorded in backup history: invalid backup record: field project_id"
	rejected := newBR("ns", "rejected", backupv1.PhaseSucceeded)
	rejected.Status.Conditions = withArchived(rejected.Status.Conditions, metav1.ConditionFalse, ReasonInvalidRecord, refused)
	rejected.Status.ArchivedPhase = backupv1.PhaseSucceeded
	legacy := newBR("ns", "legacy", backupv1.PhaseSucceeded)
	legacy.Status.Conditions = withArchived(legacy.Status.Conditions, metav1.ConditionFalse, ReasonInvalidRecord, refused)
	rejectedRR := newRR("ns", "rejected", backupv1.RestorePhaseFailed)
	rejectedRR.Status.Conditions = withArchived(rejectedRR.Status.Conditions, metav1.ConditionFalse, ReasonInvalidRecord,
		"phase Failed not recorded in backup history: invalid restore record: field backup_id")
	rejectedRR.Status.ArchivedPhase = backupv1.RestorePhaseFailed
	kc := newFakeClient(t, projectNamespace("ns", "retail"), rejected, legacy, rejectedRR)
	archiverClient, resyncs := countLists(kc)
	reg := prometheus.NewRegistry()
	a, err := New(Options{Client: archiverClient, Store: store, Registerer: reg, ResyncInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	waitFor(t, "the legacy rejection tried again", func() bool { return archivedCount(t, kc) == 1 })
	// Three whole resyncs (two Lists each) after the first, then the archiver idle.
	start := resyncs.Load()
	waitFor(t, "three more resyncs", func() bool { return resyncs.Load() >= start+7 })
	waitFor(t, "the archiver to be idle", func() bool { return counterValue(t, reg, "backup_archival_pending", nil) == 0 })
	if n := store.attempts(string(rejected.UID)) + store.attempts(string(rejectedRR.UID)); n != 0 {
		t.Fatalf("rejected phases upserted %d times, want 0", n)
	}
	if n := store.attempts(string(legacy.UID)); n != 1 {
		t.Fatalf("the legacy rejection upserted %d times, want 1", n)
	}
	if names := queryStrings(t, db.DB(), `SELECT name FROM backup_requests UNION ALL SELECT name FROM restore_requests`); len(names) != 1 || names[0] != "legacy" {
		t.Fatalf("rows %v, want only legacy", names)
	}
}
