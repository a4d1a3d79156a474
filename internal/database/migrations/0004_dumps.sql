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
