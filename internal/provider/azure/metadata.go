package azure

import (
	"fmt"
	"strings"
)

// Container metadata carries what bucket tags carry on AWS (the project ownership
// tag, the shared-backup-bucket tag). Azure metadata names must be C# identifiers
// (letters, digits and "_", not starting with a digit) and are case-insensitive, while
// tag keys such as "backup.liferay.cloud/project-id" hold "." "/" and "-". A tag key
// maps to a metadata name, and back, by the first of three rules that applies; each
// rule's names are told apart from the others' without ambiguity:
//
//  1. A key of lowercase letters and digits starting with a letter is its own name:
//     "team" ↔ "team". These names hold no "_".
//  2. A key under the controller's domain, "backup.liferay.cloud/" followed by
//     lowercase letters, digits and "-", becomes "backup_liferay_cloud__" followed by
//     the rest with "-" as "_": "backup.liferay.cloud/project-id" ↔
//     "backup_liferay_cloud__project_id". These names start with that prefix, which
//     holds "__".
//  3. Any other key is written byte by byte, lowercase letters and digits as they are
//     (a leading digit aside) and every other byte as "_" and two lowercase hex
//     digits: "Team" ↔ "_54eam", "backup.liferay.cloud/project" ↔
//     "backup_2eliferay_2ecloud_2fproject". These names hold "_" but never "__".
//
// Names are compared in lowercase, as Azure compares them. A metadata name that none of
// the rules produces (set by hand, for example "Owner_Team") is read as a tag of that
// name, lowercased.
const (
	// tagDomain is the tag key prefix of the controller's own tags (provider.TagProjectID...).
	tagDomain = "backup.liferay.cloud/"
	// domainPrefix is tagDomain's metadata form (rule 2).
	domainPrefix = "backup_liferay_cloud__"
)

// MetadataName is the container metadata name that carries tag key.
func MetadataName(key string) string {
	if plainName(key) {
		return key
	}
	if rest, ok := strings.CutPrefix(key, tagDomain); ok && domainSuffix(rest) {
		return domainPrefix + strings.ReplaceAll(rest, "-", "_")
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'a' && c <= 'z' || lowerAlnum(c) && i > 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "_%02x", c)
	}
	return b.String()
}

// TagKey is the tag key that container metadata name carries (MetadataName's inverse).
func TagKey(name string) string {
	name = strings.ToLower(name)
	if rest, ok := strings.CutPrefix(name, domainPrefix); ok {
		return tagDomain + strings.ReplaceAll(rest, "_", "-")
	}
	if !strings.Contains(name, "_") {
		return name
	}
	if key, ok := unescapeName(name); ok {
		return key
	}
	return name
}

// MetadataFromTags is the container metadata that carries tags.
func MetadataFromTags(tags map[string]string) map[string]*string {
	metadata := make(map[string]*string, len(tags))
	for key, value := range tags {
		metadata[MetadataName(key)] = &value
	}
	return metadata
}

// TagsFromMetadata reads tags back from container metadata; it is never nil.
func TagsFromMetadata(metadata map[string]*string) map[string]string {
	tags := make(map[string]string, len(metadata))
	for name, value := range metadata {
		if value != nil {
			tags[TagKey(name)] = *value
		}
	}
	return tags
}

// plainName reports whether key is its own metadata name (rule 1).
func plainName(key string) bool {
	if key == "" || key[0] < 'a' || key[0] > 'z' {
		return false
	}
	for i := 0; i < len(key); i++ {
		if !lowerAlnum(key[i]) {
			return false
		}
	}
	return true
}

// domainSuffix reports whether the part of a key after tagDomain fits rule 2.
func domainSuffix(rest string) bool {
	if rest == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !lowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

// unescapeName decodes a rule 3 name; ok is false when name is not one.
func unescapeName(name string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c != '_' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(name) || !isHex(name[i+1]) || !isHex(name[i+2]) {
			return "", false
		}
		var v byte
		_, _ = fmt.Sscanf(name[i+1:i+3], "%02x", &v)
		b.WriteByte(v)
		i += 2
	}
	return b.String(), true
}

// lowerAlnum reports whether c is a lowercase ASCII letter or a digit.
func lowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }
