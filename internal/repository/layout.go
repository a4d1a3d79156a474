// Package repository keeps the stored objects of a project environment's Incremental
// backups. Each source object version is stored once, under a key derived from its
// identity (source bucket, key, size, ETag and version), so a backup copies only the
// objects the repository lacks and references the rest; each backup's own inventory
// maps every source key to the stored object that holds it, so it stays restorable
// and verifiable on its own. Stored objects no backup references any more are removed
// by a mark-and-sweep (Sweep) (docs/incremental.md):
//
//	<projectId>/.repository/<environment>/objects/<2 hex>/<64 hex>  stored objects
//	<projectId>/.repository/<environment>/refs/<backup uid>.json    one per backup whose
//	                                                                inventory may reference objects
//	<projectId>/.repository/<environment>/listing/<32 hex>.json     listing hints (listing.go)
package repository

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Names of the repository's folders.
const (
	// Dir is the folder under a project's prefix holding its repositories; a backup's
	// destination prefix may never lie in it.
	Dir        = ".repository/"
	ObjectsDir = "objects/"
	RefsDir    = "refs/"
)

// Prefix is the repository of a project environment in a destination bucket.
func Prefix(projectID, environment string) string {
	return projectID + "/" + Dir + environment + "/"
}

// Identity is what makes a source object version distinct. Liferay writes each
// document version once under a key of its own, so the same identity always names
// the same bytes; a key overwritten in place gets a new ETag or version and is stored
// again.
type Identity struct {
	Bucket    string
	Key       string
	Size      int64
	ETag      string
	VersionID string
}

// digest is the SHA-256 the object holding id is stored under (storedID.key).
func (id Identity) digest() storedID {
	h := sha256.New()
	for _, field := range []string{"lc2-object-v1", id.Bucket, id.Key, strconv.FormatInt(id.Size, 10), id.ETag, id.VersionID} {
		h.Write([]byte(field))
		h.Write([]byte{0})
	}
	var d storedID
	h.Sum(d[:0])
	return d
}

// storedID is a stored key's digest, the compact form the sweep and the backup keep
// in memory (32 bytes instead of a 73-byte string).
type storedID [sha256.Size]byte

// key is the key of the object stored under the digest, relative to the repository
// prefix. The first two hex digits spread the keys over many S3 partitions.
func (d storedID) key() string {
	sum := hex.EncodeToString(d[:])
	return ObjectsDir + sum[:2] + "/" + sum
}

// storedKeyLen is the length of every stored key: objects/<2 hex>/<64 hex>.
const storedKeyLen = len(ObjectsDir) + 2 + 1 + 2*sha256.Size

// IsStoredKey reports whether rel (relative to the repository prefix) is a stored
// object's key as storedID.key names them. The sweep deletes nothing else.
func IsStoredKey(rel string) bool {
	_, ok := parseStoredKey(rel)
	return ok
}

// parseStoredKey returns the digest a stored key names; ok is false for any other key.
// It runs for every object a backup lists or indexes, so it does without a regexp.
func parseStoredKey(rel string) (id storedID, ok bool) {
	if len(rel) != storedKeyLen || !strings.HasPrefix(rel, ObjectsDir) {
		return id, false
	}
	shard, sum := rel[len(ObjectsDir):len(ObjectsDir)+2], rel[len(ObjectsDir)+3:]
	if rel[len(ObjectsDir)+2] != '/' || shard != sum[:2] || !isLowerHex(sum) {
		return id, false
	}
	if _, err := hex.Decode(id[:], []byte(sum)); err != nil {
		return id, false
	}
	return id, true
}

// isLowerHex reports whether s holds only the digits storedID.key writes (lower case).
func isLowerHex(s string) bool {
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// RefVersion is the reference record format version.
const RefVersion = "1"

// Ref records that a backup's inventory (under Prefix in the repository's bucket) may
// reference stored objects. It is written before the backup reads the repository and
// deleted after the backup's inventory, so the sweep reads every inventory that could
// reference an object.
type Ref struct {
	Version     string    `json:"version"`
	BackupID    string    `json:"backupId"`
	UID         string    `json:"uid"`
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	ProjectID   string    `json:"projectId"`
	Environment string    `json:"environment"`
	Prefix      string    `json:"prefix"`
	CreatedAt   time.Time `json:"createdAt"`
}

// RefKey is the key of the reference record of the backup with uid, relative to the
// repository prefix.
func RefKey(uid string) string { return RefsDir + uid + ".json" }

// Marshal encodes the record.
func (r *Ref) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode repository reference: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseRef decodes a reference record.
func ParseRef(data []byte) (*Ref, error) {
	var r Ref
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("parse repository reference: %w", err)
	}
	if r.UID == "" || r.Prefix == "" || !strings.HasSuffix(r.Prefix, "/") {
		return nil, fmt.Errorf("parse repository reference: uid and a prefix ending with '/' are required")
	}
	return &r, nil
}
