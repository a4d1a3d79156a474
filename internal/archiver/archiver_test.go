package archiver

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// 50 backups finish while PostgreSQL is stopped; once it is back every one is in
// the history exactly once and carries Archived=True.
func TestBackupsFinishingWhilePostgresIsStoppedAllArriveOnce(t *testing.T) {
	if testPG.Port == 0 {
		t.Skip("TEST_DATABASE_URL set: cannot stop an external server")
	}
	ctx := context.Background()
	db := newDB(t)
	store := newCountingStore(db)
	kc := newFakeClient(t)
	archiverClient, resyncs := countLists(kc)
	reg := prometheus.NewRegistry()
	a, err := New(Options{Client: archiverClient, Store: store, Registerer: reg, Workers: 4, QueueSize: 64,
		ResyncInterval: time.Second, InitialBackoff: 20 * time.Millisecond, MaxBackoff: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	// Warm up: the archiver has migrated and archived once before the outage.
	warm := newBR("warmup", "warm", backupv1.PhaseSucceeded)
	warm.Spec.ProjectID = "warmup"
	if err := kc.Create(ctx, warm); err != nil {
		t.Fatal(err)
	}
	a.Enqueue(warm)
	waitFor(t, "warm-up archived", func() bool { return archivedCount(t, kc) == 1 })

	if err := testPG.StopServer(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			if err := testPG.StartServer(ctx); err != nil {
				t.Errorf("restart PostgreSQL after the test: %v", err)
			}
		}
	})
	const n = 50
	var uids []string
	for i := range n {
		phase := backupv1.PhaseSucceeded
		if i%5 == 0 {
			phase = backupv1.PhaseFailed
		}
		br := newBR("proj-retail-prd", fmt.Sprintf("backup-%02d", i), phase)
		if err := kc.Create(ctx, br.DeepCopy()); err != nil {
			t.Fatal(err)
		}
		var stored backupv1.BackupRequest
		if err := kc.Get(ctx, client.ObjectKeyFromObject(br), &stored); err != nil {
			t.Fatal(err)
		}
		stored.Status = br.Status
		if err := kc.Status().Update(ctx, &stored); err != nil {
			t.Fatal(err)
		}
		uids = append(uids, string(stored.UID))
		a.Enqueue(&stored) // what the reconciler does on the terminal transition
	}
	// Every backup is tried against the stopped server and retried, and then whole
	// resyncs run: the hooks say when, so no machine is too slow for a fixed pause.
	waitFor(t, "every backup tried twice against the stopped server", func() bool {
		for _, uid := range uids {
			if store.failures(uid) < 2 {
				return false
			}
		}
		return true
	})
	// Lists started, so the first resync below started after every backup failed
	// twice, and it has finished once the one after it starts.
	after := resyncs.Load()
	waitFor(t, "two resyncs with PostgreSQL down", func() bool { return resyncs.Load() >= after+2 })
	if got := archivedCount(t, kc) - 1; got != 0 {
		t.Fatalf("%d backups marked Archived while PostgreSQL was down", got)
	}
	if f := counterValue(t, reg, "backup_archival_failures_total", map[string]string{"reason": "connection"}); f == 0 {
		t.Fatal("no connection failures counted while PostgreSQL was down")
	}
	if p := counterValue(t, reg, "backup_archival_pending", nil); p != n {
		t.Errorf("pending gauge %v while down, want %d", p, n)
	}

	if err := testPG.StartServer(ctx); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitFor(t, "all backups archived", func() bool { return archivedCount(t, kc) == n+1 })

	var rows, distinct, failed int
	if err := db.DB().QueryRow(`SELECT count(*), count(DISTINCT uid), count(*) FILTER (WHERE phase = 'Failed') FROM backup_requests WHERE project_id = 'retail'`).
		Scan(&rows, &distinct, &failed); err != nil {
		t.Fatal(err)
	}
	if rows != n || distinct != n || failed != n/5 {
		t.Fatalf("history has %d rows, %d distinct, %d failed; want %d, %d, %d", rows, distinct, failed, n, n, n/5)
	}
	m, err := db.GetProjectMetrics(ctx, "retail", "prd")
	if err != nil || m.TotalBackups != n || m.SucceededBackups != n-n/5 || m.FailedBackups != n/5 {
		t.Fatalf("metrics %+v, %v", m, err)
	}
	waitFor(t, "pending gauge to drain", func() bool {
		return counterValue(t, reg, "backup_archival_pending", nil) == 0
	})
	if c := counterValue(t, reg, "backup_archival_lag_seconds", nil); c < n+1 {
		t.Errorf("lag histogram has %v samples, want >= %d", c, n)
	}
}

// At start every terminal BackupRequest lacking Archived=True is archived (the
// controller restarted, or Enqueue was never called); others are left alone.
func TestStartArchivesWhatWasMissed(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	done := newBR("ns1", "done", backupv1.PhaseSucceeded)
	failed := newBR("ns1", "failed", backupv1.PhaseFailed)
	expired := newBR("ns2", "expired", backupv1.PhaseExpired)
	running := newBR("ns1", "running", backupv1.PhaseInProgress)
	already := newBR("ns2", "already", backupv1.PhaseSucceeded)
	meta.SetStatusCondition(&already.Status.Conditions, metav1.Condition{Type: ConditionArchived, Status: metav1.ConditionTrue,
		Reason: ReasonRecorded, Message: recordedMessage(string(backupv1.PhaseSucceeded))})
	already.Status.ArchivedPhase = backupv1.PhaseSucceeded
	kc := newFakeClient(t, done, failed, expired, running, already)
	a, err := New(Options{Client: kc, Store: db, Registerer: prometheus.NewRegistry(), ResyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	waitFor(t, "three archived + one pre-archived", func() bool { return archivedCount(t, kc) == 4 })
	names := queryStrings(t, db.DB(), `SELECT name || ':' || phase FROM backup_requests ORDER BY name`)
	if got := strings.Join(names, ","); got != "done:Succeeded,expired:Expired,failed:Failed" {
		t.Fatalf("history rows %s", got)
	}
	var got backupv1.BackupRequest
	if err := kc.Get(ctx, client.ObjectKeyFromObject(done), &got); err != nil {
		t.Fatal(err)
	}
	c := meta.FindStatusCondition(got.Status.Conditions, ConditionArchived)
	if c == nil || c.Reason != ReasonRecorded || meta.FindStatusCondition(got.Status.Conditions, "Ready") == nil {
		t.Fatalf("conditions after archival: %+v", got.Status.Conditions)
	}
}

// A later phase (Succeeded, then Expired) is archived again over the same row.
func TestPhaseChangeUpdatesTheSameRow(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	br := newBR("ns", "b", backupv1.PhaseSucceeded)
	kc := newFakeClient(t, br)
	a, err := New(Options{Client: kc, Store: db, Registerer: prometheus.NewRegistry(), ResyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	waitFor(t, "archived", func() bool { return archivedCount(t, kc) == 1 })
	var cur backupv1.BackupRequest
	if err := kc.Get(ctx, client.ObjectKeyFromObject(br), &cur); err != nil {
		t.Fatal(err)
	}
	cur.Status.Phase = backupv1.PhaseExpired
	if err := kc.Status().Update(ctx, &cur); err != nil {
		t.Fatal(err)
	}
	if IsArchived(&cur) {
		t.Fatal("IsArchived true for a phase not recorded yet")
	}
	a.Enqueue(&cur)
	waitFor(t, "expired archived", func() bool { return archivedCount(t, kc) == 1 && rowPhase(t, db.DB(), "b") == "Expired" })
	if n := rowCount(t, db.DB()); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
	// Retention's removal is recorded: the row is marked for deletion and deleted.
	rec, err := db.GetBackupRecord(ctx, "ns", "b")
	if err != nil {
		t.Fatal(err)
	}
	if rec.MarkedForDeletionAt == nil || rec.DeletedAt == nil {
		t.Fatalf("expired backup not marked in history: marked %v deleted %v", rec.MarkedForDeletionAt, rec.DeletedAt)
	}
}

// A record the database refuses gets Archived=False naming the field, no row,
// and is not retried by resyncs.
func TestInvalidRecordIsRejectedClearly(t *testing.T) {
	db := newDB(t)
	store := newCountingStore(db)
	bad := newBR("ns", "bad", backupv1.PhaseSucceeded)
	bad.Spec.ProjectID = strings.Repeat("x", 200) // the CRD forbids it; a fake client does not
	kc := newFakeClient(t, bad)
	archiverClient, resyncs := countLists(kc)
	reg := prometheus.NewRegistry()
	a, err := New(Options{Client: archiverClient, Store: store, Registerer: reg, ResyncInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	var got backupv1.BackupRequest
	c := waitNotArchived(t, kc, client.ObjectKeyFromObject(bad), &got, func() []metav1.Condition { return got.Status.Conditions })
	if c.Reason != ReasonInvalidRecord || !strings.Contains(c.Message, "field project_id") {
		t.Fatalf("condition %+v", c)
	}
	if got.Status.ArchivedPhase != backupv1.PhaseSucceeded {
		t.Fatalf("archivedPhase %q beside the rejection, want Succeeded", got.Status.ArchivedPhase)
	}
	// Three whole resyncs see the rejection (the fourth List starts after the third
	// resync queued what it wanted), and the archiver finishes whatever they queued.
	after := resyncs.Load()
	waitFor(t, "three resyncs after the rejection", func() bool { return resyncs.Load() >= after+4 })
	waitFor(t, "the archiver to be idle", func() bool { return counterValue(t, reg, "backup_archival_pending", nil) == 0 })
	if f := counterValue(t, reg, "backup_archival_failures_total", map[string]string{"reason": "invalid"}); f != 1 {
		t.Fatalf("invalid failures %v, want 1 (resync must not retry a rejected record)", f)
	}
	if n := store.attempts(string(bad.UID)); n != 1 {
		t.Fatalf("the rejected record was written %d times, want 1", n)
	}
	if n := rowCount(t, db.DB()); n != 0 {
		t.Fatalf("%d rows written", n)
	}
}

// Enqueue never blocks and never grows past the queue size, even while every worker
// is stuck in the database.
func TestEnqueueIsBoundedAndNonBlocking(t *testing.T) {
	kc := newFakeClient(t)
	reg := prometheus.NewRegistry()
	store := newStuckStore()
	a, err := New(Options{Client: kc, Store: store, Registerer: reg, QueueSize: 5, Workers: 2, SkipMigrate: true, ResyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	a.Enqueue(newBR("ns", "stuck-1", backupv1.PhaseSucceeded))
	a.Enqueue(newBR("ns", "stuck-2", backupv1.PhaseSucceeded))
	for range 2 {
		select {
		case <-store.entered:
		case <-time.After(patience):
			t.Fatal("the workers never reached the database")
		}
	}
	// Both workers now wait on a database that never answers: an Enqueue that waited
	// for archival (or for room in the queue) would never return.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			a.Enqueue(newBR("ns", fmt.Sprintf("b%d", i), backupv1.PhaseSucceeded))
		}
		a.Enqueue(newBR("ns", "pending", backupv1.PhasePending)) // not terminal: ignored
	}()
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatal("Enqueue blocked while the workers were stuck in the database")
	}
	if p := counterValue(t, reg, "backup_archival_pending", nil); p != 5 {
		t.Fatalf("pending %v, want 5", p)
	}
	var disabled *Archiver
	disabled.Enqueue(newBR("ns", "x", backupv1.PhaseSucceeded)) // archival off: no-op, no panic
}

func TestRecordFromBackupRequest(t *testing.T) {
	br := newBR("ns", "b", backupv1.PhaseSucceeded)
	br.Status.Message = strings.Repeat("é", 20000) // 40000 bytes
	r := RecordFromBackupRequest(br, time.Now())
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.UID != string(br.UID) || r.ProjectID != "retail" || r.DBSnapshotID != "snap-b" || r.DLObjectCount != 3 ||
		r.ManifestChecksum != "sha256:00" || r.Reason != "BackupSucceeded" || r.RetentionDays != 30 || r.DBBackupType != "snapshot" {
		t.Fatalf("record %+v", r)
	}
	if len(r.Message) > 32768 || !strings.HasSuffix(r.Message, "[truncated]") {
		t.Fatalf("message not truncated: %d bytes", len(r.Message))
	}
}

// newIncrementalBR returns a Succeeded Incremental BackupRequest: 3 objects (30 bytes),
// 1 copied (5 bytes) and 2 referenced (25 bytes), point-in-time at pit.
func newIncrementalBR(ns, name string, pit time.Time) *backupv1.BackupRequest {
	br := newBR(ns, name, backupv1.PhaseSucceeded)
	br.Spec.DocumentLibrary.Mode = backupv1.ModeIncremental
	br.Status.DocumentLibrary = &backupv1.DocumentLibraryBackupStatus{ObjectsTotal: 3, TotalSizeBytes: 30,
		Mode: backupv1.ModeIncremental, ObjectsCopied: 1, ObjectsReferenced: 2, BytesCopied: 5, BytesReferenced: 25,
		Repository: "s3://dst/retail/.repository/prd/", Consistency: backupv1.ConsistencyPointInTime,
		PointInTime: &metav1.Time{Time: pit}}
	return br
}

// An Incremental backup reaches the history with its mode, copied/referenced split,
// repository, consistency and point in time; a Full one with its mode and
// consistency only (its copy counters are not a split); a database-only one with no
// mode.
func TestIncrementalAndFullBackupsArchived(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	pit := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	inc := newIncrementalBR("ns", "inc", pit)
	full := newBR("ns", "full", backupv1.PhaseSucceeded)
	full.Status.DocumentLibrary.ObjectsCopied, full.Status.DocumentLibrary.ObjectsSkipped = 2, 1 // a resumed copy
	full.Status.DocumentLibrary.BytesCopied, full.Status.DocumentLibrary.Consistency = 20, backupv1.ConsistencyLive
	dbOnly := newBR("ns", "dbonly", backupv1.PhaseSucceeded)
	dbOnly.Spec.DocumentLibrary, dbOnly.Status.DocumentLibrary = nil, nil
	kc := newFakeClient(t, inc, full, dbOnly)
	a, err := New(Options{Client: kc, Store: db, Registerer: prometheus.NewRegistry(), ResyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	waitFor(t, "three archived", func() bool { return archivedCount(t, kc) == 3 })

	got, err := db.GetBackupRecord(ctx, "ns", "inc")
	if err != nil {
		t.Fatal(err)
	}
	if got.DLMode != "Incremental" || got.DLObjectCount != 3 || got.DLTotalBytes != 30 || got.DLObjectsCopied != 1 ||
		got.DLObjectsReferenced != 2 || got.DLBytesCopied != 5 || got.DLBytesReferenced != 25 ||
		got.DLRepository != "s3://dst/retail/.repository/prd/" || got.DLConsistency != "PointInTime" ||
		got.DLPointInTime == nil || !got.DLPointInTime.Equal(pit) {
		t.Fatalf("incremental record %+v (point in time %v)", got, got.DLPointInTime)
	}
	if got, err = db.GetBackupRecord(ctx, "ns", "full"); err != nil {
		t.Fatal(err)
	}
	if got.DLMode != "Full" || got.DLObjectCount != 3 || got.DLTotalBytes != 30 || got.DLObjectsCopied != 0 || got.DLBytesCopied != 0 ||
		got.DLRepository != "" || got.DLConsistency != "Live" || got.DLPointInTime != nil {
		t.Fatalf("full record %+v", got)
	}
	nulls := queryStrings(t, db.DB(), `SELECT name || ':' || COALESCE(dl_mode, 'NULL') || ':' ||
		(dl_objects_copied IS NULL AND dl_bytes_copied IS NULL AND dl_objects_referenced IS NULL AND dl_bytes_referenced IS NULL)::text
		FROM backup_requests ORDER BY name`)
	if got := strings.Join(nulls, ","); got != "dbonly:NULL:true,full:Full:true,inc:Incremental:false" {
		t.Fatalf("rows %s", got)
	}
	m, err := db.GetProjectMetrics(ctx, "retail", "prd")
	if err != nil {
		t.Fatal(err)
	}
	// Stored: what the Incremental backup copied plus the Full backup's size.
	if m.TotalDLBytes != 5+30 || m.TotalDLBytesReferenced != 25 {
		t.Fatalf("metrics %+v", m)
	}
}

// An Incremental status whose split exceeds the backup's objects is refused naming
// the field, like any record the database cannot store.
func TestIncrementalRecordWithInconsistentSplitIsRejected(t *testing.T) {
	db := newDB(t)
	bad := newIncrementalBR("ns", "bad", time.Now())
	bad.Status.DocumentLibrary.ObjectsReferenced = 5
	kc := newFakeClient(t, bad)
	a, err := New(Options{Client: kc, Store: db, Registerer: prometheus.NewRegistry(), ResyncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	var got backupv1.BackupRequest
	c := waitNotArchived(t, kc, client.ObjectKeyFromObject(bad), &got, func() []metav1.Condition { return got.Status.Conditions })
	if c.Reason != ReasonInvalidRecord ||
		!strings.Contains(c.Message, "field dl_objects_copied") {
		t.Fatalf("condition %+v", c)
	}
	if n := rowCount(t, db.DB()); n != 0 {
		t.Fatalf("%d rows written", n)
	}
}

// A verified dump fills the dump columns; one still running fills none.
func TestRecordFromBackupRequestDump(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	br := newBR("ns", "d", backupv1.PhaseSucceeded)
	br.Spec.Database = &backupv1.DatabaseBackupSpec{Type: backupv1.DatabaseBackupDump,
		Dump: &backupv1.DatabaseDumpSpec{ConnectionSecretRef: &backupv1.SecretReference{Name: "db"}}}
	start, end := metav1.NewTime(now.Add(-time.Minute)), metav1.NewTime(now)
	br.Status.Database = &backupv1.DatabaseBackupStatus{Engine: "postgres", EngineVersion: "15.18", Dump: &backupv1.DatabaseDumpStatus{
		JobName: "lc2-dump-x", Location: "s3://b/p/database/dump.pgdump", SizeBytes: 2048, SHA256: strings.Repeat("ab", 32),
		Engine: "postgres", ServerVersion: "15.18", Tool: "pg_dump 15.18", StartTime: &start}}
	if r := RecordFromBackupRequest(br, now); r.DBDumpLocation != "" || r.DBDumpSHA256 != "" {
		t.Fatalf("a running dump is recorded: %+v", r)
	}
	br.Status.Database.Dump.CompletionTime = &end
	r := RecordFromBackupRequest(br, now)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.DBBackupType != "dump" || r.DBDumpLocation != "s3://b/p/database/dump.pgdump" || r.DBDumpSizeBytes != 2048 ||
		r.DBDumpSHA256 != strings.Repeat("ab", 32) || r.DBDumpTool != "pg_dump 15.18" || r.DBDumpServerVersion != "15.18" ||
		!r.DBDumpStartTime.Equal(start.Time) || !r.DBDumpCompletionTime.Equal(end.Time) {
		t.Fatalf("dump columns: %+v", r)
	}
}

func TestRecordFromBackupRequestModes(t *testing.T) {
	now := time.Now()
	// The spec's mode until the status has one; Full when neither says (the CRD's default).
	br := newBR("ns", "p", backupv1.PhaseFailed)
	br.Status.DocumentLibrary = nil
	if r := RecordFromBackupRequest(br, now); r.DLMode != "Full" {
		t.Fatalf("defaulted mode %q", r.DLMode)
	}
	br.Spec.DocumentLibrary.Mode = backupv1.ModeIncremental
	if r := RecordFromBackupRequest(br, now); r.DLMode != "Incremental" || r.DLObjectsCopied != 0 {
		t.Fatalf("spec mode: %+v", r)
	}
	// Without objectsTotal and totalSizeBytes (a copy that failed early), an Incremental
	// backup holds what it copied and what it referenced.
	inc := newIncrementalBR("ns", "i", now)
	inc.Spec.DocumentLibrary.Mode = "" // the status says
	inc.Status.DocumentLibrary.ObjectsTotal, inc.Status.DocumentLibrary.TotalSizeBytes = 0, 0
	r := RecordFromBackupRequest(inc, now)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.DLMode != "Incremental" || r.DLObjectCount != 3 || r.DLTotalBytes != 30 || r.DLObjectsReferenced != 2 || r.DLBytesCopied != 5 {
		t.Fatalf("incremental fallback: %+v", r)
	}
	// A Full backup's copy counters are not a split: only its totals are recorded.
	full := newBR("ns", "f", backupv1.PhaseSucceeded)
	full.Status.DocumentLibrary = &backupv1.DocumentLibraryBackupStatus{ObjectsCopied: 2, ObjectsSkipped: 1, BytesCopied: 20,
		Mode: backupv1.ModeFull}
	r = RecordFromBackupRequest(full, now)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.DLMode != "Full" || r.DLObjectCount != 3 || r.DLTotalBytes != 20 || r.DLObjectsCopied != 0 || r.DLBytesCopied != 0 {
		t.Fatalf("full: %+v", r)
	}
	// A database-only backup has no mode.
	dbOnly := newBR("ns", "d", backupv1.PhaseSucceeded)
	dbOnly.Spec.DocumentLibrary, dbOnly.Status.DocumentLibrary = nil, nil
	if r := RecordFromBackupRequest(dbOnly, now); r.DLMode != "" {
		t.Fatalf("database-only mode %q", r.DLMode)
	}
}
