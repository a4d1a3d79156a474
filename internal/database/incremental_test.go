package database

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
)

// incremental makes r an Incremental backup of 10 objects (5000 bytes): 4 copied
// (1500 bytes), 6 referenced (3500 bytes), point-in-time at pit.
func incremental(r *BackupRecord, pit time.Time) *BackupRecord {
	r.DLMode = "Incremental"
	r.DLObjectCount, r.DLTotalBytes = 10, 5000
	r.DLObjectsCopied, r.DLObjectsReferenced = 4, 6
	r.DLBytesCopied, r.DLBytesReferenced = 1500, 3500
	r.DLRepository = "s3://dst-bucket/" + r.ProjectID + "/.repository/" + r.Environment + "/"
	r.DLConsistency, r.DLPointInTime = "PointInTime", tp(pit)
	return r
}

// insertV1Backup inserts a Succeeded backup row in the shape migration 0001 gave it
// (a controller of that release could not write the later columns): with a
// document library of 10 objects and dlBytes bytes when dlBytes > 0, without one
// otherwise.
func insertV1Backup(t *testing.T, c *Client, uid, ns, name, project, env string, dlBytes int64) {
	t.Helper()
	var bucket, prefix sql.NullString
	var count, bytes sql.NullInt64
	if dlBytes > 0 {
		bucket, prefix = sql.NullString{String: "dst-bucket", Valid: true}, sql.NullString{String: project + "/" + env + "/" + name + "/", Valid: true}
		count, bytes = sql.NullInt64{Int64: 10, Valid: true}, sql.NullInt64{Int64: dlBytes, Valid: true}
	}
	if _, err := c.DB().Exec(`INSERT INTO backup_requests (uid, namespace, name, project_id, environment, provider, phase,
		db_snapshot_id, db_size_bytes, dl_source_bucket, dl_destination_bucket, dl_destination_prefix, dl_object_count, dl_total_bytes,
		requested_at, start_time, completion_time)
		VALUES ($1, $2, $3, $4, $5, 'aws', 'Succeeded', $6, 1000, $7, $7, $8, $9, $10,
		now() - interval '2 minutes', now() - interval '90 seconds', now())`,
		uid, ns, name, project, env, "snap-"+name, bucket, prefix, count, bytes); err != nil {
		t.Fatal(err)
	}
}

// An Incremental backup's record comes back from PostgreSQL with every column of
// migration 0003; the aggregates count what it copied as stored and what it
// referenced apart; an identical rewrite changes nothing, a changed split replaces
// the old contribution exactly.
func TestIncrementalRecordRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, true)
	now := time.Now().UTC().Truncate(time.Microsecond)
	pit := now.Add(-2 * time.Minute)
	r := incremental(succeeded("proj-retail-prd", "inc1", "retail", "prd", now), pit)
	upsertRepeatedly(t, c, r, 2)
	got, err := c.GetBackupRecordByUID(ctx, r.UID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DLMode != "Incremental" || got.DLObjectsCopied != 4 || got.DLObjectsReferenced != 6 ||
		got.DLBytesCopied != 1500 || got.DLBytesReferenced != 3500 || got.DLRepository != "s3://dst-bucket/retail/.repository/prd/" ||
		got.DLConsistency != "PointInTime" || got.DLPointInTime == nil || !got.DLPointInTime.Equal(pit) ||
		got.DLObjectCount != 10 || got.DLTotalBytes != 5000 {
		t.Fatalf("round trip: %+v (point in time %v)", got, got.DLPointInTime)
	}

	// A Full backup in the same environment: its whole size is stored.
	full := succeeded("proj-retail-prd", "full1", "retail", "prd", now)
	full.DLMode = "Full"
	if err := c.UpsertBackupRecord(ctx, full); err != nil {
		t.Fatal(err)
	}
	m, err := c.GetProjectMetrics(ctx, "retail", "prd")
	if err != nil {
		t.Fatal(err)
	}
	if m.TotalBackups != 2 || m.TotalDLBytes != 1500+5000 || m.TotalDLBytesReferenced != 3500 || m.TotalDLObjects != 20 {
		t.Fatalf("metrics: %+v", m)
	}
	var stored, referenced int64
	if err := c.DB().QueryRow(`SELECT total_dl_bytes, total_dl_bytes_referenced FROM backup_summary_by_project WHERE project_id = 'retail'`).
		Scan(&stored, &referenced); err != nil || stored != 6500 || referenced != 3500 {
		t.Fatalf("summary: stored %d referenced %d, %v", stored, referenced, err)
	}
	modes := queryStrings(t, c, `SELECT name || ':' || dl_mode || ':' || COALESCE(dl_bytes_copied::text, '-') FROM recent_successful_backups ORDER BY name`)
	if got := strings.Join(modes, ","); got != "full1:Full:-,inc1:Incremental:1500" {
		t.Fatalf("recent_successful_backups: %s", got)
	}

	// A rewrite with another split (the copy resumed): the old contribution leaves.
	r.DLObjectsCopied, r.DLObjectsReferenced, r.DLBytesCopied, r.DLBytesReferenced = 1, 9, 500, 4500
	if err := c.UpsertBackupRecord(ctx, r); err != nil {
		t.Fatal(err)
	}
	if m, err = c.GetProjectMetrics(ctx, "retail", "prd"); err != nil {
		t.Fatal(err)
	}
	if m.TotalBackups != 2 || m.TotalDLBytes != 500+5000 || m.TotalDLBytesReferenced != 4500 {
		t.Fatalf("metrics after rewrite: %+v", m)
	}
}

// A Full backup records its mode and consistency; the Incremental-only columns stay
// NULL (and read back as zero). A database-only backup has no mode.
func TestFullRecordLeavesIncrementalColumnsNull(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, true)
	now := time.Now().UTC().Truncate(time.Microsecond)
	full := succeeded("ns", "full", "retail", "prd", now)
	full.DLMode, full.DLConsistency = "Full", "Live"
	dbOnly := succeeded("ns", "dbonly", "retail", "prd", now)
	dbOnly.DLSourceBucket, dbOnly.DLDestinationBucket, dbOnly.DLDestinationPrefix, dbOnly.DLObjectCount, dbOnly.DLTotalBytes = "", "", "", 0, 0
	for _, r := range []*BackupRecord{full, dbOnly} {
		if err := c.UpsertBackupRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	row := queryStrings(t, c, `SELECT concat_ws(',', name, COALESCE(dl_mode, 'NULL'), COALESCE(dl_consistency, 'NULL'),
		(dl_objects_copied IS NULL AND dl_objects_referenced IS NULL AND dl_bytes_copied IS NULL
		 AND dl_bytes_referenced IS NULL AND dl_repository IS NULL AND dl_point_in_time IS NULL)::text)
		FROM backup_requests ORDER BY name`)
	if got := strings.Join(row, " "); got != "dbonly,NULL,NULL,true full,Full,Live,true" {
		t.Fatalf("rows: %s", got)
	}
	got, err := c.GetBackupRecordByUID(ctx, full.UID)
	if err != nil {
		t.Fatal(err)
	}
	if got.DLMode != "Full" || got.DLConsistency != "Live" || got.DLPointInTime != nil || got.DLObjectsCopied != 0 ||
		got.DLObjectsReferenced != 0 || got.DLBytesCopied != 0 || got.DLBytesReferenced != 0 || got.DLRepository != "" {
		t.Fatalf("full record: %+v", got)
	}
	m, err := c.GetProjectMetrics(ctx, "retail", "prd")
	if err != nil {
		t.Fatal(err)
	}
	if m.TotalDLBytes != 5000 || m.TotalDLBytesReferenced != 0 {
		t.Fatalf("metrics: %+v", m)
	}
}

// The schema enforces 0003's rules too, and a rejected row leaves nothing behind.
func TestSchemaRejectsBadIncrementalRows(t *testing.T) {
	c := newTestClient(t, true)
	const cols = `uid, namespace, name, project_id, environment, provider, phase, requested_at`
	const vals = `'55555555-5555-4555-8555-555555555555', 'ns', 'x', 'p', 'e', 'aws', 'Succeeded', now()`
	for what, extra := range map[string]struct{ cols, vals string }{
		"unknown mode":                     {"dl_mode", "'Differential'"},
		"unknown consistency":              {"dl_consistency", "'Eventually'"},
		"negative objects copied":          {"dl_mode, dl_object_count, dl_objects_copied", "'Incremental', 5, -1"},
		"negative bytes referenced":        {"dl_mode, dl_total_bytes, dl_bytes_referenced", "'Incremental', 5, -1"},
		"referenced objects of a Full":     {"dl_mode, dl_object_count, dl_objects_referenced", "'Full', 5, 1"},
		"copied bytes of a pre-0003 row":   {"dl_total_bytes, dl_bytes_copied", "5, 1"},
		"repository of a Full":             {"dl_mode, dl_repository", "'Full', 's3://b/p/.repository/e/'"},
		"more objects than the backup has": {"dl_mode, dl_object_count, dl_objects_copied, dl_objects_referenced", "'Incremental', 5, 3, 3"},
		"more bytes than the backup has":   {"dl_mode, dl_total_bytes, dl_bytes_copied, dl_bytes_referenced", "'Incremental', 5, 3, 3"},
	} {
		_, err := c.DB().Exec(`INSERT INTO backup_requests (` + cols + `, ` + extra.cols + `) VALUES (` + vals + `, ` + extra.vals + `)`)
		if err == nil || !strings.Contains(err.Error(), "check constraint") {
			t.Errorf("%s accepted by schema: %v", what, err)
		}
	}
	if _, err := c.DB().Exec(`INSERT INTO backup_requests (` + cols + `, dl_mode, dl_object_count, dl_total_bytes, dl_objects_copied,
		dl_objects_referenced, dl_bytes_copied, dl_bytes_referenced) VALUES (` + vals + `, 'Incremental', 5, 50, 2, 3, 20, 30)`); err != nil {
		t.Fatalf("a consistent Incremental row refused: %v", err)
	}
	if n := count(t, c, `SELECT count(*) FROM backup_requests`); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
	if n := count(t, c, `SELECT total_backups FROM backup_metrics`); n != 1 {
		t.Fatalf("metrics count %d backups, want 1", n)
	}
}

// A history database at version 2 with backups in it migrates in place: the rows
// stay, with NULL in the new columns (Full), the aggregates are unchanged and stay
// exact when an old row changes, and Incremental records can be written at once.
func TestMigrationFromVersion2KeepsBackupRows(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, false)
	migs, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) < 3 || migs[1].Name != "0002_restores" || migs[2].Name != "0003_incremental" {
		t.Fatalf("migrations %v", migs)
	}
	// Version 2 exactly as a controller of that release left it.
	migrateByHand(t, c, migs[:2])
	const withDL, dbOnly = "66666666-6666-4666-8666-666666666661", "66666666-6666-4666-8666-666666666662"
	insertV1Backup(t, c, withDL, "proj-retail-prd", "old-full", "retail", "prd", 7000)
	insertV1Backup(t, c, dbOnly, "proj-retail-prd", "old-db", "retail", "prd", 0)
	var before int64
	if err := c.DB().QueryRow(`SELECT total_dl_bytes FROM backup_metrics WHERE project_id = 'retail'`).Scan(&before); err != nil || before != 7000 {
		t.Fatalf("metrics before migration: %d, %v", before, err)
	}

	if err := c.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := c.SchemaVersion(ctx); err != nil || v != migs[len(migs)-1].Version {
		t.Fatalf("schema version %d, %v", v, err)
	}
	old, err := c.GetBackupRecordByUID(ctx, withDL)
	if err != nil {
		t.Fatal(err)
	}
	if old.DLMode != "" || old.DLTotalBytes != 7000 || old.DLObjectCount != 10 || old.DLBytesCopied != 0 || old.DLRepository != "" ||
		old.DLConsistency != "" || old.DLPointInTime != nil || old.DurationSeconds == nil {
		t.Fatalf("old row after migration: %+v", old)
	}
	m, err := c.GetProjectMetrics(ctx, "retail", "prd")
	if err != nil {
		t.Fatal(err)
	}
	if m.TotalBackups != 2 || m.TotalDLBytes != 7000 || m.TotalDLBytesReferenced != 0 || m.TotalDLObjects != 10 {
		t.Fatalf("metrics after migration: %+v", m)
	}
	// A NULL mode reads as Full where there is a document library.
	modes := queryStrings(t, c, `SELECT name || ':' || COALESCE(dl_mode, 'NULL') FROM recent_successful_backups ORDER BY name`)
	if got := strings.Join(modes, ","); got != "old-db:NULL,old-full:Full" {
		t.Fatalf("recent_successful_backups after migration: %s", got)
	}

	// The old row changes (it expires): the trigger takes back what 0001's version
	// of it added, so the aggregates stay exact.
	if _, err := c.DB().Exec(`UPDATE backup_requests SET phase = 'Expired' WHERE uid = $1`, withDL); err != nil {
		t.Fatal(err)
	}
	// And an Incremental backup arrives.
	inc := incremental(succeeded("proj-retail-prd", "new-inc", "retail", "prd", time.Now().UTC()), time.Now().UTC().Add(-time.Minute))
	if err := c.UpsertBackupRecord(ctx, inc); err != nil {
		t.Fatal(err)
	}
	if m, err = c.GetProjectMetrics(ctx, "retail", "prd"); err != nil {
		t.Fatal(err)
	}
	if m.TotalBackups != 3 || m.ExpiredBackups != 1 || m.TotalDLBytes != 7000+1500 || m.TotalDLBytesReferenced != 3500 || m.TotalDLObjects != 20 {
		t.Fatalf("metrics after an update and an Incremental insert: %+v", m)
	}
	// Recomputed from the rows, the aggregates agree.
	var sumStored, sumRef int64
	if err := c.DB().QueryRow(`SELECT sum(CASE WHEN dl_mode = 'Incremental' THEN COALESCE(dl_bytes_copied, 0) ELSE COALESCE(dl_total_bytes, 0) END),
		sum(COALESCE(dl_bytes_referenced, 0)) FROM backup_requests WHERE project_id = 'retail'`).Scan(&sumStored, &sumRef); err != nil {
		t.Fatal(err)
	}
	if sumStored != m.TotalDLBytes || sumRef != m.TotalDLBytesReferenced {
		t.Fatalf("aggregates %d/%d, rows say %d/%d", m.TotalDLBytes, m.TotalDLBytesReferenced, sumStored, sumRef)
	}
}
