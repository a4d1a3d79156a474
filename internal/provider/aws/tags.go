package aws

import (
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// Tag keys written on every snapshot. They let the controller recognise its own
// snapshot after a restart and let people find a snapshot's BackupRequest in the console.
const (
	TagManagedBy        = "backup.liferay.cloud/managed-by"
	TagProjectID        = "backup.liferay.cloud/project-id"
	TagEnvironment      = "backup.liferay.cloud/environment"
	TagBackupNamespace  = "backup.liferay.cloud/backup-request-namespace"
	TagBackupName       = "backup.liferay.cloud/backup-request-name"
	TagBackupUID        = "backup.liferay.cloud/backup-request-uid"
	ManagedByController = "lc2-backup-controller"
)

// ownerTags returns the tags recording owner; empty fields are left out because RDS
// tag values may be empty but some emulators refuse them.
func ownerTags(owner provider.BackupOwner) []rdstypes.Tag {
	pairs := [][2]string{
		{TagManagedBy, ManagedByController},
		{TagProjectID, owner.ProjectID},
		{TagEnvironment, owner.Environment},
		{TagBackupNamespace, owner.Namespace},
		{TagBackupName, owner.Name},
		{TagBackupUID, owner.UID},
	}
	tags := make([]rdstypes.Tag, 0, len(pairs))
	for _, p := range pairs {
		if p[1] == "" {
			continue
		}
		tags = append(tags, rdstypes.Tag{Key: &p[0], Value: &p[1]})
	}
	return tags
}

// ownerFromTags reads the owner back from a snapshot's tags.
func ownerFromTags(tags []rdstypes.Tag) provider.BackupOwner {
	var o provider.BackupOwner
	for _, t := range tags {
		if t.Key == nil || t.Value == nil {
			continue
		}
		switch *t.Key {
		case TagProjectID:
			o.ProjectID = *t.Value
		case TagEnvironment:
			o.Environment = *t.Value
		case TagBackupNamespace:
			o.Namespace = *t.Value
		case TagBackupName:
			o.Name = *t.Value
		case TagBackupUID:
			o.UID = *t.Value
		}
	}
	return o
}

// sameOwner reports whether a snapshot tagged with found belongs to want: the
// BackupRequest identity (namespace, name, UID) must match exactly.
func sameOwner(found, want provider.BackupOwner) bool {
	return found.UID == want.UID && found.Namespace == want.Namespace && found.Name == want.Name
}
