package aws

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

const (
	// snapshotIDPrefix makes every identifier start with a letter and marks it as ours.
	snapshotIDPrefix = "lc2-"
	// maxSnapshotIDLength is RDS's limit for DB snapshot identifiers.
	maxSnapshotIDLength = 255
	// ownerHashLength hex digits (64 bits) of the owner hash keep identifiers unique when
	// sanitising or truncating makes two owners' readable parts equal.
	ownerHashLength = 16
	// maxReadableLength bounds the namespace and name parts so identifiers stay readable
	// in the console; uniqueness comes from the hash, not from these parts.
	maxNamespacePartLength = 63
	maxNamePartLength      = 120
)

// SnapshotIdentifier derives the RDS snapshot identifier for a BackupRequest from its
// namespace, name and UID: "lc2-<namespace>-<name>-<hash>", where the readable parts
// are lowercased, reduced to letters, digits and single hyphens and shortened, and hash
// is 16 hex digits of SHA-256 over the exact namespace, name and UID. The same owner
// always gets the same identifier, so a retried or restarted backup finds its snapshot;
// a recreated BackupRequest (new UID) gets a new one. The result always satisfies RDS
// rules: 1 to 255 characters, a letter first, only letters, digits and hyphens, no two
// hyphens in a row and no hyphen at the end.
func SnapshotIdentifier(owner provider.BackupOwner) string {
	var b strings.Builder
	b.WriteString(snapshotIDPrefix)
	for _, part := range []struct {
		text string
		max  int
	}{{owner.Namespace, maxNamespacePartLength}, {owner.Name, maxNamePartLength}} {
		if s := sanitizeIdentifierPart(part.text, part.max); s != "" {
			b.WriteString(s)
			b.WriteByte('-')
		}
	}
	b.WriteString(ownerHash(owner))
	return b.String()
}

// ownerHash hashes the owner fields with length prefixes, so ("a-b", "c") and
// ("a", "b-c") never collide the way a plain join would.
func ownerHash(owner provider.BackupOwner) string {
	h := sha256.New()
	for _, field := range []string{owner.Namespace, owner.Name, owner.UID} {
		var length [8]byte
		n := uint64(len(field))
		for i := range length {
			length[i] = byte(n >> (8 * i))
		}
		h.Write(length[:])
		h.Write([]byte(field))
	}
	return hex.EncodeToString(h.Sum(nil))[:ownerHashLength]
}

// sanitizeIdentifierPart lowercases s, turns every run of characters other than ASCII
// letters and digits into one hyphen, trims hyphens at both ends and shortens the
// result to at most max characters without leaving a trailing hyphen.
func sanitizeIdentifierPart(s string, max int) string {
	var b strings.Builder
	pendingHyphen := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if pendingHyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			pendingHyphen = false
			b.WriteRune(r)
			if b.Len() >= max {
				break
			}
			continue
		}
		pendingHyphen = true
	}
	return strings.TrimRight(b.String()[:min(b.Len(), max)], "-")
}

// ValidSnapshotIdentifier reports whether id satisfies RDS's DB snapshot identifier
// rules. The controller can use it to check identifiers it did not derive itself.
func ValidSnapshotIdentifier(id string) bool {
	if len(id) == 0 || len(id) > maxSnapshotIDLength {
		return false
	}
	if c := id[0]; (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
		return false // not a letter
	}
	if id[len(id)-1] == '-' || strings.Contains(id, "--") {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		default:
			return false
		}
	}
	return true
}
