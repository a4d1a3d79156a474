-- 0005_restore_dump_targets: a RestoreRequest can load a dump into a database named by
-- a connection Secret. Its target is recorded in target_instance_id as
-- "secret/<Secret name>" (an instance identifier has no '/', so the two never
-- collide), and a Secret's name has up to 253 characters.

ALTER TABLE restore_requests
    ALTER COLUMN target_instance_id TYPE VARCHAR(260);
