-- Backup-history schema: the embedded migrations of internal/database/migrations
-- concatenated, for reading. GENERATED: edit a migration (add a new one, never edit a
-- released one), then: go test ./internal/database -run TestSchemaFile -update
-- The controller records applied versions in schema_migrations.

-- ===== migration 0001: 0001_initial =====

-- 0001_initial: backup and restore history, per-environment aggregates, views.

-- set_updated_at keeps updated_at at the time of the last change of a row.
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- set_duration computes duration_seconds from start_time and completion_time.
CREATE OR REPLACE FUNCTION set_duration() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.start_time IS NOT NULL AND NEW.completion_time IS NOT NULL THEN
        NEW.duration_seconds := EXTRACT(EPOCH FROM (NEW.completion_time - NEW.start_time));
    ELSE
        NEW.duration_seconds := NULL;
    END IF;
    RETURN NEW;
END;
$$;

-- backup_requests: one row per BackupRequest object (keyed by its Kubernetes uid),
-- written by the archiver when the backup reaches a terminal phase.
CREATE TABLE backup_requests (
    uid                    UUID PRIMARY KEY,
    namespace              VARCHAR(63)  NOT NULL,
    name                   VARCHAR(253) NOT NULL,
    project_id             VARCHAR(63)  NOT NULL,
    environment            VARCHAR(63)  NOT NULL,
    provider               VARCHAR(16)  NOT NULL CHECK (provider IN ('aws', 'gcp', 'azure')),
    phase                  VARCHAR(16)  NOT NULL CHECK (phase IN ('Pending', 'InProgress', 'Succeeded', 'Failed', 'Expired')),
    reason                 VARCHAR(128),
    message                TEXT CHECK (length(message) <= 32768),
    db_backup_type         VARCHAR(16),
    db_instance_id         VARCHAR(63),
    db_snapshot_id         VARCHAR(255),
    db_snapshot_arn        VARCHAR(2048),
    db_engine              VARCHAR(64),
    db_engine_version      VARCHAR(64),
    db_size_bytes          BIGINT CHECK (db_size_bytes >= 0),
    dl_source_bucket       VARCHAR(63),
    dl_source_prefix       VARCHAR(1024),
    dl_destination_bucket  VARCHAR(63),
    dl_destination_prefix  VARCHAR(1024),
    dl_object_count        BIGINT CHECK (dl_object_count >= 0),
    dl_objects_excluded    BIGINT CHECK (dl_objects_excluded >= 0),
    dl_total_bytes         BIGINT CHECK (dl_total_bytes >= 0),
    manifest_location      VARCHAR(2048),
    manifest_checksum      VARCHAR(128),
    retention_days         INTEGER CHECK (retention_days BETWEEN 0 AND 3650),
    requested_at           TIMESTAMPTZ NOT NULL,
    start_time             TIMESTAMPTZ,
    completion_time        TIMESTAMPTZ,
    duration_seconds       DOUBLE PRECISION,
    expires_at             TIMESTAMPTZ,
    marked_for_deletion_at TIMESTAMPTZ,
    deleted_at             TIMESTAMPTZ,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (completion_time IS NULL OR start_time IS NULL OR completion_time >= start_time)
);

-- GetBackupRecord(namespace, name): newest row of that name.
CREATE INDEX backup_requests_namespace_name_idx ON backup_requests (namespace, name, requested_at DESC);
-- ListBackupsByProject(project, environment, limit).
CREATE INDEX backup_requests_project_env_idx ON backup_requests (project_id, environment, requested_at DESC);
-- Retention: expired and not yet deleted.
CREATE INDEX backup_requests_expires_idx ON backup_requests (expires_at) WHERE deleted_at IS NULL;
-- recent_successful_backups.
CREATE INDEX backup_requests_succeeded_idx ON backup_requests (completion_time DESC) WHERE phase = 'Succeeded';

CREATE TRIGGER backup_requests_updated_at BEFORE UPDATE ON backup_requests
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER backup_requests_duration BEFORE INSERT OR UPDATE ON backup_requests
    FOR EACH ROW EXECUTE FUNCTION set_duration();

-- restore_requests: restore history (restores are phase 2; the table is ready for them).
CREATE TABLE restore_requests (
    uid                UUID PRIMARY KEY,
    namespace          VARCHAR(63)  NOT NULL,
    name               VARCHAR(253) NOT NULL,
    project_id         VARCHAR(63)  NOT NULL,
    environment        VARCHAR(63)  NOT NULL,
    backup_request_uid UUID,
    backup_name        VARCHAR(253),
    phase              VARCHAR(16)  NOT NULL CHECK (phase IN ('Pending', 'InProgress', 'Succeeded', 'Failed')),
    reason             VARCHAR(128),
    message            TEXT CHECK (length(message) <= 32768),
    requested_at       TIMESTAMPTZ NOT NULL,
    start_time         TIMESTAMPTZ,
    completion_time    TIMESTAMPTZ,
    duration_seconds   DOUBLE PRECISION,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (completion_time IS NULL OR start_time IS NULL OR completion_time >= start_time)
);

CREATE INDEX restore_requests_project_env_idx ON restore_requests (project_id, environment, requested_at DESC);
CREATE INDEX restore_requests_backup_idx ON restore_requests (backup_request_uid);

CREATE TRIGGER restore_requests_updated_at BEFORE UPDATE ON restore_requests
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER restore_requests_duration BEFORE INSERT OR UPDATE ON restore_requests
    FOR EACH ROW EXECUTE FUNCTION set_duration();

-- backup_metrics: running aggregates per project and environment, kept by a trigger
-- on backup_requests with increments (commutative, so concurrent writers stay exact).
CREATE TABLE backup_metrics (
    project_id              VARCHAR(63) NOT NULL,
    environment             VARCHAR(63) NOT NULL,
    total_backups           BIGINT NOT NULL DEFAULT 0,
    succeeded_backups       BIGINT NOT NULL DEFAULT 0,
    failed_backups          BIGINT NOT NULL DEFAULT 0,
    expired_backups         BIGINT NOT NULL DEFAULT 0,
    total_db_size_bytes     BIGINT NOT NULL DEFAULT 0,
    total_dl_bytes          BIGINT NOT NULL DEFAULT 0,
    total_dl_objects        BIGINT NOT NULL DEFAULT 0,
    timed_backups           BIGINT NOT NULL DEFAULT 0,
    total_duration_seconds  DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_backup_at          TIMESTAMPTZ,
    last_success_at         TIMESTAMPTZ,
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, environment)
);

-- backup_metrics_apply adds (sign = 1) or removes (sign = -1) one row's contribution.
-- last_backup_at and last_success_at only move forward.
CREATE OR REPLACE FUNCTION backup_metrics_apply(r backup_requests, sign INTEGER) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO backup_metrics AS m (project_id, environment, total_backups, succeeded_backups, failed_backups,
        expired_backups, total_db_size_bytes, total_dl_bytes, total_dl_objects, timed_backups,
        total_duration_seconds, last_backup_at, last_success_at)
    VALUES (r.project_id, r.environment, sign,
        sign * (r.phase = 'Succeeded')::int,
        sign * (r.phase = 'Failed')::int,
        sign * (r.phase = 'Expired')::int,
        sign * COALESCE(r.db_size_bytes, 0),
        sign * COALESCE(r.dl_total_bytes, 0),
        sign * COALESCE(r.dl_object_count, 0),
        sign * (r.duration_seconds IS NOT NULL)::int,
        sign * COALESCE(r.duration_seconds, 0),
        CASE WHEN sign > 0 THEN r.requested_at END,
        CASE WHEN sign > 0 AND r.phase = 'Succeeded' THEN r.completion_time END)
    ON CONFLICT (project_id, environment) DO UPDATE SET
        total_backups          = m.total_backups + EXCLUDED.total_backups,
        succeeded_backups      = m.succeeded_backups + EXCLUDED.succeeded_backups,
        failed_backups         = m.failed_backups + EXCLUDED.failed_backups,
        expired_backups        = m.expired_backups + EXCLUDED.expired_backups,
        total_db_size_bytes    = m.total_db_size_bytes + EXCLUDED.total_db_size_bytes,
        total_dl_bytes         = m.total_dl_bytes + EXCLUDED.total_dl_bytes,
        total_dl_objects       = m.total_dl_objects + EXCLUDED.total_dl_objects,
        timed_backups          = m.timed_backups + EXCLUDED.timed_backups,
        total_duration_seconds = m.total_duration_seconds + EXCLUDED.total_duration_seconds,
        last_backup_at         = GREATEST(m.last_backup_at, EXCLUDED.last_backup_at),
        last_success_at        = GREATEST(m.last_success_at, EXCLUDED.last_success_at),
        updated_at             = now();
END;
$$;

CREATE OR REPLACE FUNCTION backup_metrics_maintain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM backup_metrics_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM backup_metrics_apply(NEW, 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER backup_requests_metrics AFTER INSERT OR UPDATE OR DELETE ON backup_requests
    FOR EACH ROW EXECUTE FUNCTION backup_metrics_maintain();

-- recent_successful_backups: succeeded in the last 30 days and not being deleted, newest first.
CREATE VIEW recent_successful_backups AS
SELECT uid, namespace, name, project_id, environment, provider,
       db_snapshot_id, db_size_bytes, dl_object_count, dl_total_bytes,
       manifest_location, start_time, completion_time, duration_seconds, expires_at
FROM backup_requests
WHERE phase = 'Succeeded'
  AND deleted_at IS NULL
  AND marked_for_deletion_at IS NULL
  AND completion_time >= now() - INTERVAL '30 days'
ORDER BY completion_time DESC;

-- backup_summary_by_project: backup_metrics summed over a project's environments.
CREATE VIEW backup_summary_by_project AS
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
       max(last_success_at)                     AS last_success_at
FROM backup_metrics
GROUP BY project_id;

-- ===== migration 0002: 0002_restores =====

-- 0002_restores: restores are real (RestoreRequest). Each row records the resolved
-- source, the targets and the outcome; rows are written on every phase change and are
-- final once Succeeded or Failed.

ALTER TABLE restore_requests
    -- A restore that fails before its source is resolved (no such BackupRequest, an
    -- unreadable manifest) is still recorded: its environment, and its project when
    -- the namespace carries no project label, are then unknown.
    ALTER COLUMN project_id  DROP NOT NULL,
    ALTER COLUMN environment DROP NOT NULL,
    -- The resolved source: the manifest's backupId, where the manifest is and its
    -- verified checksum, the database snapshot.
    ADD COLUMN backup_id          VARCHAR(512),
    ADD COLUMN manifest_location  VARCHAR(2048),
    ADD COLUMN manifest_checksum  VARCHAR(128),
    ADD COLUMN snapshot_id        VARCHAR(255),
    -- The targets: the new database instance, the document-library bucket and prefix.
    ADD COLUMN target_instance_id  VARCHAR(63),
    ADD COLUMN target_instance_arn VARCHAR(2048),
    ADD COLUMN target_bucket       VARCHAR(63),
    ADD COLUMN target_prefix       VARCHAR(1024),
    ADD COLUMN existing_objects    VARCHAR(16) CHECK (existing_objects IN ('Refuse', 'Skip', 'Overwrite')),
    -- verifyOnly: the backup was checked, nothing was written.
    ADD COLUMN verify_only         BOOLEAN NOT NULL DEFAULT false,
    -- The outcome.
    ADD COLUMN objects_restored    BIGINT CHECK (objects_restored >= 0),
    ADD COLUMN objects_skipped     BIGINT CHECK (objects_skipped >= 0),
    ADD COLUMN bytes_restored      BIGINT CHECK (bytes_restored >= 0),
    ADD COLUMN objects_missing     BIGINT CHECK (objects_missing >= 0),
    ADD COLUMN objects_different   BIGINT CHECK (objects_different >= 0);

-- FindCompletedRestore (one-shot restores): the newest Succeeded restore, not a
-- verification, of a project's backup; the targets are compared on the few rows left.
CREATE INDEX restore_requests_completed_idx ON restore_requests (project_id, backup_id, completion_time DESC)
    WHERE phase = 'Succeeded' AND NOT verify_only;
-- GetRestoreRecord(namespace, name): newest row of that name.
CREATE INDEX restore_requests_namespace_name_idx ON restore_requests (namespace, name, requested_at DESC);

-- ===== migration 0003: 0003_incremental =====

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

-- ===== migration 0004: 0004_dumps =====

-- 0004_dumps: a backup of type dump stores a verified logical dump of the database
-- (pg_dump, mariadb-dump) with the backup instead of, or beside, a snapshot.
-- Rows written before this migration, and every snapshot backup, have NULL in every
-- new column.

ALTER TABLE backup_requests
    -- Where the dump is, s3://bucket/prefix/database/dump.<ext>.
    ADD COLUMN db_dump_location        VARCHAR(2048),
    -- Its size and lowercase hex SHA-256, as stored and read back.
    ADD COLUMN db_dump_size_bytes      BIGINT CHECK (db_dump_size_bytes >= 0),
    ADD COLUMN db_dump_sha256          VARCHAR(64) CHECK (db_dump_sha256 ~ '^[0-9a-f]{64}$'),
    -- The dumped server's version, and the dump program with its version.
    ADD COLUMN db_dump_server_version  VARCHAR(64),
    ADD COLUMN db_dump_tool            VARCHAR(128),
    -- The dump's start and its verified end; db_dump_duration_seconds follows them.
    ADD COLUMN db_dump_start_time      TIMESTAMPTZ,
    ADD COLUMN db_dump_completion_time TIMESTAMPTZ,
    ADD COLUMN db_dump_duration_seconds DOUBLE PRECISION GENERATED ALWAYS AS
        (EXTRACT(EPOCH FROM (db_dump_completion_time - db_dump_start_time))) STORED,
    -- Only a dump backup has a dump; a stored dump has all of its facts.
    ADD CONSTRAINT backup_requests_dump_columns CHECK (
        (db_dump_location IS NULL AND db_dump_size_bytes IS NULL AND db_dump_sha256 IS NULL
            AND db_dump_completion_time IS NULL)
        OR (db_backup_type = 'dump' AND db_dump_location IS NOT NULL AND db_dump_size_bytes IS NOT NULL
            AND db_dump_sha256 IS NOT NULL AND db_dump_completion_time IS NOT NULL)),
    ADD CONSTRAINT backup_requests_dump_times CHECK (
        db_dump_completion_time IS NULL OR db_dump_start_time IS NULL OR db_dump_completion_time >= db_dump_start_time);

-- ===== migration 0005: 0005_restore_dump_targets =====

-- 0005_restore_dump_targets: a RestoreRequest can load a dump into a database named by
-- a connection Secret. Its target is recorded in target_instance_id as
-- "secret/<Secret name>" (an instance identifier has no '/', so the two never
-- collide), and a Secret's name has up to 253 characters.

ALTER TABLE restore_requests
    ALTER COLUMN target_instance_id TYPE VARCHAR(260);
