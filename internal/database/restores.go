package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// The final restore phases. The SQL below has them as literals, not parameters:
// FindCompletedRestore's query must spell phase = 'Succeeded' for PostgreSQL to use
// the partial index restore_requests_completed_idx.
const (
	restoreSucceeded = string(backupv1alpha1.RestorePhaseSucceeded)
	restoreFailed    = string(backupv1alpha1.RestorePhaseFailed)
)

// restoreColumns are the columns written by UpsertRestoreRecord, in argument order.
var restoreColumns = []string{
	"uid", "namespace", "name", "project_id", "environment", "backup_request_uid", "backup_name",
	"phase", "reason", "message",
	"backup_id", "manifest_location", "manifest_checksum", "snapshot_id",
	"target_instance_id", "target_instance_arn", "target_bucket", "target_prefix", "existing_objects", "verify_only",
	"objects_restored", "objects_skipped", "bytes_restored", "objects_missing", "objects_different",
	"requested_at", "start_time", "completion_time",
}

// restoreReadColumns are restoreColumns plus those the database maintains.
var restoreReadColumns = append(append([]string{}, restoreColumns...), "duration_seconds", "created_at", "updated_at")

var upsertRestoreSQL = func() string {
	var ph, set, cur, exc []string
	for i, col := range restoreColumns {
		ph = append(ph, fmt.Sprintf("$%d", i+1))
		if col == "uid" {
			continue
		}
		set = append(set, col+" = EXCLUDED."+col)
		cur = append(cur, "r."+col)
		exc = append(exc, "EXCLUDED."+col)
	}
	// A Succeeded or Failed row is final: a late or replayed write of an earlier
	// phase (or any other state) never changes it. Identical rewrites change nothing
	// either, so updated_at keeps the time of the last real change.
	return fmt.Sprintf(`INSERT INTO restore_requests AS r (%s) VALUES (%s)
ON CONFLICT (uid) DO UPDATE SET %s
WHERE r.phase NOT IN ('%s', '%s') AND (%s) IS DISTINCT FROM (%s)`,
		strings.Join(restoreColumns, ", "), strings.Join(ph, ", "), strings.Join(set, ", "),
		restoreSucceeded, restoreFailed,
		strings.Join(cur, ", "), strings.Join(exc, ", "))
}()

var selectRestoreSQL = "SELECT " + strings.Join(restoreReadColumns, ", ") + " FROM restore_requests "

// UpsertRestoreRecord validates r and writes it keyed by r.UID in one statement: a
// new uid inserts a row, a known one in phase Pending or InProgress is updated, and
// a row already Succeeded or Failed is left as it is (a terminal restore is final).
func (c *Client) UpsertRestoreRecord(ctx context.Context, r *RestoreRecord) error {
	_, err := c.UpsertRestoreRecordChanged(ctx, r)
	return err
}

// UpsertRestoreRecordChanged is UpsertRestoreRecord that also reports whether a row
// was inserted or changed (false when the stored row was identical, or final).
func (c *Client) UpsertRestoreRecordChanged(ctx context.Context, r *RestoreRecord) (bool, error) {
	if err := r.Validate(); err != nil {
		return false, err
	}
	res, err := c.db.ExecContext(ctx, upsertRestoreSQL,
		r.UID, r.Namespace, r.Name, nullStr(r.ProjectID), nullStr(r.Environment), nullStr(r.BackupRequestUID), nullStr(r.BackupName),
		r.Phase, nullStr(r.Reason), nullStr(r.Message),
		nullStr(r.BackupID), nullStr(r.ManifestLocation), nullStr(r.ManifestChecksum), nullStr(r.SnapshotID),
		nullStr(r.TargetInstanceID), nullStr(r.TargetInstanceARN), nullStr(r.TargetBucket), nullStr(r.TargetPrefix),
		nullStr(r.ExistingObjects), r.VerifyOnly,
		nullInt(r.ObjectsRestored), nullInt(r.ObjectsSkipped), nullInt(r.BytesRestored),
		verified(r, r.ObjectsMissing), verified(r, r.ObjectsDifferent),
		r.RequestedAt.UTC(), nullTime(r.StartTime), nullTime(r.CompletionTime))
	if err != nil {
		return false, c.wrap(fmt.Sprintf("upsert restore record %s/%s (uid %s)", r.Namespace, r.Name, r.UID), err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// verified stores a verification's count: 0 found is a result (a finished
// verification found nothing missing), not an unknown.
func verified(r *RestoreRecord, v int64) sql.NullInt64 {
	return sql.NullInt64{Int64: v, Valid: v != 0 || (r.VerifyOnly && (r.Phase == restoreSucceeded || r.Phase == restoreFailed))}
}

func scanRestore(s scanner) (*RestoreRecord, error) {
	var r RestoreRecord
	var project, env, brUID, brName, reason, message sql.NullString
	var backupID, manLoc, manSum, snap, tInst, tARN, tBucket, tPrefix, existing sql.NullString
	var restored, skipped, bytes, missing, different sql.NullInt64
	var start, completion sql.NullTime
	var duration sql.NullFloat64
	err := s.Scan(&r.UID, &r.Namespace, &r.Name, &project, &env, &brUID, &brName,
		&r.Phase, &reason, &message,
		&backupID, &manLoc, &manSum, &snap,
		&tInst, &tARN, &tBucket, &tPrefix, &existing, &r.VerifyOnly,
		&restored, &skipped, &bytes, &missing, &different,
		&r.RequestedAt, &start, &completion,
		&duration, &r.CreatedAt, &r.UpdatedAt)
	if err != nil {
		return nil, err
	}
	r.ProjectID, r.Environment, r.BackupRequestUID, r.BackupName = project.String, env.String, brUID.String, brName.String
	r.Reason, r.Message = reason.String, message.String
	r.BackupID, r.ManifestLocation, r.ManifestChecksum, r.SnapshotID = backupID.String, manLoc.String, manSum.String, snap.String
	r.TargetInstanceID, r.TargetInstanceARN, r.TargetBucket, r.TargetPrefix = tInst.String, tARN.String, tBucket.String, tPrefix.String
	r.ExistingObjects = existing.String
	r.ObjectsRestored, r.ObjectsSkipped, r.BytesRestored = restored.Int64, skipped.Int64, bytes.Int64
	r.ObjectsMissing, r.ObjectsDifferent = missing.Int64, different.Int64
	r.StartTime, r.CompletionTime = timePtr(start), timePtr(completion)
	if duration.Valid {
		r.DurationSeconds = &duration.Float64
	}
	return &r, nil
}

func (c *Client) queryRestores(ctx context.Context, op, where string, args ...any) ([]*RestoreRecord, error) {
	rows, err := c.db.QueryContext(ctx, selectRestoreSQL+where, args...)
	if err != nil {
		return nil, c.wrap(op, err)
	}
	var out []*RestoreRecord
	for rows.Next() { // rows closes itself when Next returns false
		r, err := scanRestore(rows)
		if err != nil {
			return nil, c.wrap(op, errors.Join(err, rows.Close()))
		}
		out = append(out, r)
	}
	return out, c.wrap(op, rows.Err())
}

// FindCompletedRestore returns the most recent Succeeded restore, not a verifyOnly
// one, of the backup k.BackupID of project k.ProjectID into the same targets as k
// (an empty target field matches only a restore that had none), other than the
// RestoreRequest k.ExcludeUID; nil, nil when there is none. It is the one-shot
// check: such a restore is refused unless allowed to repeat.
func (c *Client) FindCompletedRestore(ctx context.Context, k RestoreKey) (*RestoreRecord, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	op := fmt.Sprintf("find completed restore of backup %s (project %s)", k.BackupID, k.ProjectID)
	rs, err := c.queryRestores(ctx, op, `WHERE project_id = $1 AND backup_id = $2 AND phase = '`+restoreSucceeded+`' AND NOT verify_only
  AND COALESCE(target_instance_id, '') = $3 AND COALESCE(target_bucket, '') = $4 AND COALESCE(target_prefix, '') = $5
  AND uid IS DISTINCT FROM $6::uuid
ORDER BY completion_time DESC NULLS LAST, requested_at DESC, created_at DESC LIMIT 1`,
		k.ProjectID, k.BackupID, k.TargetInstanceID, k.TargetBucket, k.TargetPrefix, nullStr(k.ExcludeUID))
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return rs[0], nil
}

// GetRestoreRecordByUID returns the record of one RestoreRequest object, or ErrNotFound.
func (c *Client) GetRestoreRecordByUID(ctx context.Context, uid string) (*RestoreRecord, error) {
	op := fmt.Sprintf("get restore record uid %s", uid)
	if !uidPattern.MatchString(uid) {
		return nil, &ValidationError{Record: restoreRecord, Field: "uid", Reason: fmt.Sprintf("%q is not a UUID", truncate(uid, 80))}
	}
	rs, err := c.queryRestores(ctx, op, `WHERE uid = $1`, uid)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return rs[0], nil
}
