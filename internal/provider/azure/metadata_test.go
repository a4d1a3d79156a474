package azure

import (
	"maps"
	"strings"
	"testing"
	"unicode"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// The names docs/azure-provider.md tells people to set on a container: a change here is
// a change of the documented contract with every existing container.
func TestMetadataNameOfTheControllersTags(t *testing.T) {
	for key, want := range map[string]string{
		backupv1alpha1.OwnershipTagKey:       "backup_liferay_cloud__project_id", // provider.TagProjectID too
		backupv1alpha1.SharedBackupBucketTag: "backup_liferay_cloud__shared_backup_bucket",
		provider.TagManagedBy:                "backup_liferay_cloud__managed_by",
		provider.TagEnvironment:              "backup_liferay_cloud__environment",
		provider.TagOwnerNamespace:           "backup_liferay_cloud__backup_request_namespace",
		provider.TagOwnerName:                "backup_liferay_cloud__backup_request_name",
		provider.TagOwnerUID:                 "backup_liferay_cloud__backup_request_uid",
		"team":                               "team",
		"Team":                               "_54eam",
		"backup.liferay.cloud/project":       "backup_liferay_cloud__project",
		"example.com/owner":                  "example_2ecom_2fowner",
		"1st":                                "_31st",
		"owner_team":                         "owner_5fteam",
		"backup.liferay.cloud/Project":       "backup_2eliferay_2ecloud_2f_50roject",
	} {
		if got := MetadataName(key); got != want {
			t.Errorf("MetadataName(%q) = %q, want %q", key, got, want)
		}
		if got := TagKey(want); got != key {
			t.Errorf("TagKey(%q) = %q, want %q", want, got, key)
		}
	}
}

func TestMetadataNamesAreCaseInsensitiveIdentifiersAndRoundTrip(t *testing.T) {
	keys := []string{
		"a", "z9", "backup.liferay.cloud/x", "backup.liferay.cloud/a--b", "backup.liferay.cloud/-x",
		"backup.liferay.cloud/", "backup.liferay.cloud/a_b", "UPPER", "with space", "é", "x/y.z-w_v",
		"__", "_", "a_2e", "backup_liferay_cloud__project_id",
	}
	names := map[string]string{}
	for _, key := range keys {
		name := MetadataName(key)
		if !csharpIdentifier(name) {
			t.Errorf("MetadataName(%q) = %q is not a C# identifier", key, name)
		}
		if name != strings.ToLower(name) {
			t.Errorf("MetadataName(%q) = %q is not lowercase: Azure compares names case-insensitively", key, name)
		}
		if other, dup := names[name]; dup {
			t.Errorf("keys %q and %q both map to %q", key, other, name)
		}
		names[name] = key
		// Azure may hand a name back in another case.
		if got := TagKey(strings.ToUpper(name)); got != key {
			t.Errorf("TagKey(%q) = %q, want %q", strings.ToUpper(name), got, key)
		}
	}
}

func TestTagsFromMetadataReadsBackWhatMetadataFromTagsWrote(t *testing.T) {
	tags := map[string]string{backupv1alpha1.OwnershipTagKey: "retail", "team": "commerce", "Cost Center": "42"}
	if got := TagsFromMetadata(MetadataFromTags(tags)); !maps.Equal(got, tags) {
		t.Fatalf("round trip = %v, want %v", got, tags)
	}
	if got := TagsFromMetadata(nil); got == nil || len(got) != 0 {
		t.Fatalf("TagsFromMetadata(nil) = %#v, want an empty map", got)
	}
	// A name set by hand that no rule produces is read as it is, lowercased.
	hand := "Owner_Team"
	if got := TagsFromMetadata(map[string]*string{hand: new("x")}); got["owner_team"] != "x" {
		t.Fatalf("hand-set name read as %v", got)
	}
}

// csharpIdentifier reports whether name is a C# identifier of ASCII characters.
func csharpIdentifier(name string) bool {
	if name == "" || unicode.IsDigit(rune(name[0])) {
		return false
	}
	for _, r := range name {
		if identifierRune := unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'; r > unicode.MaxASCII || !identifierRune {
			return false
		}
	}
	return true
}
