-- 0003_incremental: document-library backups are Full or Incremental
-- (spec.documentLibrary.mode). An Incremental backup stores each file version once
-- in its project environment's repository and copies only what the repository
-- lacks, so the bytes it adds to storage are the bytes it copied, not its size.
-- Rows written before this migration have NULL in every new column: a NULL dl_mode
-- on a row with a document library means Full (the only mode there was); on a
-- database-only backup it means there is no document library.

ALTER TABLE backup_requests
    -- How the files are stored: Full (every file under the backup's own destination
    -- prefix) or Incremental (in the repository).
    ADD COLUMN dl_mode               VARCHAR(16) CHECK (dl_mode IN ('Full', 'Incremental')),
    -- Incremental only: the objects and bytes the backup copied into the repository
    -- (what it added to storage) and those it found there and references without a
    -- copy. Together they are at most dl_object_count and dl_total_bytes. A Full
    -- backup leaves them NULL: it copied everything it holds (dl_object_count,
    -- dl_total_bytes).
    ADD COLUMN dl_objects_copied     BIGINT CHECK (dl_objects_copied >= 0),
    ADD COLUMN dl_objects_referenced BIGINT CHECK (dl_objects_referenced >= 0),
    ADD COLUMN dl_bytes_copied       BIGINT CHECK (dl_bytes_copied >= 0),
    ADD COLUMN dl_bytes_referenced   BIGINT CHECK (dl_bytes_referenced >= 0),
    -- Incremental only: the repository holding the objects, s3://bucket/prefix/,
    -- shared by the environment's Incremental backups and outliving each of them:
    -- which backups depend on a repository is a query on this column.
    ADD COLUMN dl_repository         VARCHAR(2048),
    -- Which moment the files show: PointInTime (a versioned source; every file as it
    -- was at dl_point_in_time) or Live (an unversioned source read while the copy
    -- ran, so files may differ from what the database snapshot references). Both
    -- modes; NULL when unknown (older rows, a backup failed before copying).
    ADD COLUMN dl_consistency        VARCHAR(16) CHECK (dl_consistency IN ('PointInTime', 'Live')),
    -- The moment the copied file versions were current: the database snapshot's
    -- creation time, or the copy's start for a files-only backup.
    ADD COLUMN dl_point_in_time      TIMESTAMPTZ,
    -- The copied/referenced split and the repository exist only for Incremental
    -- backups (a NULL dl_mode is Full).
    ADD CONSTRAINT backup_requests_dl_incremental_columns CHECK (
        COALESCE(dl_mode, 'Full') = 'Incremental'
        OR (dl_objects_copied IS NULL AND dl_objects_referenced IS NULL
            AND dl_bytes_copied IS NULL AND dl_bytes_referenced IS NULL AND dl_repository IS NULL)),
    -- An Incremental backup's objects are each copied or referenced, never both.
    ADD CONSTRAINT backup_requests_dl_incremental_split CHECK (
        COALESCE(dl_mode, 'Full') <> 'Incremental'
        OR (COALESCE(dl_objects_copied, 0) + COALESCE(dl_objects_referenced, 0) <= COALESCE(dl_object_count, 0)
            AND COALESCE(dl_bytes_copied, 0) + COALESCE(dl_bytes_referenced, 0) <= COALESCE(dl_total_bytes, 0)));

-- backup_metrics.total_dl_bytes becomes the bytes the backups stored: dl_bytes_copied
-- for an Incremental backup (what it referenced was already in the repository) and,
-- as before, dl_total_bytes for a Full one. total_dl_bytes_referenced is the rest of
-- the Incremental backups' size, so total_dl_bytes + total_dl_bytes_referenced is the
-- size of all backups. Every existing row is Full, so the existing aggregates are
-- already right and the new column starts at 0. total_dl_objects still counts every
-- object the backups hold.
ALTER TABLE backup_metrics
    ADD COLUMN total_dl_bytes_referenced BIGINT NOT NULL DEFAULT 0;

-- backup_metrics_apply as in 0001, with the stored bytes per mode and the referenced
-- bytes.
CREATE OR REPLACE FUNCTION backup_metrics_apply(r backup_requests, sign INTEGER) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO backup_metrics AS m (project_id, environment, total_backups, succeeded_backups, failed_backups,
        expired_backups, total_db_size_bytes, total_dl_bytes, total_dl_bytes_referenced, total_dl_objects, timed_backups,
        total_duration_seconds, last_backup_at, last_success_at)
    VALUES (r.project_id, r.environment, sign,
        sign * (r.phase = 'Succeeded')::int,
        sign * (r.phase = 'Failed')::int,
        sign * (r.phase = 'Expired')::int,
        sign * COALESCE(r.db_size_bytes, 0),
        sign * CASE WHEN r.dl_mode = 'Incremental' THEN COALESCE(r.dl_bytes_copied, 0)
                    ELSE COALESCE(r.dl_total_bytes, 0) END,
        sign * COALESCE(r.dl_bytes_referenced, 0),
        sign * COALESCE(r.dl_object_count, 0),
        sign * (r.duration_seconds IS NOT NULL)::int,
        sign * COALESCE(r.duration_seconds, 0),
        CASE WHEN sign > 0 THEN r.requested_at END,
        CASE WHEN sign > 0 AND r.phase = 'Succeeded' THEN r.completion_time END)
    ON CONFLICT (project_id, environment) DO UPDATE SET
        total_backups             = m.total_backups + EXCLUDED.total_backups,
        succeeded_backups         = m.succeeded_backups + EXCLUDED.succeeded_backups,
        failed_backups            = m.failed_backups + EXCLUDED.failed_backups,
        expired_backups           = m.expired_backups + EXCLUDED.expired_backups,
        total_db_size_bytes       = m.total_db_size_bytes + EXCLUDED.total_db_size_bytes,
        total_dl_bytes            = m.total_dl_bytes + EXCLUDED.total_dl_bytes,
        total_dl_bytes_referenced = m.total_dl_bytes_referenced + EXCLUDED.total_dl_bytes_referenced,
        total_dl_objects          = m.total_dl_objects + EXCLUDED.total_dl_objects,
        timed_backups             = m.timed_backups + EXCLUDED.timed_backups,
        total_duration_seconds    = m.total_duration_seconds + EXCLUDED.total_duration_seconds,
        last_backup_at            = GREATEST(m.last_backup_at, EXCLUDED.last_backup_at),
        last_success_at           = GREATEST(m.last_success_at, EXCLUDED.last_success_at),
        updated_at                = now();
END;
$$;

-- recent_successful_backups as in 0001, plus the mode and the copied/referenced split
-- (dl_total_bytes of an Incremental backup is its size, not what it stored).
CREATE OR REPLACE VIEW recent_successful_backups AS
SELECT uid, namespace, name, project_id, environment, provider,
       db_snapshot_id, db_size_bytes, dl_object_count, dl_total_bytes,
       manifest_location, start_time, completion_time, duration_seconds, expires_at,
       COALESCE(dl_mode, CASE WHEN dl_destination_bucket IS NOT NULL THEN 'Full' END) AS dl_mode,
       dl_bytes_copied, dl_bytes_referenced, dl_consistency
FROM backup_requests
WHERE phase = 'Succeeded'
  AND deleted_at IS NULL
  AND marked_for_deletion_at IS NULL
  AND completion_time >= now() - INTERVAL '30 days'
ORDER BY completion_time DESC;

-- backup_summary_by_project as in 0001, plus the referenced bytes (total_dl_bytes is
-- now the bytes stored).
CREATE OR REPLACE VIEW backup_summary_by_project AS
SELECT project_id,
       count(*)                                 AS environments,
       sum(total_backups)::bigint               AS total_backups,
       sum(succeeded_backups)::bigint           AS succeeded_backups,
       sum(failed_backups)::bigint              AS failed_backups,
       sum(expired_backups)::bigint             AS expired_backups,
       CASE WHEN sum(succeeded_backups + failed_backups) > 0
            THEN round(100.0 * sum(succeeded_backups) / sum(succeeded_backups + failed_backups), 2)
       END                                      AS success_rate_percent,
       sum(total_db_size_bytes)::bigint         AS total_db_size_bytes,
       sum(total_dl_bytes)::bigint              AS total_dl_bytes,
       CASE WHEN sum(timed_backups) > 0
            THEN sum(total_duration_seconds) / sum(timed_backups)
       END                                      AS avg_duration_seconds,
       max(last_backup_at)                      AS last_backup_at,
       max(last_success_at)                     AS last_success_at,
       sum(total_dl_bytes_referenced)::bigint   AS total_dl_bytes_referenced
FROM backup_metrics
GROUP BY project_id;
