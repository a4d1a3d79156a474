package gcp

import (
	"context"
	"maps"
	"regexp"
	"strings"
	"testing"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// labelKeyPattern is what GCS accepts as a label key.
var labelKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// Every tag key the controller reads or writes has a label key, documented in
// docs/gcp-provider.md, and reads back as itself.
func TestLabelKeysOfTheControllersTags(t *testing.T) {
	want := map[string]string{
		provider.TagProjectID:                "backup_liferay_cloud__project-id",
		provider.TagManagedBy:                "backup_liferay_cloud__managed-by",
		provider.TagEnvironment:              "backup_liferay_cloud__environment",
		provider.TagOwnerNamespace:           "backup_liferay_cloud__backup-request-namespace",
		provider.TagOwnerName:                "backup_liferay_cloud__backup-request-name",
		provider.TagOwnerUID:                 "backup_liferay_cloud__backup-request-uid",
		backupv1alpha1.SharedBackupBucketTag: "backup_liferay_cloud__shared-backup-bucket",
		"team":                               "team",
		"cost-center":                        "cost-center",
	}
	for tag, label := range want {
		got, err := LabelKey(tag)
		if err != nil || got != label {
			t.Errorf("LabelKey(%q) = %q, %v; want %q", tag, got, err, label)
			continue
		}
		if !labelKeyPattern.MatchString(got) {
			t.Errorf("LabelKey(%q) = %q, which GCS does not accept as a label key", tag, got)
		}
		if back := TagKey(got); back != tag {
			t.Errorf("TagKey(%q) = %q, want %q back", got, back, tag)
		}
	}
}

func TestLabelKeyRefusesTagKeysNoLabelCarries(t *testing.T) {
	for _, tag := range []string{
		"",
		"Backup.liferay.cloud/project-id", // uppercase
		"backup.liferay.cloud/Project",
		"1st",                   // not a letter first
		"cost_center",           // "_" would read back as "."
		"a./b",                  // two separators in a row
		"a//b",                  // likewise
		"team name",             // space
		"équipe",                // non-ASCII
		strings.Repeat("a", 64), // too long
	} {
		if got, err := LabelKey(tag); err == nil {
			t.Errorf("LabelKey(%q) = %q, want an error", tag, got)
		}
	}
}

// A label no tag maps to reads as itself rather than as a tag it is not.
func TestTagKeyOfLabelsNoTagMapsTo(t *testing.T) {
	for label, want := range map[string]string{
		"a___b":       "a___b",
		"trailing_":   "trailing_",
		"env":         "env",
		"cost_center": "cost.center",
	} {
		if got := TagKey(label); got != want {
			t.Errorf("TagKey(%q) = %q, want %q", label, got, want)
		}
	}
}

func TestTagsFromLabelsIsNeverNil(t *testing.T) {
	if got := tagsFromLabels(nil); got == nil || len(got) != 0 {
		t.Fatalf("tagsFromLabels(nil) = %#v, want an empty map", got)
	}
	got := tagsFromLabels(map[string]string{"backup_liferay_cloud__project-id": "retail", "team": "commerce"})
	if want := map[string]string{provider.TagProjectID: "retail", "team": "commerce"}; !maps.Equal(got, want) {
		t.Fatalf("tagsFromLabels = %v, want %v", got, want)
	}
}

// A bucket labelled the documented way is owned by its project as the controller
// reads ownership (the OwnershipTagKey tag), through the provider.
func TestBucketLabelledForAProjectReadsAsItsOwnershipTag(t *testing.T) {
	raw := newRawClient(t, gaps.URL)
	label, err := LabelKey(backupv1alpha1.OwnershipTagKey)
	if err != nil {
		t.Fatal(err)
	}
	bucket := raw.newBucket(t, map[string]string{label: "retail"})
	tags, err := newTestProvider(t, gaps.URL, Options{}).BucketTags(context.Background(), bucket)
	if err != nil || tags[backupv1alpha1.OwnershipTagKey] != "retail" {
		t.Fatalf("BucketTags = %v, %v; want %s=retail", tags, err, backupv1alpha1.OwnershipTagKey)
	}
}
