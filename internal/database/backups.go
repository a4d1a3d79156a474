package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// backupColumns are the columns written by UpsertBackupRecord, in argument order.
var backupColumns = []string{
	"uid", "namespace", "name", "project_id", "environment", "provider", "phase", "reason", "message",
	"db_backup_type", "db_instance_id", "db_snapshot_id", "db_snapshot_arn", "db_engine", "db_engine_version", "db_size_bytes",
	"db_dump_location", "db_dump_size_bytes", "db_dump_sha256", "db_dump_server_version", "db_dump_tool",
	"db_dump_start_time", "db_dump_completion_time",
	"dl_source_bucket", "dl_source_prefix", "dl_destination_bucket", "dl_destination_prefix",
	"dl_object_count", "dl_objects_excluded", "dl_total_bytes",
	"dl_mode", "dl_objects_copied", "dl_objects_referenced", "dl_bytes_copied", "dl_bytes_referenced",
	"dl_repository", "dl_consistency", "dl_point_in_time",
	"manifest_location", "manifest_checksum", "retention_days",
	"requested_at", "start_time", "completion_time", "expires_at",
}

// readColumns are backupColumns plus those the database maintains.
var readColumns = append(append([]string{}, backupColumns...),
	"duration_seconds", "marked_for_deletion_at", "deleted_at", "created_at", "updated_at")

var upsertBackupSQL = func() string {
	var ph, set, cur, exc []string
	for i, col := range backupColumns {
		ph = append(ph, fmt.Sprintf("$%d", i+1))
		if col == "uid" {
			continue
		}
		set = append(set, col+" = EXCLUDED."+col)
		cur = append(cur, "b."+col)
		exc = append(exc, "EXCLUDED."+col)
	}
	// The WHERE clause skips identical rewrites: archiving the same state twice
	// leaves updated_at and backup_metrics untouched.
	return fmt.Sprintf(`INSERT INTO backup_requests AS b (%s) VALUES (%s)
ON CONFLICT (uid) DO UPDATE SET %s
WHERE (%s) IS DISTINCT FROM (%s)`,
		strings.Join(backupColumns, ", "), strings.Join(ph, ", "), strings.Join(set, ", "),
		strings.Join(cur, ", "), strings.Join(exc, ", "))
}()

var selectBackupSQL = "SELECT " + strings.Join(readColumns, ", ") + " FROM backup_requests "

func nullStr(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
func nullInt(v int64) sql.NullInt64   { return sql.NullInt64{Int64: v, Valid: v != 0} }
func nullTime(t *time.Time) sql.NullTime {
	if t == nil || t.IsZero() {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: t.UTC(), Valid: true}
}

// UpsertBackupRecord validates r and writes it keyed by r.UID in one statement:
// a new uid inserts a row, a known one updates it, an identical one changes
// nothing. backup_metrics is updated by trigger in the same statement.
func (c *Client) UpsertBackupRecord(ctx context.Context, r *BackupRecord) error {
	_, err := c.UpsertBackupRecordChanged(ctx, r)
	return err
}

// UpsertBackupRecordChanged is UpsertBackupRecord that also reports whether a row
// was inserted or changed (false when the stored row was already identical).
func (c *Client) UpsertBackupRecordChanged(ctx context.Context, r *BackupRecord) (bool, error) {
	if err := r.Validate(); err != nil {
		return false, err
	}
	res, err := c.db.ExecContext(ctx, upsertBackupSQL,
		r.UID, r.Namespace, r.Name, r.ProjectID, r.Environment, r.Provider, r.Phase, nullStr(r.Reason), nullStr(r.Message),
		nullStr(r.DBBackupType), nullStr(r.DBInstanceID), nullStr(r.DBSnapshotID), nullStr(r.DBSnapshotARN),
		nullStr(r.DBEngine), nullStr(r.DBEngineVersion), nullInt(r.DBSizeBytes),
		nullStr(r.DBDumpLocation), sql.NullInt64{Int64: r.DBDumpSizeBytes, Valid: r.DBDumpLocation != ""}, nullStr(r.DBDumpSHA256),
		nullStr(r.DBDumpServerVersion), nullStr(r.DBDumpTool), nullTime(r.DBDumpStartTime), nullTime(r.DBDumpCompletionTime),
		nullStr(r.DLSourceBucket), nullStr(r.DLSourcePrefix), nullStr(r.DLDestinationBucket), nullStr(r.DLDestinationPrefix),
		nullInt(r.DLObjectCount), nullInt(r.DLObjectsExcluded), nullInt(r.DLTotalBytes),
		nullStr(r.DLMode), nullInt(r.DLObjectsCopied), nullInt(r.DLObjectsReferenced), nullInt(r.DLBytesCopied), nullInt(r.DLBytesReferenced),
		nullStr(r.DLRepository), nullStr(r.DLConsistency), nullTime(r.DLPointInTime),
		nullStr(r.ManifestLocation), nullStr(r.ManifestChecksum), nullInt(int64(r.RetentionDays)),
		r.RequestedAt.UTC(), nullTime(r.StartTime), nullTime(r.CompletionTime), nullTime(r.ExpiresAt))
	if err != nil {
		return false, c.wrap(fmt.Sprintf("upsert backup record %s/%s (uid %s)", r.Namespace, r.Name, r.UID), err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanBackup(s scanner) (*BackupRecord, error) {
	var r BackupRecord
	var reason, message, dbType, dbInst, dbSnap, dbArn, dbEng, dbEngVer sql.NullString
	var dlSrcB, dlSrcP, dlDstB, dlDstP, dlMode, dlRepo, dlCons, manLoc, manSum sql.NullString
	var dbSize, dlCount, dlExcl, dlBytes, dlObjCopied, dlObjRef, dlBytesCopied, dlBytesRef, retention sql.NullInt64
	var dlPIT, start, completion, expires, marked, deleted sql.NullTime
	var dumpLoc, dumpSHA, dumpVer, dumpTool sql.NullString
	var dumpSize sql.NullInt64
	var dumpStart, dumpEnd sql.NullTime
	var duration sql.NullFloat64
	err := s.Scan(&r.UID, &r.Namespace, &r.Name, &r.ProjectID, &r.Environment, &r.Provider, &r.Phase, &reason, &message,
		&dbType, &dbInst, &dbSnap, &dbArn, &dbEng, &dbEngVer, &dbSize,
		&dumpLoc, &dumpSize, &dumpSHA, &dumpVer, &dumpTool, &dumpStart, &dumpEnd,
		&dlSrcB, &dlSrcP, &dlDstB, &dlDstP, &dlCount, &dlExcl, &dlBytes,
		&dlMode, &dlObjCopied, &dlObjRef, &dlBytesCopied, &dlBytesRef, &dlRepo, &dlCons, &dlPIT,
		&manLoc, &manSum, &retention,
		&r.RequestedAt, &start, &completion, &expires,
		&duration, &marked, &deleted, &r.CreatedAt, &r.UpdatedAt)
	if err != nil {
		return nil, err
	}
	r.Reason, r.Message = reason.String, message.String
	r.DBBackupType, r.DBInstanceID, r.DBSnapshotID, r.DBSnapshotARN = dbType.String, dbInst.String, dbSnap.String, dbArn.String
	r.DBEngine, r.DBEngineVersion, r.DBSizeBytes = dbEng.String, dbEngVer.String, dbSize.Int64
	r.DBDumpLocation, r.DBDumpSizeBytes, r.DBDumpSHA256 = dumpLoc.String, dumpSize.Int64, dumpSHA.String
	r.DBDumpServerVersion, r.DBDumpTool = dumpVer.String, dumpTool.String
	r.DBDumpStartTime, r.DBDumpCompletionTime = timePtr(dumpStart), timePtr(dumpEnd)
	r.DLSourceBucket, r.DLSourcePrefix, r.DLDestinationBucket, r.DLDestinationPrefix = dlSrcB.String, dlSrcP.String, dlDstB.String, dlDstP.String
	r.DLObjectCount, r.DLObjectsExcluded, r.DLTotalBytes = dlCount.Int64, dlExcl.Int64, dlBytes.Int64
	r.DLMode, r.DLRepository, r.DLConsistency, r.DLPointInTime = dlMode.String, dlRepo.String, dlCons.String, timePtr(dlPIT)
	r.DLObjectsCopied, r.DLObjectsReferenced = dlObjCopied.Int64, dlObjRef.Int64
	r.DLBytesCopied, r.DLBytesReferenced = dlBytesCopied.Int64, dlBytesRef.Int64
	r.ManifestLocation, r.ManifestChecksum, r.RetentionDays = manLoc.String, manSum.String, int32(retention.Int64)
	r.StartTime, r.CompletionTime, r.ExpiresAt = timePtr(start), timePtr(completion), timePtr(expires)
	r.MarkedForDeletionAt, r.DeletedAt = timePtr(marked), timePtr(deleted)
	if duration.Valid {
		r.DurationSeconds = &duration.Float64
	}
	return &r, nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}

func (c *Client) queryBackups(ctx context.Context, op, where string, args ...any) ([]*BackupRecord, error) {
	rows, err := c.db.QueryContext(ctx, selectBackupSQL+where, args...)
	if err != nil {
		return nil, c.wrap(op, err)
	}
	var out []*BackupRecord
	for rows.Next() { // rows closes itself when Next returns false
		r, err := scanBackup(rows)
		if err != nil {
			return nil, c.wrap(op, errors.Join(err, rows.Close()))
		}
		out = append(out, r)
	}
	return out, c.wrap(op, rows.Err())
}

// GetBackupRecord returns the newest record of the BackupRequest namespace/name
// (a name reused after deletion has older records too), or ErrNotFound.
func (c *Client) GetBackupRecord(ctx context.Context, namespace, name string) (*BackupRecord, error) {
	op := fmt.Sprintf("get backup record %s/%s", namespace, name)
	rs, err := c.queryBackups(ctx, op, `WHERE namespace = $1 AND name = $2 ORDER BY requested_at DESC, created_at DESC LIMIT 1`, namespace, name)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return rs[0], nil
}

// GetBackupRecordByUID returns the record of one BackupRequest object, or ErrNotFound.
func (c *Client) GetBackupRecordByUID(ctx context.Context, uid string) (*BackupRecord, error) {
	op := fmt.Sprintf("get backup record uid %s", uid)
	if !uidPattern.MatchString(uid) {
		return nil, &ValidationError{Field: "uid", Reason: fmt.Sprintf("%q is not a UUID", truncate(uid, 80))}
	}
	rs, err := c.queryBackups(ctx, op, `WHERE uid = $1`, uid)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return rs[0], nil
}

// MaxListLimit caps ListBackupsByProject and ListExpiredBackups.
const MaxListLimit = 1000

func clampLimit(limit int) int {
	if limit <= 0 || limit > MaxListLimit {
		return MaxListLimit
	}
	return limit
}

// ListBackupsByProject returns up to limit records of a project, newest first;
// an empty environment means all of the project's environments. limit <= 0 or
// above MaxListLimit means MaxListLimit.
func (c *Client) ListBackupsByProject(ctx context.Context, projectID, environment string, limit int) ([]*BackupRecord, error) {
	op := fmt.Sprintf("list backups of project %s environment %q", projectID, environment)
	if environment == "" {
		return c.queryBackups(ctx, op, `WHERE project_id = $1 ORDER BY requested_at DESC LIMIT $2`, projectID, clampLimit(limit))
	}
	return c.queryBackups(ctx, op, `WHERE project_id = $1 AND environment = $2 ORDER BY requested_at DESC LIMIT $3`,
		projectID, environment, clampLimit(limit))
}

// ListExpiredBackups returns up to limit records whose expires_at is at or before
// now and that are not deleted yet, soonest expired first, for retention.
func (c *Client) ListExpiredBackups(ctx context.Context, now time.Time, limit int) ([]*BackupRecord, error) {
	return c.queryBackups(ctx, "list expired backups",
		`WHERE expires_at <= $1 AND deleted_at IS NULL ORDER BY expires_at LIMIT $2`, now.UTC(), clampLimit(limit))
}

// MarkBackupForDeletion records that the newest backup namespace/name is to be
// deleted at deletionTime (it leaves recent_successful_backups). ErrNotFound if
// there is no such record.
func (c *Client) MarkBackupForDeletion(ctx context.Context, namespace, name string, deletionTime time.Time) error {
	op := fmt.Sprintf("mark backup %s/%s for deletion", namespace, name)
	res, err := c.db.ExecContext(ctx, `UPDATE backup_requests SET marked_for_deletion_at = $3
WHERE uid = (SELECT uid FROM backup_requests WHERE namespace = $1 AND name = $2 ORDER BY requested_at DESC, created_at DESC LIMIT 1)`,
		namespace, name, deletionTime.UTC())
	if err != nil {
		return c.wrap(op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return nil
}

// MarkBackupDeleted records that the backup's artefacts were removed at deletedAt.
func (c *Client) MarkBackupDeleted(ctx context.Context, uid string, deletedAt time.Time) error {
	op := fmt.Sprintf("mark backup uid %s deleted", uid)
	if !uidPattern.MatchString(uid) {
		return &ValidationError{Field: "uid", Reason: fmt.Sprintf("%q is not a UUID", truncate(uid, 80))}
	}
	res, err := c.db.ExecContext(ctx, `UPDATE backup_requests SET deleted_at = $2 WHERE uid = $1`, uid, deletedAt.UTC())
	if err != nil {
		return c.wrap(op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return nil
}

// GetProjectMetrics returns the aggregates of one project environment, or ErrNotFound.
func (c *Client) GetProjectMetrics(ctx context.Context, projectID, environment string) (*ProjectMetrics, error) {
	op := fmt.Sprintf("get metrics of project %s environment %s", projectID, environment)
	var m ProjectMetrics
	var last, lastOK sql.NullTime
	err := c.db.QueryRowContext(ctx, `SELECT project_id, environment, total_backups, succeeded_backups, failed_backups,
expired_backups, total_db_size_bytes, total_dl_bytes, total_dl_bytes_referenced, total_dl_objects, timed_backups,
total_duration_seconds, last_backup_at, last_success_at FROM backup_metrics WHERE project_id = $1 AND environment = $2`, projectID, environment).Scan(
		&m.ProjectID, &m.Environment, &m.TotalBackups, &m.SucceededBackups, &m.FailedBackups, &m.ExpiredBackups,
		&m.TotalDBSizeBytes, &m.TotalDLBytes, &m.TotalDLBytesReferenced, &m.TotalDLObjects, &m.TimedBackups, &m.TotalDurationSeconds, &last, &lastOK)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	if err != nil {
		return nil, c.wrap(op, err)
	}
	m.LastBackupAt, m.LastSuccessAt = timePtr(last), timePtr(lastOK)
	return &m, nil
}
