package database

import (
	"context"
	"strings"
	"testing"
	"time"
)

// dumped makes r a verified dump backup of 4096 bytes taken in the minute before end.
func dumped(r *BackupRecord, end time.Time) *BackupRecord {
	r.DBBackupType, r.DBSnapshotID, r.DBSizeBytes = "dump", "", 0
	r.DBEngine, r.DBEngineVersion = "postgres", "15.18"
	r.DBDumpLocation = "s3://dst-bucket/" + r.ProjectID + "/" + r.Environment + "/" + r.Name + "/database/dump.pgdump"
	r.DBDumpSizeBytes, r.DBDumpSHA256 = 4096, strings.Repeat("0f", 32)
	r.DBDumpServerVersion, r.DBDumpTool = "15.18", "pg_dump 15.18"
	r.DBDumpStartTime, r.DBDumpCompletionTime = tp(end.Add(-time.Minute)), tp(end)
	return r
}

// A dump backup's record comes back with every column of migration 0004, and its
// duration is the database's arithmetic; a snapshot backup leaves them NULL.
func TestDumpRecordRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, true)
	now := time.Now().UTC().Truncate(time.Microsecond)
	r := dumped(succeeded("proj-retail-prd", "dump1", "retail", "prd", now), now)
	upsertRepeatedly(t, c, r, 2)
	got, err := c.GetBackupRecordByUID(ctx, r.UID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DBBackupType != "dump" || got.DBDumpLocation != r.DBDumpLocation || got.DBDumpSizeBytes != 4096 || got.DBDumpSHA256 != r.DBDumpSHA256 ||
		got.DBDumpServerVersion != "15.18" || got.DBDumpTool != "pg_dump 15.18" ||
		got.DBDumpStartTime == nil || !got.DBDumpStartTime.Equal(*r.DBDumpStartTime) ||
		got.DBDumpCompletionTime == nil || !got.DBDumpCompletionTime.Equal(now) {
		t.Fatalf("round trip: %+v", got)
	}
	if n := count(t, c, `SELECT db_dump_duration_seconds::bigint FROM backup_requests WHERE name = 'dump1'`); n != 60 {
		t.Fatalf("db_dump_duration_seconds = %d, want 60", n)
	}
	snap := succeeded("proj-retail-prd", "snap1", "retail", "prd", now)
	if err := c.UpsertBackupRecord(ctx, snap); err != nil {
		t.Fatal(err)
	}
	if n := count(t, c, `SELECT count(*) FROM backup_requests WHERE name = 'snap1' AND db_dump_location IS NULL
		AND db_dump_size_bytes IS NULL AND db_dump_sha256 IS NULL AND db_dump_completion_time IS NULL`); n != 1 {
		t.Fatal("a snapshot backup has dump columns")
	}
}

// A dump on a snapshot backup, a SHA-256 that is not one, or a dump without its end is
// refused by the client naming the column, and by the schema.
func TestBadDumpRowsAreRefused(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, true)
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, bad := range []struct {
		name, field string
		mutate      func(*BackupRecord)
	}{
		{"snapshot", "db_dump_location", func(r *BackupRecord) { r.DBBackupType = "snapshot" }},
		{"sha", "db_dump_sha256", func(r *BackupRecord) { r.DBDumpSHA256 = "sha256:" + strings.Repeat("0f", 32) }},
		{"end", "db_dump_location", func(r *BackupRecord) { r.DBDumpCompletionTime = nil }},
		{"order", "db_dump_completion_time", func(r *BackupRecord) { r.DBDumpStartTime = tp(now.Add(time.Minute)) }},
	} {
		r := dumped(succeeded("ns", "bad-"+bad.name, "retail", "prd", now), now)
		bad.mutate(r)
		if err := c.UpsertBackupRecord(ctx, r); err == nil || !strings.Contains(err.Error(), bad.field) {
			t.Errorf("%s: %v, want an error naming %s", bad.name, err, bad.field)
		}
	}
	const cols = `uid, namespace, name, project_id, environment, provider, phase, requested_at`
	const vals = `'66666666-6666-4666-8666-666666666666', 'ns', 'x', 'p', 'e', 'aws', 'Succeeded', now()`
	for what, extra := range map[string]struct{ cols, vals string }{
		"a dump of a snapshot backup": {"db_backup_type, db_dump_location, db_dump_size_bytes, db_dump_sha256, db_dump_completion_time",
			"'snapshot', 's3://b/k', 1, '" + strings.Repeat("0f", 32) + "', now()"},
		"a dump without its SHA-256": {"db_backup_type, db_dump_location, db_dump_size_bytes, db_dump_completion_time", "'dump', 's3://b/k', 1, now()"},
		"an upper-case SHA-256": {"db_backup_type, db_dump_location, db_dump_size_bytes, db_dump_sha256, db_dump_completion_time",
			"'dump', 's3://b/k', 1, '" + strings.Repeat("0F", 32) + "', now()"},
	} {
		_, err := c.DB().Exec(`INSERT INTO backup_requests (` + cols + `, ` + extra.cols + `) VALUES (` + vals + `, ` + extra.vals + `)`)
		if err == nil || !strings.Contains(err.Error(), "check constraint") {
			t.Errorf("%s accepted by schema: %v", what, err)
		}
	}
	if n := count(t, c, `SELECT count(*) FROM backup_requests`); n != 0 {
		t.Fatalf("%d rows, want 0", n)
	}
}
