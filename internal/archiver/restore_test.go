package archiver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/database"
)

const testBackupID = "proj-retail-prd-nightly-aaaaaaaa"

func projectNamespace(name, project string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{backupv1.ProjectLabel: project}}}
}

// newRR returns a RestoreRequest of the BackupRequest "nightly" into a new instance
// and the live library (Skip), in phase; from InProgress on its source is resolved,
// and a terminal one carries its outcome.
func newRR(ns, name string, phase backupv1.RestorePhase) *backupv1.RestoreRequest {
	now := time.Now()
	rr := &backupv1.RestoreRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			UID:               types.UID(fmt.Sprintf("bbbbbbbb-0000-4000-8000-%012d", uidSeq.Add(1))),
			CreationTimestamp: metav1.NewTime(now.Add(-time.Minute))},
		Spec: backupv1.RestoreRequestSpec{
			Source:   backupv1.RestoreSource{BackupRequestName: "nightly"},
			Database: &backupv1.DatabaseRestoreSpec{TargetInstanceID: "retail-restored"},
			DocumentLibrary: &backupv1.DocumentLibraryRestoreSpec{TargetBucket: "retail-dl", TargetPrefix: "document_library/",
				ExistingObjects: backupv1.ExistingObjectsSkip},
		},
	}
	setRRPhase(rr, phase, now)
	return rr
}

func setRRPhase(rr *backupv1.RestoreRequest, phase backupv1.RestorePhase, now time.Time) {
	st := &rr.Status
	switch phase {
	case backupv1.RestorePhasePending:
		st.SetAsWaiting("waiting for a slot of project retail", now)
		return
	case backupv1.RestorePhaseInProgress:
		st.SetAsStarted(metav1.NewTime(now.Add(-50 * time.Second)))
	case backupv1.RestorePhaseSucceeded:
		st.SetAsSucceeded("restored 7 objects, skipped 3", metav1.NewTime(now))
	case backupv1.RestorePhaseFailed:
		st.SetAsFailed(backupv1.ReasonTargetExists, "spec.database.targetInstanceId: instance retail-restored exists", metav1.NewTime(now))
	}
	if st.StartTime == nil {
		st.StartTime = &metav1.Time{Time: now.Add(-50 * time.Second)}
	}
	st.Source = &backupv1.ResolvedBackup{BackupID: testBackupID, BackupRequestName: "nightly",
		BackupRequestUID: "aaaaaaaa-0000-4000-8000-999999999999", ProjectID: "retail", Environment: "prd",
		ManifestLocation: "s3://backups/retail/prd/nightly/manifest.json", ManifestChecksum: "sha256:0f", SnapshotID: "snap-nightly"}
	st.Database = &backupv1.DatabaseRestoreStatus{InstanceID: "retail-restored", Created: true,
		InstanceARN: "arn:aws:rds:us-east-1:123456789012:db:retail-restored"}
	st.DocumentLibrary = &backupv1.DocumentLibraryRestoreStatus{ObjectsTotal: 10, ObjectsRestored: 2}
	if phase.IsTerminal() {
		st.DocumentLibrary = &backupv1.DocumentLibraryRestoreStatus{ObjectsTotal: 10, ObjectsRestored: 7, ObjectsSkipped: 3, BytesRestored: 7000}
	}
}

func restoreArchivedIn(t testing.TB, c client.Client, key client.ObjectKey) string {
	t.Helper()
	var rr backupv1.RestoreRequest
	if err := c.Get(context.Background(), key, &rr); err != nil {
		t.Fatal(err)
	}
	if IsRestoreArchived(&rr) {
		return string(rr.Status.Phase)
	}
	return ""
}

func restoreRow(t testing.TB, db *database.Client, uid types.UID) *database.RestoreRecord {
	t.Helper()
	r, err := db.GetRestoreRecordByUID(context.Background(), string(uid))
	if errors.Is(err, database.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// updateStatus stores rr's status as the reconciler would, and returns the stored object.
func updateStatus(t testing.TB, c client.Client, rr *backupv1.RestoreRequest) *backupv1.RestoreRequest {
	t.Helper()
	var cur backupv1.RestoreRequest
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(rr), &cur); err != nil {
		t.Fatal(err)
	}
	conds, archived := cur.Status.Conditions, cur.Status.ArchivedPhase
	cur.Status = *rr.Status.DeepCopy()
	if a := meta.FindStatusCondition(conds, ConditionArchived); a != nil {
		meta.SetStatusCondition(&cur.Status.Conditions, *a) // the reconciler keeps what it did not set
	}
	cur.Status.ArchivedPhase = archived
	if err := c.Status().Update(context.Background(), &cur); err != nil {
		t.Fatal(err)
	}
	return &cur
}

// A restore is archived at each phase: Pending (project from the namespace, source
// not resolved yet), InProgress, Succeeded, each time over the same row and with
// Archived=True naming the phase. A late copy of an earlier phase changes nothing.
func TestRestoreArchivedAtEveryPhaseChange(t *testing.T) {
	db := newDB(t)
	rr := newRR("proj-retail-prd", "bring-back", backupv1.RestorePhasePending)
	stale := rr.DeepCopy()
	kc := newFakeClient(t, projectNamespace("proj-retail-prd", "retail"), rr)
	reg := prometheus.NewRegistry()
	a, err := New(Options{Client: kc, Store: db, Registerer: reg, ResyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	key := client.ObjectKeyFromObject(rr)
	a.EnqueueRestore(rr)
	waitFor(t, "Pending archived", func() bool { return restoreArchivedIn(t, kc, key) == "Pending" })
	row := restoreRow(t, db, rr.UID)
	if row == nil || row.Phase != "Pending" || row.ProjectID != "retail" || row.Environment != "" || row.BackupName != "nightly" ||
		row.BackupID != "" || row.TargetInstanceID != "retail-restored" || row.TargetPrefix != "document_library/" ||
		row.ExistingObjects != "Skip" || row.Reason != "WaitingForSlot" {
		t.Fatalf("Pending row %+v", row)
	}

	for _, phase := range []backupv1.RestorePhase{backupv1.RestorePhaseInProgress, backupv1.RestorePhaseSucceeded} {
		next := rr.DeepCopy()
		setRRPhase(next, phase, time.Now())
		stored := updateStatus(t, kc, next)
		if IsRestoreArchived(stored) {
			t.Fatalf("%s counts as archived before it was", phase)
		}
		a.EnqueueRestore(stored)
		waitFor(t, string(phase)+" archived", func() bool { return restoreArchivedIn(t, kc, key) == string(phase) })
	}
	row = restoreRow(t, db, rr.UID)
	if row.Phase != "Succeeded" || row.ProjectID != "retail" || row.Environment != "prd" || row.BackupID != testBackupID ||
		row.ManifestChecksum != "sha256:0f" || row.SnapshotID != "snap-nightly" || row.BackupRequestUID != "aaaaaaaa-0000-4000-8000-999999999999" ||
		row.TargetInstanceARN != "arn:aws:rds:us-east-1:123456789012:db:retail-restored" ||
		row.ObjectsRestored != 7 || row.ObjectsSkipped != 3 || row.BytesRestored != 7000 || row.CompletionTime == nil ||
		row.Message != "restored 7 objects, skipped 3" || row.Reason != string(backupv1.ReasonSucceeded) {
		t.Fatalf("Succeeded row %+v", row)
	}

	// A copy of the Pending state arriving late (a stale informer event) is archived
	// against a final row: the row stays Succeeded and the object keeps its condition.
	a.EnqueueRestore(stale)
	waitFor(t, "the stale copy to be processed", func() bool { return counterValue(t, reg, "backup_archival_pending", nil) == 0 })
	if got := restoreRow(t, db, rr.UID); got.Phase != "Succeeded" || got.ObjectsRestored != 7 {
		t.Fatalf("a stale Pending copy changed the final row: %+v", got)
	}
	if got := restoreArchivedIn(t, kc, key); got != "Succeeded" {
		t.Fatalf("Archived after the stale copy: %q", got)
	}
	var n int
	if err := db.DB().QueryRow(`SELECT count(*) FROM restore_requests`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d restore rows (%v), want 1", n, err)
	}
}

// At start every RestoreRequest whose phase is not archived is (the controller
// restarted, or the reconciler's EnqueueRestore was dropped); one with no phase yet,
// or already archived, is left alone. BackupRequests are resynced as before.
func TestStartArchivesMissedRestores(t *testing.T) {
	db := newDB(t)
	succeeded := newRR("ns1", "done", backupv1.RestorePhaseSucceeded)
	failed := newRR("ns1", "failed", backupv1.RestorePhaseFailed)
	running := newRR("ns2", "running", backupv1.RestorePhaseInProgress)
	fresh := newRR("ns2", "fresh", backupv1.RestorePhasePending)
	fresh.Status = backupv1.RestoreRequestStatus{} // not reconciled yet
	already := newRR("ns2", "already", backupv1.RestorePhaseSucceeded)
	meta.SetStatusCondition(&already.Status.Conditions, metav1.Condition{Type: ConditionArchived, Status: metav1.ConditionTrue,
		Reason: ReasonRecorded, Message: recordedMessage("Succeeded")})
	already.Status.ArchivedPhase = backupv1.RestorePhaseSucceeded
	backup := newBR("ns1", "nightly", backupv1.PhaseSucceeded)
	kc := newFakeClient(t, projectNamespace("ns1", "retail"), projectNamespace("ns2", "retail"),
		succeeded, failed, running, fresh, already, backup)
	a, err := New(Options{Client: kc, Store: db, Registerer: prometheus.NewRegistry(), ResyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	waitFor(t, "restores and the backup archived", func() bool {
		return restoreArchivedIn(t, kc, client.ObjectKeyFromObject(succeeded)) == "Succeeded" &&
			restoreArchivedIn(t, kc, client.ObjectKeyFromObject(failed)) == "Failed" &&
			restoreArchivedIn(t, kc, client.ObjectKeyFromObject(running)) == "InProgress" &&
			archivedCount(t, kc) == 1
	})
	names := queryStrings(t, db.DB(), `SELECT name || ':' || phase FROM restore_requests ORDER BY name`)
	if got := strings.Join(names, ","); got != "done:Succeeded,failed:Failed,running:InProgress" {
		t.Fatalf("restore rows %s", got)
	}
	if restoreArchivedIn(t, kc, client.ObjectKeyFromObject(fresh)) != "" {
		t.Fatal("a RestoreRequest without a phase was marked archived")
	}
	if p := rowPhase(t, db.DB(), "nightly"); p != "Succeeded" {
		t.Fatalf("backup row phase %q", p)
	}
}

// A restore record the database refuses gets Archived=False naming the field and no row.
func TestInvalidRestoreRecordIsRejectedClearly(t *testing.T) {
	db := newDB(t)
	bad := newRR("ns", "bad", backupv1.RestorePhaseFailed)
	bad.Status.Source.BackupID = strings.Repeat("x", 600) // longer than any backup id
	kc := newFakeClient(t, bad)
	reg := prometheus.NewRegistry()
	a, err := New(Options{Client: kc, Store: db, Registerer: reg, ResyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	var got backupv1.RestoreRequest
	c := waitNotArchived(t, kc, client.ObjectKeyFromObject(bad), &got, func() []metav1.Condition { return got.Status.Conditions })
	if c.Reason != ReasonInvalidRecord || !strings.Contains(c.Message, "phase Failed not recorded") ||
		!strings.Contains(c.Message, "invalid restore record: field backup_id") {
		t.Fatalf("condition %+v", c)
	}
	if r := restoreRow(t, db, bad.UID); r != nil {
		t.Fatalf("row written: %+v", r)
	}
	if f := counterValue(t, reg, "backup_archival_failures_total", map[string]string{"reason": "invalid"}); f != 1 {
		t.Fatalf("invalid failures %v, want 1", f)
	}
}

// A restore in a namespace that is gone, or has no valid project label, is still
// recorded, with no project.
func TestRestoreRecordWithoutProject(t *testing.T) {
	db := newDB(t)
	orphan := newRR("gone", "orphan", backupv1.RestorePhaseFailed)
	orphan.Status.Source = nil
	unlabelled := newRR("unlabelled", "nolabel", backupv1.RestorePhaseFailed)
	unlabelled.Status.Source = nil
	kc := newFakeClient(t, projectNamespace("unlabelled", "Not A Label"), orphan, unlabelled)
	a, err := New(Options{Client: kc, Store: db, Registerer: prometheus.NewRegistry(), ResyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	for _, rr := range []*backupv1.RestoreRequest{orphan, unlabelled} {
		waitFor(t, rr.Name+" archived", func() bool { return restoreArchivedIn(t, kc, client.ObjectKeyFromObject(rr)) == "Failed" })
		row := restoreRow(t, db, rr.UID)
		if row.ProjectID != "" || row.Environment != "" || row.BackupName != "nightly" || row.Reason != string(backupv1.ReasonTargetExists) {
			t.Fatalf("%s row %+v", rr.Name, row)
		}
	}
}

// CompletedRestore finds a finished restore of the same backup into the same targets:
// while it waits to be archived, then in the history; never the asking restore itself,
// never a different target.
func TestCompletedRestore(t *testing.T) {
	ctx := context.Background()
	if _, err := (*Archiver)(nil).CompletedRestore(ctx, database.RestoreKey{}); !errors.Is(err, ErrArchivalDisabled) {
		t.Fatalf("nil archiver: %v, want ErrArchivalDisabled", err)
	}
	db := newDB(t)
	done := newRR("proj-retail-prd", "first", backupv1.RestorePhaseSucceeded)
	again := newRR("proj-retail-prd", "again", backupv1.RestorePhasePending)
	again.Status.Source = done.Status.Source.DeepCopy() // resolved to the same backup
	kc := newFakeClient(t, projectNamespace("proj-retail-prd", "retail"), done, again)
	reg := prometheus.NewRegistry()
	a, err := New(Options{Client: kc, Store: db, Registerer: reg, ResyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	k := RestoreKeyFor(again)
	if k.ProjectID != "retail" || k.BackupID != testBackupID || k.TargetPrefix != "document_library/" || k.ExcludeUID != string(again.UID) {
		t.Fatalf("key %+v", k)
	}
	// Not started: the schema is not known to be migrated, but a finished restore
	// waiting in the queue already counts.
	if _, err := a.CompletedRestore(ctx, k); !errors.Is(err, ErrHistoryNotReady) {
		t.Fatalf("before migration: %v, want ErrHistoryNotReady", err)
	}
	a.EnqueueRestore(done)
	if r, err := a.CompletedRestore(ctx, k); err != nil || r == nil || r.UID != string(done.UID) || r.Phase != "Succeeded" {
		t.Fatalf("queued restore: %+v, %v", r, err)
	}
	if r, err := a.CompletedRestore(ctx, RestoreKeyFor(done)); !errors.Is(err, ErrHistoryNotReady) || r != nil {
		t.Fatalf("the restore itself matched: %+v, %v", r, err)
	}

	run(t, a)
	waitFor(t, "first restore archived", func() bool { return restoreArchivedIn(t, kc, client.ObjectKeyFromObject(done)) == "Succeeded" })
	waitFor(t, "the queue to drain", func() bool { return counterValue(t, reg, "backup_archival_pending", nil) == 0 })
	if r, err := a.CompletedRestore(ctx, k); err != nil || r == nil || r.UID != string(done.UID) || r.Name != "first" {
		t.Fatalf("archived restore: %+v, %v", r, err)
	}
	other := k
	other.TargetPrefix = "restored/"
	if r, err := a.CompletedRestore(ctx, other); err != nil || r != nil {
		t.Fatalf("another prefix: %+v, %v", r, err)
	}
	if _, err := a.CompletedRestore(ctx, database.RestoreKey{ProjectID: "retail", TargetBucket: "x"}); err == nil {
		t.Fatal("a key without a backup id was accepted")
	}
}

func TestRecordFromRestoreRequest(t *testing.T) {
	rr := newRR("ns", "r", backupv1.RestorePhasePending)
	rr.Spec = backupv1.RestoreRequestSpec{Source: backupv1.RestoreSource{Manifest: "s3://backups/retail/prd/x/manifest.json"},
		DocumentLibrary: &backupv1.DocumentLibraryRestoreSpec{TargetBucket: "dl", TargetPrefix: "restored"}}
	rr.Status.Message = strings.Repeat("é", 20000)
	r := RecordFromRestoreRequest(rr, time.Now())
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.ManifestLocation != "s3://backups/retail/prd/x/manifest.json" || r.BackupName != "" || r.ProjectID != "" ||
		r.TargetPrefix != "restored/" || r.ExistingObjects != "Refuse" || r.TargetInstanceID != "" || r.VerifyOnly {
		t.Fatalf("record %+v", r)
	}
	if len(r.Message) > 32768 || !strings.HasSuffix(r.Message, "[truncated]") {
		t.Fatalf("message not truncated: %d bytes", len(r.Message))
	}
	verify := newRR("ns", "v", backupv1.RestorePhaseFailed)
	verify.Spec = backupv1.RestoreRequestSpec{Source: verify.Spec.Source, VerifyOnly: true}
	verify.Status.Verification = &backupv1.VerificationStatus{ObjectsChecked: 10, ObjectsMissing: 1, ObjectsDifferent: 1}
	v := RecordFromRestoreRequest(verify, time.Now())
	if !v.VerifyOnly || v.ObjectsMissing != 1 || v.ObjectsDifferent != 1 || v.TargetBucket != "" || v.ExistingObjects != "" {
		t.Fatalf("verification record %+v", v)
	}
}
