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
