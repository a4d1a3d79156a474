package database

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var testUIDSeq int

func newUID() string {
	testUIDSeq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", testUIDSeq)
}

func tp(t time.Time) *time.Time { return &t }

func succeeded(ns, name, project, env string, completion time.Time) *BackupRecord {
	start := completion.Add(-90 * time.Second)
	return &BackupRecord{
		UID: newUID(), Namespace: ns, Name: name, ProjectID: project, Environment: env,
		Provider: "aws", Phase: "Succeeded", Reason: "BackupSucceeded", Message: "done",
		DBBackupType: "snapshot", DBInstanceID: project + "-" + env + "-db", DBSnapshotID: "snap-" + name,
		DBSizeBytes: 1000, DLSourceBucket: "src-bucket", DLDestinationBucket: "dst-bucket",
		DLDestinationPrefix: project + "/" + env + "/", DLObjectCount: 10, DLTotalBytes: 5000,
		ManifestLocation: "s3://dst-bucket/" + project + "/" + env + "/manifest.json", ManifestChecksum: "sha256:abc",
		RetentionDays: 30, RequestedAt: start.Add(-time.Second), StartTime: tp(start), CompletionTime: tp(completion),
		ExpiresAt: tp(completion.Add(30 * 24 * time.Hour)),
	}
}

func count(t *testing.T, c *Client, q string, args ...any) int {
	t.Helper()
	var n int
	if err := c.DB().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// queryStrings returns the single text column of every row of query q.
func queryStrings(t *testing.T, c *Client, q string, args ...any) []string {
	t.Helper()
	rows, err := c.DB().Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitForDatabaseClockPast waits until the database's clock reads later than ts, so a
// transaction started afterwards gets a later now(). It normally returns at once.
func waitForDatabaseClockPast(t *testing.T, c *Client, ts time.Time) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var past bool
		if err := c.DB().QueryRow(`SELECT clock_timestamp() > $1`, ts).Scan(&past); err != nil {
			t.Fatal(err)
		}
		if past {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database clock did not pass %v", ts)
		}
		time.Sleep(time.Millisecond)
	}
}

// upsertRepeatedly upserts r n times and fails unless only the first upsert reported
// a change.
func upsertRepeatedly(t *testing.T, c *Client, r *BackupRecord, n int) {
	t.Helper()
	for i := range n {
		changed, err := c.UpsertBackupRecordChanged(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if changed != (i == 0) {
			t.Fatalf("upsert %d reported changed=%v", i, changed)
		}
	}
}

// migrateByHand applies migs and records them in schema_migrations the way a
// controller of an older release left its database.
func migrateByHand(t *testing.T, c *Client, migs []Migration) {
	t.Helper()
	if _, err := c.DB().Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
		checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migs {
		if _, err := c.DB().Exec(m.SQL); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DB().Exec(`INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`,
			m.Version, m.Name, m.Checksum); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUpsertTwiceKeepsOneRowAndMetrics(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, true)
	now := time.Now().UTC().Truncate(time.Microsecond)
	r := succeeded("proj-retail-prd", "b1", "retail", "prd", now)
	upsertRepeatedly(t, c, r, 3)
	got, err := c.GetBackupRecord(ctx, "proj-retail-prd", "b1")
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, c, `SELECT count(*) FROM backup_requests`); n != 1 {
		t.Fatalf("%d rows after three upserts, want 1", n)
	}
	if !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("identical upserts changed updated_at: created %v updated %v", got.CreatedAt, got.UpdatedAt)
	}
	if got.DurationSeconds == nil || *got.DurationSeconds != 90 {
		t.Errorf("duration_seconds = %v, want 90", got.DurationSeconds)
	}
	if got.DBSnapshotID != r.DBSnapshotID || !got.CompletionTime.Equal(*r.CompletionTime) || got.ManifestChecksum != "sha256:abc" {
		t.Errorf("round trip mismatch: %+v", got)
	}
	m, err := c.GetProjectMetrics(ctx, "retail", "prd")
	if err != nil {
		t.Fatal(err)
	}
	if m.TotalBackups != 1 || m.SucceededBackups != 1 || m.TotalDBSizeBytes != 1000 || m.TotalDLObjects != 10 || m.TotalDurationSeconds != 90 {
		t.Fatalf("metrics after duplicate upserts: %+v", m)
	}

	// A real change (the backup expires) updates the row, updated_at and the aggregates.
	// The change's transaction must start at a later database time than the insert's,
	// or updated_at could not differ: wait for the database clock to move on rather
	// than sleep and hope it did.
	waitForDatabaseClockPast(t, c, got.CreatedAt)
	r.Phase = "Expired"
	if err := c.UpsertBackupRecord(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, err = c.GetBackupRecord(ctx, "proj-retail-prd", "b1"); err != nil {
		t.Fatal(err)
	}
	if got.Phase != "Expired" || !got.UpdatedAt.After(got.CreatedAt) {
		t.Errorf("after change: phase %s created %v updated %v", got.Phase, got.CreatedAt, got.UpdatedAt)
	}
	if m, err = c.GetProjectMetrics(ctx, "retail", "prd"); err != nil {
		t.Fatal(err)
	}
	if m.TotalBackups != 1 || m.SucceededBackups != 0 || m.ExpiredBackups != 1 || m.TotalDBSizeBytes != 1000 {
		t.Fatalf("metrics after phase change: %+v", m)
	}
}

func TestTriggersAndViews(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, true)
	now := time.Now().UTC()
	recent := succeeded("ns-a", "recent", "alpha", "prd", now.Add(-time.Hour))
	old := succeeded("ns-a", "old", "alpha", "prd", now.Add(-40*24*time.Hour))
	failed := succeeded("ns-a", "failed", "alpha", "prd", now.Add(-2*time.Hour))
	failed.Phase, failed.DBSizeBytes, failed.StartTime = "Failed", 0, tp(now.Add(-2*time.Hour-30*time.Second))
	marked := succeeded("ns-a", "marked", "alpha", "prd", now.Add(-3*time.Hour))
	uat := succeeded("ns-b", "uat1", "alpha", "uat", now.Add(-time.Hour))
	other := succeeded("ns-c", "beta1", "beta", "prd", now.Add(-time.Hour))
	pending := &BackupRecord{UID: newUID(), Namespace: "ns-a", Name: "pending", ProjectID: "alpha", Environment: "prd",
		Provider: "aws", Phase: "Pending", RequestedAt: now}
	for _, r := range []*BackupRecord{recent, old, failed, marked, uat, other, pending} {
		if err := c.UpsertBackupRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.MarkBackupForDeletion(ctx, "ns-a", "marked", now); err != nil {
		t.Fatal(err)
	}

	// Duration trigger: set from start and completion, NULL without completion.
	var dFailed float64
	var dPending *float64
	if err := c.DB().QueryRow(`SELECT duration_seconds FROM backup_requests WHERE name = 'failed'`).Scan(&dFailed); err != nil {
		t.Fatal(err)
	}
	if err := c.DB().QueryRow(`SELECT duration_seconds FROM backup_requests WHERE name = 'pending'`).Scan(&dPending); err != nil {
		t.Fatal(err)
	}
	if dFailed != 30 || dPending != nil {
		t.Errorf("duration: failed %v (want 30), pending %v (want NULL)", dFailed, dPending)
	}

	names := queryStrings(t, c, `SELECT name FROM recent_successful_backups`)
	if got := strings.Join(names, ","); got != "recent,uat1,beta1" && got != "recent,beta1,uat1" &&
		got != "uat1,recent,beta1" && got != "uat1,beta1,recent" && got != "beta1,recent,uat1" && got != "beta1,uat1,recent" {
		t.Errorf("recent_successful_backups = %v, want recent, uat1, beta1", names)
	}

	type summary struct {
		envs, total, ok, failed int64
		rate                    *float64
		dbBytes                 int64
		avg                     *float64
	}
	var s summary
	err := c.DB().QueryRow(`SELECT environments, total_backups, succeeded_backups, failed_backups, success_rate_percent,
		total_db_size_bytes, avg_duration_seconds FROM backup_summary_by_project WHERE project_id = 'alpha'`).
		Scan(&s.envs, &s.total, &s.ok, &s.failed, &s.rate, &s.dbBytes, &s.avg)
	if err != nil {
		t.Fatal(err)
	}
	// alpha: recent, old, marked, uat1 succeeded (4), failed (1), pending (1); 2 environments.
	if s.envs != 2 || s.total != 6 || s.ok != 4 || s.failed != 1 || s.rate == nil || *s.rate != 80 || s.dbBytes != 4000 {
		t.Errorf("summary alpha: %+v rate %v", s, s.rate)
	}
	if s.avg == nil || *s.avg != (4*90+30)/5.0 {
		t.Errorf("avg duration %v, want %v", s.avg, (4*90+30)/5.0)
	}
	if n := count(t, c, `SELECT count(*) FROM backup_summary_by_project`); n != 2 {
		t.Errorf("%d projects in summary, want 2", n)
	}

	// updated_at trigger on restore_requests too.
	if _, err := c.DB().Exec(`INSERT INTO restore_requests (uid, namespace, name, project_id, environment, phase, requested_at, start_time, completion_time)
		VALUES ('11111111-1111-4111-8111-111111111111', 'ns-a', 'r1', 'alpha', 'prd', 'Succeeded', now(), now() - interval '5 seconds', now())`); err != nil {
		t.Fatal(err)
	}
	var rd float64
	if err := c.DB().QueryRow(`SELECT duration_seconds FROM restore_requests`).Scan(&rd); err != nil {
		t.Fatal(err)
	}
	if rd != 5 {
		t.Errorf("restore duration %v, want 5", rd)
	}
}

func TestGetListMark(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, true)
	base := time.Now().UTC().Add(-time.Hour)
	for i := range 5 {
		r := succeeded("ns", fmt.Sprintf("b%d", i), "gamma", "prd", base.Add(time.Duration(i)*time.Minute))
		r.RequestedAt = base.Add(time.Duration(i) * time.Minute)
		if err := c.UpsertBackupRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	dev := succeeded("ns-dev", "d0", "gamma", "dev", base)
	if err := c.UpsertBackupRecord(ctx, dev); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListBackupsByProject(ctx, "gamma", "prd", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].Name != "b4" || list[2].Name != "b2" {
		t.Fatalf("list = %v", names(list))
	}
	all, err := c.ListBackupsByProject(ctx, "gamma", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("all environments: %v", names(all))
	}
	// A name reused after deletion: Get returns the newest object's record.
	again := succeeded("ns", "b1", "gamma", "prd", base.Add(2*time.Hour))
	again.RequestedAt = base.Add(time.Hour + 30*time.Minute)
	if err := c.UpsertBackupRecord(ctx, again); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBackupRecord(ctx, "ns", "b1")
	if err != nil || got.UID != again.UID {
		t.Fatalf("get reused name: %v %v", got, err)
	}
	if _, err := c.GetBackupRecord(ctx, "ns", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing record: %v", err)
	}
	if err := c.MarkBackupForDeletion(ctx, "ns", "nope", time.Now()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("mark missing: %v", err)
	}
	when := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := c.MarkBackupForDeletion(ctx, "ns", "b3", when); err != nil {
		t.Fatal(err)
	}
	if got, err = c.GetBackupRecord(ctx, "ns", "b3"); err != nil {
		t.Fatal(err)
	}
	if got.MarkedForDeletionAt == nil || !got.MarkedForDeletionAt.Equal(when) {
		t.Fatalf("marked_for_deletion_at = %v", got.MarkedForDeletionAt)
	}
	expired, err := c.ListExpiredBackups(ctx, time.Now().Add(31*24*time.Hour), 0)
	if err != nil || len(expired) != 7 {
		t.Fatalf("expired: %d %v", len(expired), err)
	}
	if err := c.MarkBackupDeleted(ctx, expired[0].UID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if expired, err = c.ListExpiredBackups(ctx, time.Now().Add(31*24*time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if len(expired) != 6 {
		t.Fatalf("after delete: %d expired", len(expired))
	}
	if _, err := c.GetBackupRecordByUID(ctx, "not-a-uuid"); err == nil {
		t.Fatal("bad uid accepted")
	}
}

func names(rs []*BackupRecord) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}
