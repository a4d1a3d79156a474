package gcp

import (
	"fmt"
	"strings"
)

// GCS label keys allow only lowercase letters, digits, "_" and "-" (at most 63
// characters, starting with a letter), while the controller's tag keys are domain
// paths such as "backup.liferay.cloud/project-id". A tag key maps to a label key by
// writing "." as "_" and "/" as "__", and back the other way round:
//
//	backup.liferay.cloud/project-id             ↔ backup_liferay_cloud__project-id
//	backup.liferay.cloud/shared-backup-bucket   ↔ backup_liferay_cloud__shared-backup-bucket
//	team                                        ↔ team
//
// Every key of lowercase letters, digits, "-", "." and "/" that starts with a letter
// and has no "." or "/" next to another maps one to one. Label values are not mapped:
// they must already be valid label values (lowercase letters, digits, "_", "-").

// maxLabelKey is the longest label key GCS accepts.
const maxLabelKey = 63

// LabelKey is the bucket label key that carries tag key tagKey, or an error saying why
// tagKey cannot be a label key.
func LabelKey(tagKey string) (string, error) {
	if tagKey == "" || tagKey[0] < 'a' || tagKey[0] > 'z' {
		return "", fmt.Errorf("tag key %q must start with a lowercase letter to be a GCS label key", tagKey)
	}
	var b strings.Builder
	prevSeparator := false
	for _, r := range tagKey {
		separator := r == '.' || r == '/'
		switch {
		case separator && prevSeparator:
			return "", fmt.Errorf("tag key %q has two separators (\".\" or \"/\") in a row, which no label key can carry", tagKey)
		case r == '.':
			b.WriteString("_")
		case r == '/':
			b.WriteString("__")
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			return "", fmt.Errorf("tag key %q has %q: a GCS label key allows only lowercase letters, digits, \"-\", and \".\" or \"/\" (written \"_\" and \"__\")", tagKey, r)
		}
		prevSeparator = separator
	}
	if b.Len() > maxLabelKey {
		return "", fmt.Errorf("tag key %q is label key %q, longer than GCS's %d characters", tagKey, b.String(), maxLabelKey)
	}
	return b.String(), nil
}

// TagKey is the tag key a bucket label key carries: "__" reads as "/", "_" as ".".
// A label key that no tag key maps to (a run of three "_" or more, or one ending in
// "_") is returned unchanged, so labels set by people stay visible.
func TagKey(labelKey string) string {
	if strings.Contains(labelKey, "___") || strings.HasSuffix(labelKey, "_") {
		return labelKey
	}
	return strings.ReplaceAll(strings.ReplaceAll(labelKey, "__", "/"), "_", ".")
}

// tagsFromLabels turns a bucket's labels into tags; the map is never nil.
func tagsFromLabels(labels map[string]string) map[string]string {
	tags := make(map[string]string, len(labels))
	for key, value := range labels {
		tags[TagKey(key)] = value
	}
	return tags
}
