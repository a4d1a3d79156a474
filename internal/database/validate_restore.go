package database

import (
	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

var (
	restorePhases = map[string]bool{
		string(backupv1alpha1.RestorePhasePending): true, string(backupv1alpha1.RestorePhaseInProgress): true,
		string(backupv1alpha1.RestorePhaseSucceeded): true, string(backupv1alpha1.RestorePhaseFailed): true,
	}
	existingObjectsPolicies = map[string]bool{
		string(backupv1alpha1.ExistingObjectsRefuse): true, string(backupv1alpha1.ExistingObjectsSkip): true,
		string(backupv1alpha1.ExistingObjectsOverwrite): true,
	}
)

// Validate reports the first field of r that the schema would reject, as a
// *ValidationError, so a bad value gives a clear error before touching the database.
func (r *RestoreRecord) Validate() error {
	if r == nil {
		return &ValidationError{Record: restoreRecord, Field: "record", Reason: "is nil"}
	}
	c := &checker{record: restoreRecord}
	c.object(r.UID, r.Namespace, r.Name)
	// Empty when the restore failed before its backup was resolved.
	c.label("project_id", r.ProjectID, false)
	c.label("environment", r.Environment, false)
	c.uuid("backup_request_uid", r.BackupRequestUID, false)
	c.text("backup_name", r.BackupName, 253, false)
	c.oneOf("phase", r.Phase, restorePhases, "Pending, InProgress, Succeeded, Failed")
	c.reasonMessage(r.Reason, r.Message)
	c.text("backup_id", r.BackupID, 512, false)
	c.text("manifest_location", r.ManifestLocation, 2048, false)
	c.text("manifest_checksum", r.ManifestChecksum, 128, false)
	c.text("snapshot_id", r.SnapshotID, 255, false)
	c.text("target_instance_id", r.TargetInstanceID, maxRestoreTarget, false)
	c.text("target_instance_arn", r.TargetInstanceARN, 2048, false)
	c.text("target_bucket", r.TargetBucket, 63, false)
	c.text("target_prefix", r.TargetPrefix, 1024, false)
	if r.ExistingObjects != "" {
		c.oneOf("existing_objects", r.ExistingObjects, existingObjectsPolicies, "Refuse, Skip, Overwrite")
	}
	c.nonNegative("objects_restored", r.ObjectsRestored)
	c.nonNegative("objects_skipped", r.ObjectsSkipped)
	c.nonNegative("bytes_restored", r.BytesRestored)
	c.nonNegative("objects_missing", r.ObjectsMissing)
	c.nonNegative("objects_different", r.ObjectsDifferent)
	c.times(r.RequestedAt, r.StartTime, r.CompletionTime, nil)
	if c.err != nil {
		return c.err
	}
	return nil
}

// Validate reports the first field of k that cannot match a stored restore.
func (k RestoreKey) Validate() error {
	c := &checker{record: restoreKey}
	c.text("project_id", k.ProjectID, 63, true)
	c.text("backup_id", k.BackupID, 512, true)
	c.text("target_instance_id", k.TargetInstanceID, maxRestoreTarget, false)
	c.text("target_bucket", k.TargetBucket, 63, false)
	c.text("target_prefix", k.TargetPrefix, 1024, false)
	c.match("exclude_uid", k.ExcludeUID, uidPattern, "a UUID")
	if k.TargetInstanceID == "" && k.TargetBucket == "" {
		c.fail("target_instance_id", "is required when target_bucket is empty: a restore writes into at least one target")
	}
	if c.err != nil {
		return c.err
	}
	return nil
}

// maxRestoreTarget bounds target_instance_id: an instance identifier (63), or
// "secret/" and a Secret's name (253) for a dump loaded into a Secret's database.
const maxRestoreTarget = 260
