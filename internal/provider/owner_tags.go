package provider

import (
	"fmt"
	"strings"
)

// Tag keys recording a resource's owner (a BackupRequest's snapshot, a RestoreRequest's
// instance). Every provider writes the same keys, so the controller recognises its own
// resources after a restart and people find a resource's request in the console.
const (
	TagManagedBy        = "backup.liferay.cloud/managed-by"
	TagProjectID        = "backup.liferay.cloud/project-id"
	TagEnvironment      = "backup.liferay.cloud/environment"
	TagOwnerNamespace   = "backup.liferay.cloud/backup-request-namespace"
	TagOwnerName        = "backup.liferay.cloud/backup-request-name"
	TagOwnerUID         = "backup.liferay.cloud/backup-request-uid"
	ManagedByController = "lc2-backup-controller"
)

// OwnerTags returns the tags recording owner. Empty fields are left out: RDS accepts
// empty tag values but some emulators refuse them.
func OwnerTags(owner BackupOwner) map[string]string {
	tags := map[string]string{TagManagedBy: ManagedByController}
	for key, value := range map[string]string{
		TagProjectID: owner.ProjectID, TagEnvironment: owner.Environment,
		TagOwnerNamespace: owner.Namespace, TagOwnerName: owner.Name, TagOwnerUID: owner.UID,
	} {
		if value != "" {
			tags[key] = value
		}
	}
	return tags
}

// OwnerFromTags reads an owner back from a resource's tags; fields without a tag are empty.
func OwnerFromTags(tags map[string]string) BackupOwner {
	return BackupOwner{
		ProjectID: tags[TagProjectID], Environment: tags[TagEnvironment],
		Namespace: tags[TagOwnerNamespace], Name: tags[TagOwnerName], UID: tags[TagOwnerUID],
	}
}

// SameOwner reports whether a resource tagged with found belongs to want: the request's
// identity (namespace, name and UID) must match exactly, and an owner without a UID
// never matches (an untagged resource is nobody's).
func SameOwner(found, want BackupOwner) bool {
	return want.UID != "" && found.UID == want.UID && found.Namespace == want.Namespace && found.Name == want.Name
}

// RestoredInstanceTags are the tags of an instance restored for owner with settings:
// the recorded tags of the source instance, less the owner tags it carried (its own
// request's, or none) and AWS's reserved "aws:" tags (no caller may set those), plus
// owner's tags, which also set the project tag to owner's project.
func RestoredInstanceTags(settings map[string]string, owner BackupOwner) map[string]string {
	tags := make(map[string]string, len(settings)+6)
	for key, value := range settings {
		switch {
		case strings.HasPrefix(strings.ToLower(key), "aws:"):
		case key == TagManagedBy, key == TagEnvironment, key == TagOwnerNamespace, key == TagOwnerName, key == TagOwnerUID:
		default:
			tags[key] = value
		}
	}
	for key, value := range OwnerTags(owner) {
		tags[key] = value
	}
	return tags
}

// NotOwnedInstanceMessage is the sentence of the KindConflict error of an existing
// instance that want may not adopt or delete: it names the instance and whom its owner
// tags name, if anyone. Callers append what it means for their operation.
func NotOwnedInstanceMessage(instanceID string, found, want BackupOwner) string {
	if found.UID == "" {
		return fmt.Sprintf("database instance %s exists and was not created by %s/%s (it carries no owner tags)",
			instanceID, want.Namespace, want.Name)
	}
	return fmt.Sprintf("database instance %s exists and belongs to %s/%s (uid %q), not to %s/%s (uid %q)",
		instanceID, found.Namespace, found.Name, found.UID, want.Namespace, want.Name, want.UID)
}
