package aws

import (
	"maps"
	"slices"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// Tag keys written on every snapshot and restored instance (provider.OwnerTags). They
// let the controller recognise its own resources after a restart and let people find
// a resource's request in the console.
const (
	TagManagedBy        = provider.TagManagedBy
	TagProjectID        = provider.TagProjectID
	TagEnvironment      = provider.TagEnvironment
	TagBackupNamespace  = provider.TagOwnerNamespace
	TagBackupName       = provider.TagOwnerName
	TagBackupUID        = provider.TagOwnerUID
	ManagedByController = provider.ManagedByController
)

// ownerTags returns the tags recording owner, in key order.
func ownerTags(owner provider.BackupOwner) []rdstypes.Tag {
	return rdsTags(provider.OwnerTags(owner))
}

// rdsTags turns a tag map into RDS tags in key order (stable requests, stable tests).
func rdsTags(m map[string]string) []rdstypes.Tag {
	tags := make([]rdstypes.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		tags = append(tags, rdstypes.Tag{Key: &k, Value: new(m[k])})
	}
	return tags
}

// tagMap turns RDS tags into a map; it is never nil.
func tagMap(tags []rdstypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		if t.Key != nil {
			m[*t.Key] = awssdk.ToString(t.Value)
		}
	}
	return m
}

// ownerFromTags reads the owner back from a resource's tags.
func ownerFromTags(tags []rdstypes.Tag) provider.BackupOwner {
	return provider.OwnerFromTags(tagMap(tags))
}

// sameOwner reports whether a resource tagged with found belongs to want (see
// provider.SameOwner).
func sameOwner(found, want provider.BackupOwner) bool {
	return provider.SameOwner(found, want)
}
