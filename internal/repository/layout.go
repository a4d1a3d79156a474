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
package repository

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
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

// StoredKey is the key of the object holding id, relative to the repository prefix.
// The first two hex digits spread the keys over many S3 partitions.
func (id Identity) StoredKey() string {
	h := sha256.New()
	for _, field := range []string{"lc2-object-v1", id.Bucket, id.Key, strconv.FormatInt(id.Size, 10), id.ETag, id.VersionID} {
		h.Write([]byte(field))
		h.Write([]byte{0})
	}
	sum := hex.EncodeToString(h.Sum(nil))
	return ObjectsDir + sum[:2] + "/" + sum
}

var storedKeyPattern = regexp.MustCompile(`^objects/([0-9a-f]{2})/([0-9a-f]{64})$`)

// IsStoredKey reports whether rel (relative to the repository prefix) is a stored
// object's key as StoredKey names them. The sweep deletes nothing else.
func IsStoredKey(rel string) bool {
	m := storedKeyPattern.FindStringSubmatch(rel)
	return m != nil && strings.HasPrefix(m[2], m[1])
}

// storedID is a stored key's digest, the compact form the sweep and the backup keep
// in memory (32 bytes instead of a 73-byte string).
type storedID [sha256.Size]byte

func parseStoredKey(rel string) (storedID, bool) {
	var id storedID
	if !IsStoredKey(rel) {
		return id, false
	}
	if _, err := hex.Decode(id[:], []byte(rel[len(rel)-64:])); err != nil {
		return id, false
	}
	return id, true
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
