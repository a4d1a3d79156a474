package database

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// restored returns a Succeeded restore of backup backupID of project into the
// instance and bucket/prefix given (empty: no such target), completed at completion.
func restored(name, project, backupID, instance, bucket, prefix string, completion time.Time) *RestoreRecord {
	start := completion.Add(-2 * time.Minute)
	r := &RestoreRecord{
		UID: newUID(), Namespace: "proj-" + project + "-prd", Name: name, ProjectID: project, Environment: "prd",
		BackupRequestUID: newUID(), BackupName: "nightly",
		Phase: "Succeeded", Reason: "Succeeded", Message: "restored",
		BackupID: backupID, ManifestLocation: "s3://backups/" + project + "/prd/nightly/manifest.json",
		ManifestChecksum: "sha256:feed", SnapshotID: "snap-nightly",
		TargetInstanceID: instance, TargetBucket: bucket, TargetPrefix: prefix,
		RequestedAt: start.Add(-time.Second), StartTime: tp(start), CompletionTime: tp(completion),
	}
	if instance != "" {
		r.TargetInstanceARN = "arn:aws:rds:us-east-1:123456789012:db:" + instance
	}
	if bucket != "" {
		r.ExistingObjects, r.ObjectsRestored, r.ObjectsSkipped, r.BytesRestored = "Skip", 7, 3, 7000
	}
	return r
}

func restoreRow(t *testing.T, c *Client, uid string) *RestoreRecord {
	t.Helper()
	r, err := c.GetRestoreRecordByUID(context.Background(), uid)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A restore is archived at every phase change over one row; once Succeeded or Failed
// the row is final, whatever arrives later (a replay, an out-of-order write).
func TestRestoreRowFollowsPhasesAndTerminalRowIsFinal(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, true)
	now := time.Now().UTC().Truncate(time.Microsecond)
	final := restored("r1", "retail", "proj-retail-prd-nightly-0123abcd", "retail-restored", "retail-dl", "document_library/", now)

	pending := *final
	pending.Phase, pending.Reason, pending.Message = "Pending", "WaitingForSlot", "waiting for a slot"
	pending.Environment, pending.BackupID, pending.ManifestLocation, pending.ManifestChecksum, pending.SnapshotID = "", "", "", "", ""
	pending.TargetInstanceARN, pending.ObjectsRestored, pending.ObjectsSkipped, pending.BytesRestored = "", 0, 0, 0
	pending.StartTime, pending.CompletionTime = nil, nil
	inProgress := *final
	inProgress.Phase, inProgress.Reason, inProgress.CompletionTime, inProgress.ObjectsRestored = "InProgress", "InProgress", nil, 2

	for i, step := range []struct {
		r           *RestoreRecord
		wantChanged bool
		wantPhase   string
	}{
		{&pending, true, "Pending"},
		{&pending, false, "Pending"}, // identical rewrite (a resync)
		{&inProgress, true, "InProgress"},
		{final, true, "Succeeded"},
		{final, false, "Succeeded"},
		{&inProgress, false, "Succeeded"}, // a late write of an earlier phase
		{&pending, false, "Succeeded"},
	} {
		changed, err := c.UpsertRestoreRecordChanged(ctx, step.r)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if changed != step.wantChanged {
			t.Errorf("step %d (%s): changed=%v, want %v", i, step.r.Phase, changed, step.wantChanged)
		}
		if got := restoreRow(t, c, final.UID); got.Phase != step.wantPhase {
			t.Fatalf("step %d: row in phase %s, want %s", i, got.Phase, step.wantPhase)
		}
	}
	// A Failed write after Succeeded does not change the outcome either.
	failed := *final
	failed.Phase, failed.Message = "Failed", "cancelled"
	if changed, err := c.UpsertRestoreRecordChanged(ctx, &failed); err != nil || changed {
		t.Fatalf("Failed over Succeeded: changed=%v, %v", changed, err)
	}
	if n := count(t, c, `SELECT count(*) FROM restore_requests`); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
	got := restoreRow(t, c, final.UID)
	if got.Phase != "Succeeded" || got.Message != "restored" || got.BackupID != final.BackupID || got.SnapshotID != "snap-nightly" ||
		got.TargetInstanceARN != final.TargetInstanceARN || got.TargetPrefix != "document_library/" || got.ExistingObjects != "Skip" ||
		got.ObjectsRestored != 7 || got.ObjectsSkipped != 3 || got.BytesRestored != 7000 || got.VerifyOnly ||
		got.BackupRequestUID != final.BackupRequestUID || got.Environment != "prd" || !got.CompletionTime.Equal(now) {
		t.Fatalf("stored row %+v", got)
	}
	if got.DurationSeconds == nil || *got.DurationSeconds != 120 {
		t.Errorf("duration_seconds = %v, want 120", got.DurationSeconds)
	}
}

// A Failed row is final too, and a verification's counters round-trip.
func TestFailedVerificationRowIsFinal(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, true)
	now := time.Now().UTC()
	r := restored("verify", "retail", "b-1", "", "", "", now)
	r.VerifyOnly, r.Phase, r.Reason, r.ObjectsMissing, r.ObjectsDifferent = true, "Failed", "BackupIncomplete", 1, 2
	if err := c.UpsertRestoreRecord(ctx, r); err != nil {
		t.Fatal(err)
	}
	again := *r
	again.Phase, again.CompletionTime, again.ObjectsMissing = "InProgress", nil, 0
	if err := c.UpsertRestoreRecord(ctx, &again); err != nil {
		t.Fatal(err)
	}
	// An intact backup's verification records 0 missing and 0 different, not unknown.
	intact := restored("intact", "retail", "b-1", "", "", "", now)
	intact.VerifyOnly = true
	if err := c.UpsertRestoreRecord(ctx, intact); err != nil {
		t.Fatal(err)
	}
	if n := count(t, c, `SELECT count(*) FROM restore_requests WHERE uid = $1 AND objects_missing = 0 AND objects_different = 0 AND objects_restored IS NULL`, intact.UID); n != 1 {
		t.Errorf("an intact verification's counts are not stored as 0")
	}
	got := restoreRow(t, c, r.UID)
	if got.Phase != "Failed" || !got.VerifyOnly || got.ObjectsMissing != 1 || got.ObjectsDifferent != 2 ||
		got.TargetBucket != "" || got.TargetInstanceID != "" || got.ExistingObjects != "" {
		t.Fatalf("stored row %+v", got)
	}
}

func TestFindCompletedRestore(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, true)
	now := time.Now().UTC().Truncate(time.Microsecond)
	const backup = "proj-retail-prd-nightly-0123abcd"
	older := restored("older", "retail", backup, "retail-restored", "retail-dl", "document_library/", now.Add(-2*time.Hour))
	newest := restored("newest", "retail", backup, "retail-restored", "retail-dl", "document_library/", now.Add(-time.Hour))
	filesOnly := restored("files-only", "retail", backup, "", "retail-dl", "", now.Add(-time.Hour))
	dbOnly := restored("db-only", "retail", backup, "retail-db-2", "", "", now.Add(-time.Hour))
	verification := restored("verification", "retail", backup, "", "", "", now)
	verification.VerifyOnly = true
	failed := restored("failed", "retail", backup, "retail-db-3", "", "", now)
	failed.Phase = "Failed"
	running := restored("running", "retail", backup, "retail-db-4", "", "", now)
	running.Phase, running.CompletionTime = "InProgress", nil
	otherProject := restored("other", "beta", backup, "retail-db-5", "", "", now)
	for _, r := range []*RestoreRecord{older, newest, filesOnly, dbOnly, verification, failed, running, otherProject} {
		if err := c.UpsertRestoreRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	key := func(instance, bucket, prefix string) RestoreKey {
		return RestoreKey{ProjectID: "retail", BackupID: backup, TargetInstanceID: instance, TargetBucket: bucket, TargetPrefix: prefix}
	}
	cases := []struct {
		name string
		key  RestoreKey
		want *RestoreRecord // nil: none
	}{
		{"same backup and targets: the newest", key("retail-restored", "retail-dl", "document_library/"), newest},
		{"the newest excluded: the older one", func() RestoreKey {
			k := key("retail-restored", "retail-dl", "document_library/")
			k.ExcludeUID = newest.UID
			return k
		}(), older},
		{"files only, bucket root", key("", "retail-dl", ""), filesOnly},
		{"database only", key("retail-db-2", "", ""), dbOnly},
		{"another prefix", key("retail-restored", "retail-dl", "restored/"), nil},
		{"database target alone differs from database+files", key("retail-restored", "", ""), nil},
		{"files target alone differs from database+files", key("", "retail-dl", "document_library/"), nil},
		{"a failed restore does not count", key("retail-db-3", "", ""), nil},
		{"a running restore does not count", key("retail-db-4", "", ""), nil},
		{"another project's restore does not count", key("retail-db-5", "", ""), nil},
		{"another backup", RestoreKey{ProjectID: "retail", BackupID: "other-backup", TargetInstanceID: "retail-restored"}, nil},
	}
	for _, tc := range cases {
		got, err := c.FindCompletedRestore(ctx, tc.key)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		switch {
		case tc.want == nil && got != nil:
			t.Errorf("%s: found %s, want none", tc.name, got.Name)
		case tc.want != nil && got == nil:
			t.Errorf("%s: found none, want %s", tc.name, tc.want.Name)
		case tc.want != nil && (got.UID != tc.want.UID || got.Phase != "Succeeded" || !got.CompletionTime.Equal(*tc.want.CompletionTime)):
			t.Errorf("%s: found %s (%s, %v), want %s", tc.name, got.Name, got.Phase, got.CompletionTime, tc.want.Name)
		}
	}
	// A verification of the same backup is never a completed restore, even one matching
	// no target at all: the key needs a target.
	if _, err := c.FindCompletedRestore(ctx, key("", "", "")); err == nil {
		t.Error("a key without any target was accepted")
	}
}

func TestInvalidRestoreValuesGiveClearErrorAndNoRow(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, true)
	now := time.Now().UTC()
	cases := []struct {
		field  string
		mutate func(r *RestoreRecord)
	}{
		{"uid", func(r *RestoreRecord) { r.UID = "not-a-uid" }},
		{"namespace", func(r *RestoreRecord) { r.Namespace = "" }},
		{"name", func(r *RestoreRecord) { r.Name = "Has Spaces" }},
		{"project_id", func(r *RestoreRecord) { r.ProjectID = "UPPER" }},
		{"backup_request_uid", func(r *RestoreRecord) { r.BackupRequestUID = "nope" }},
		{"phase", func(r *RestoreRecord) { r.Phase = "Expired" }},
		{"message", func(r *RestoreRecord) { r.Message = strings.Repeat("m", 40000) }},
		{"backup_id", func(r *RestoreRecord) { r.BackupID = strings.Repeat("b", 600) }},
		{"target_instance_id", func(r *RestoreRecord) { r.TargetInstanceID = strings.Repeat("i", 261) }},
		{"target_prefix", func(r *RestoreRecord) { r.TargetPrefix = "bad\x00prefix/" }},
		{"existing_objects", func(r *RestoreRecord) { r.ExistingObjects = "Merge" }},
		{"bytes_restored", func(r *RestoreRecord) { r.BytesRestored = -1 }},
		{"objects_missing", func(r *RestoreRecord) { r.ObjectsMissing = -3 }},
		{"requested_at", func(r *RestoreRecord) { r.RequestedAt = time.Time{} }},
		{"completion_time", func(r *RestoreRecord) { r.CompletionTime = tp(r.StartTime.Add(-time.Minute)) }},
	}
	for _, tc := range cases {
		r := restored("bad", "retail", "b", "retail-db", "retail-dl", "", now)
		tc.mutate(r)
		err := c.UpsertRestoreRecord(ctx, r)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%s: got %v, want a ValidationError naming %s", tc.field, err, tc.field)
			continue
		}
		if !strings.Contains(err.Error(), "invalid restore record: field "+tc.field) || len(err.Error()) > 300 || IsRetryable(err) {
			t.Errorf("%s: unclear, huge or retryable error %q", tc.field, err)
		}
	}
	if err := c.UpsertRestoreRecord(ctx, nil); err == nil {
		t.Error("nil record accepted")
	}
	if n := count(t, c, `SELECT count(*) FROM restore_requests`); n != 0 {
		t.Fatalf("%d rows written by invalid upserts", n)
	}
	for _, k := range []RestoreKey{
		{BackupID: "b", TargetBucket: "x"},
		{ProjectID: "p", TargetBucket: "x"},
		{ProjectID: "p", BackupID: "b", TargetBucket: "x", ExcludeUID: "nope"},
	} {
		var ve *ValidationError
		if _, err := c.FindCompletedRestore(ctx, k); !errors.As(err, &ve) || !strings.Contains(err.Error(), "invalid restore key") {
			t.Errorf("key %+v: got %v, want a restore key ValidationError", k, err)
		}
	}
	// The schema refuses what validation refuses.
	if _, err := c.DB().Exec(`INSERT INTO restore_requests (uid, namespace, name, phase, requested_at, existing_objects)
		VALUES ('33333333-3333-4333-8333-333333333333', 'ns', 'x', 'Succeeded', now(), 'Merge')`); err == nil ||
		!strings.Contains(err.Error(), "check constraint") {
		t.Fatalf("unknown existing_objects policy accepted by schema: %v", err)
	}
	if _, err := c.DB().Exec(`INSERT INTO restore_requests (uid, namespace, name, phase, requested_at)
		VALUES ('33333333-3333-4333-8333-333333333334', 'ns', 'x', 'Expired', now())`); err == nil {
		t.Fatal("phase Expired accepted for a restore by schema")
	}
}

// A history database created before restores were real (migration 1 only, with a
// restore row in the old shape) migrates in place: the row stays, its new columns
// are empty, and the design note's views still answer.
func TestMigrationFromVersion1KeepsRestoreRows(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, false)
	migs, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) < 2 || migs[0].Version != 1 || migs[1].Name != "0002_restores" {
		t.Fatalf("migrations %v", migs)
	}
	// Version 1 exactly as a controller of that release left it.
	migrateByHand(t, c, migs[:1])
	const oldUID = "44444444-4444-4444-8444-444444444444"
	if _, err := c.DB().Exec(`INSERT INTO restore_requests (uid, namespace, name, project_id, environment, backup_name, phase,
		requested_at, start_time, completion_time) VALUES ($1, 'proj-retail-prd', 'old', 'retail', 'prd', 'nightly', 'Succeeded',
		now() - interval '1 hour', now() - interval '1 hour', now())`, oldUID); err != nil {
		t.Fatal(err)
	}
	insertV1Backup(t, c, "44444444-4444-4444-8444-444444444445", "proj-retail-prd", "nightly", "retail", "prd", 5000)

	if err := c.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := c.SchemaVersion(ctx); err != nil || v != migs[len(migs)-1].Version {
		t.Fatalf("schema version %d, %v", v, err)
	}
	old := restoreRow(t, c, oldUID)
	if old.Phase != "Succeeded" || old.BackupName != "nightly" || old.VerifyOnly || old.BackupID != "" || old.DurationSeconds == nil {
		t.Fatalf("old restore row after migration: %+v", old)
	}
	var recent, projects int
	if err := c.DB().QueryRow(`SELECT (SELECT count(*) FROM recent_successful_backups), (SELECT count(*) FROM backup_summary_by_project)`).
		Scan(&recent, &projects); err != nil || recent != 1 || projects != 1 {
		t.Fatalf("views after migration: %d recent backups, %d projects, %v", recent, projects, err)
	}
	// The old row has no backup_id, so it never blocks a restore.
	if r, err := c.FindCompletedRestore(ctx, RestoreKey{ProjectID: "retail", BackupID: "anything", TargetInstanceID: "x"}); err != nil || r != nil {
		t.Fatalf("FindCompletedRestore over an old row: %v, %v", r, err)
	}
}
