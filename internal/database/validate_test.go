package database

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestInvalidValuesGiveClearErrorAndNoRow(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, true)
	now := time.Now().UTC()
	cases := []struct {
		field  string
		mutate func(r *BackupRecord)
	}{
		{"uid", func(r *BackupRecord) { r.UID = "not-a-uid" }},
		{"uid", func(r *BackupRecord) { r.UID = "" }},
		{"namespace", func(r *BackupRecord) { r.Namespace = strings.Repeat("n", 64) }},
		{"name", func(r *BackupRecord) { r.Name = "Has Spaces" }},
		{"project_id", func(r *BackupRecord) { r.ProjectID = strings.Repeat("p", 300) }},
		{"environment", func(r *BackupRecord) { r.Environment = "" }},
		{"provider", func(r *BackupRecord) { r.Provider = "ibm" }},
		{"phase", func(r *BackupRecord) { r.Phase = "Done" }},
		{"reason", func(r *BackupRecord) { r.Reason = strings.Repeat("r", 129) }},
		{"message", func(r *BackupRecord) { r.Message = strings.Repeat("m", 40000) }},
		{"message", func(r *BackupRecord) { r.Message = "nul\x00byte" }},
		{"message", func(r *BackupRecord) { r.Message = "bad \xff utf8" }},
		{"db_snapshot_arn", func(r *BackupRecord) { r.DBSnapshotARN = strings.Repeat("a", 5000) }},
		{"db_size_bytes", func(r *BackupRecord) { r.DBSizeBytes = -1 }},
		{"dl_destination_prefix", func(r *BackupRecord) { r.DLDestinationPrefix = strings.Repeat("x/", 600) }},
		{"retention_days", func(r *BackupRecord) { r.RetentionDays = 99999 }},
		{"requested_at", func(r *BackupRecord) { r.RequestedAt = time.Time{} }},
		{"completion_time", func(r *BackupRecord) { r.CompletionTime = tp(r.StartTime.Add(-time.Minute)) }},
		{"expires_at", func(r *BackupRecord) { r.ExpiresAt = tp(time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)) }},
		{"dl_mode", func(r *BackupRecord) { r.DLMode = "Differential" }},
		{"dl_mode", func(r *BackupRecord) { incremental(r, now).DLMode = "incremental" }},
		{"dl_consistency", func(r *BackupRecord) { r.DLConsistency = "Eventually" }},
		{"dl_point_in_time", func(r *BackupRecord) { incremental(r, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)) }},
		{"dl_repository", func(r *BackupRecord) { incremental(r, now).DLRepository = "s3://b/" + strings.Repeat("p/", 1100) }},
		{"dl_objects_copied", func(r *BackupRecord) { incremental(r, now).DLObjectsCopied = -1 }},
		{"dl_objects_referenced", func(r *BackupRecord) { incremental(r, now).DLObjectsReferenced = -4 }},
		{"dl_bytes_copied", func(r *BackupRecord) { incremental(r, now).DLBytesCopied = -1 }},
		{"dl_bytes_referenced", func(r *BackupRecord) { incremental(r, now).DLBytesReferenced = -1 }},
		// Copied and referenced split the backup: together at most its objects and bytes.
		{"dl_objects_copied", func(r *BackupRecord) { incremental(r, now).DLObjectsCopied = 5 }},
		{"dl_objects_copied", func(r *BackupRecord) { incremental(r, now).DLObjectCount = 0 }},
		{"dl_bytes_copied", func(r *BackupRecord) { incremental(r, now).DLBytesReferenced = 4000 }},
		// The split and the repository are an Incremental backup's only; an empty mode is Full.
		{"dl_objects_copied", func(r *BackupRecord) { r.DLMode, r.DLObjectsCopied = "Full", 10 }},
		{"dl_objects_referenced", func(r *BackupRecord) { r.DLObjectsReferenced = 1 }},
		{"dl_bytes_copied", func(r *BackupRecord) { r.DLBytesCopied = 5000 }},
		{"dl_bytes_referenced", func(r *BackupRecord) { r.DLMode, r.DLBytesReferenced = "Full", 1 }},
		{"dl_repository", func(r *BackupRecord) { r.DLMode, r.DLRepository = "Full", "s3://dst-bucket/delta/.repository/prd/" }},
	}
	for _, tc := range cases {
		r := succeeded("ns", "bad", "delta", "prd", now)
		tc.mutate(r)
		err := c.UpsertBackupRecord(ctx, r)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%s: got %v, want a ValidationError naming %s", tc.field, err, tc.field)
			continue
		}
		if !strings.Contains(err.Error(), "field "+tc.field) || len(err.Error()) > 300 {
			t.Errorf("%s: unclear or huge error %q", tc.field, err)
		}
		if IsRetryable(err) {
			t.Errorf("%s: validation error classified retryable", tc.field)
		}
	}
	if err := c.UpsertBackupRecord(ctx, nil); err == nil {
		t.Error("nil record accepted")
	}
	if n := count(t, c, `SELECT count(*) FROM backup_requests`); n != 0 {
		t.Fatalf("%d rows written by invalid upserts", n)
	}
	if n := count(t, c, `SELECT count(*) FROM backup_metrics`); n != 0 {
		t.Fatalf("%d metrics rows written by invalid upserts", n)
	}
}

// The schema enforces the same limits, and a rejected row leaves no trace in the
// aggregates (the metrics trigger runs in the same statement).
func TestSchemaRejectsBadRowsAtomically(t *testing.T) {
	c := newTestClient(t, true)
	_, err := c.DB().Exec(`INSERT INTO backup_requests (uid, namespace, name, project_id, environment, provider, phase, requested_at, db_size_bytes)
		VALUES ('22222222-2222-4222-8222-222222222222', 'ns', 'x', 'p', 'e', 'aws', 'Succeeded', now(), -5)`)
	if err == nil || !strings.Contains(err.Error(), "check constraint") {
		t.Fatalf("negative size accepted by schema: %v", err)
	}
	_, err = c.DB().Exec(`INSERT INTO backup_requests (uid, namespace, name, project_id, environment, provider, phase, requested_at)
		VALUES ('22222222-2222-4222-8222-222222222223', 'ns', 'x', 'p', 'e', 'aws', 'Weird', now())`)
	if err == nil {
		t.Fatal("unknown phase accepted by schema")
	}
	if n := count(t, c, `SELECT count(*) FROM backup_requests`) + count(t, c, `SELECT count(*) FROM backup_metrics`); n != 0 {
		t.Fatalf("%d rows left by rejected inserts", n)
	}
}
