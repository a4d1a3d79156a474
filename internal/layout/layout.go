// Package layout names the objects a backup writes under its destination prefix.
// Copied files live under "data/"; the controller's own files (claim, inventory,
// manifest) live beside "data/", so no source key can ever land on one of them
// (docs/backup-layout.md):
//
//	<prefix>claim.json                          written first: the destination is this backup's
//	<prefix>data/<key relative to sourcePrefix> the copied document library
//	<prefix>database/dump.<ext>, dump.json      a logical dump and its record (type: dump)
//	<prefix>inventory/<run>-<NNNNN>.jsonl.gz    every stored object, written as the copy goes
//	<prefix>inventory/database.jsonl.gz         the dump files, written once the dump is verified
//	<prefix>manifest.json                       written last, references the inventory
package layout

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Names of the controller's files and folders under a destination prefix.
const (
	ClaimName    = "claim.json"
	ManifestName = "manifest.json"
	DataDir      = "data/"
	InventoryDir = "inventory/"
	// DatabaseDir holds a logical dump of the database and its record (dump.json).
	DatabaseDir = "database/"
	// DumpResultName is the dump's record, written last by the dumper.
	DumpResultName = "dump.json"
	// RestoreResultName is a dump restore's result, in the RestoreRequest's record.
	RestoreResultName = "restore.json"
)

// ClaimKey is the claim record's key under prefix.
func ClaimKey(prefix string) string { return prefix + ClaimName }

// ManifestKey is the manifest's key under prefix.
func ManifestKey(prefix string) string { return prefix + ManifestName }

// DumpKey is where a dump with file extension ext (without the dot) is stored.
func DumpKey(prefix, ext string) string { return prefix + DatabaseDir + "dump." + ext }

// Dump file extensions: PostgreSQL's custom format, and a gzip or zstd SQL dump.
const (
	DumpExtCustom  = "pgdump"
	DumpExtSQLGzip = "sql.gz"
	DumpExtSQLZstd = "sql.zst"
)

// DumpKeys are every key a dump of a backup at prefix may have written: the dump in
// each format and its record. Removal deletes these (a missing key counts as deleted)
// under a claim that names the backup.
func DumpKeys(prefix string) []string {
	return []string{DumpKey(prefix, DumpExtCustom), DumpKey(prefix, DumpExtSQLGzip), DumpKey(prefix, DumpExtSQLZstd), DumpResultKey(prefix)}
}

// DumpFormat is the format and compression of a dump stored at key, from its extension.
func DumpFormat(key string) (format, compression string) {
	switch {
	case strings.HasSuffix(key, "."+DumpExtCustom):
		return "custom", "pg-internal"
	case strings.HasSuffix(key, "."+DumpExtSQLGzip):
		return "sql", "gzip"
	case strings.HasSuffix(key, "."+DumpExtSQLZstd):
		return "sql", "zstd"
	}
	return "", ""
}

// DumpResultKey is where the dumper writes its record of a dump (dump.json).
func DumpResultKey(prefix string) string { return prefix + DatabaseDir + DumpResultName }

// RestoreResultKey is where a restore of a dump writes its result under a
// RestoreRequest's record prefix.
func RestoreResultKey(recordPrefix string) string {
	return recordPrefix + DatabaseDir + RestoreResultName
}

// DatabasePartName is the inventory part of the database files (the dump and its
// record), beside the copy's parts in InventoryDir. It is named apart from them:
// every reader of a copy run's parts expects keys under data/ (or the repository),
// and the dump files are neither.
const DatabasePartName = "database.jsonl.gz"

// DatabasePartKey is the key of the database files' inventory part under prefix.
func DatabasePartKey(prefix string) string { return prefix + InventoryDir + DatabasePartName }

// IsDatabasePartKey reports whether rel (relative to the destination prefix) is the
// database files' inventory part.
func IsDatabasePartKey(rel string) bool { return rel == InventoryDir+DatabasePartName }

// IsDatabaseKey reports whether rel (relative to the destination prefix) names a file
// directly in database/, where the dumper writes: cleanup deletes what the database
// part lists only when it is, and never anything in a folder below it.
func IsDatabaseKey(rel string) bool {
	name, ok := strings.CutPrefix(rel, DatabaseDir)
	return ok && name != "" && !strings.Contains(name, "/") && name != "." && name != ".."
}

// DataPrefix is where the copied files go under prefix.
func DataPrefix(prefix string) string { return prefix + DataDir }

// InventoryPrefix is where the inventory parts of every run go under prefix.
func InventoryPrefix(prefix string) string { return prefix + InventoryDir }

// RunPrefix is the key prefix of one copy run's inventory parts, relative to the
// destination prefix.
func RunPrefix(run string) string { return InventoryDir + run + "-" }

// PartKey is the key of part seq of run, relative to the destination prefix.
func PartKey(run string, seq int) string {
	return fmt.Sprintf("%s%s-%05d.jsonl.gz", InventoryDir, run, seq)
}

// RunID names a copy run by its start time; runs of one backup never share a name.
func RunID(start time.Time) string { return start.UTC().Format("20060102T150405.000000000Z") }

var partPattern = regexp.MustCompile(`^inventory/[0-9]{8}T[0-9]{6}\.[0-9]{9}Z-[0-9]{5}\.jsonl\.gz$`)

// IsPartKey reports whether rel (a key relative to the destination prefix) is an
// inventory part this package names. Cleanup reads only such keys.
func IsPartKey(rel string) bool { return partPattern.MatchString(rel) }

// IsDataKey reports whether rel (relative to the destination prefix) is a key under
// data/, where the copy stores every source key: cleanup deletes the objects an
// inventory lists only when they are, and a restore reads only such keys. S3 keys are
// opaque strings, not paths: "data/a/../b", "data//b", "data/./b" and "data/" itself
// are keys under the string prefix "data/", which S3 stores and serves as written and
// never resolves, so none of them escapes it. The test is the prefix and nothing else:
// any other rule would leave objects the copy stored undeletable.
func IsDataKey(rel string) bool { return strings.HasPrefix(rel, DataDir) }

// Ancestors returns the proper ancestor prefixes of prefix, shortest first:
// "a/b/c/" gives "a/" and "a/b/". A backup may not lie inside another, so the claim
// and manifest keys of each are checked before a destination is claimed.
func Ancestors(prefix string) []string {
	var out []string
	for i := 0; i < len(prefix)-1; i++ {
		if prefix[i] == '/' {
			out = append(out, prefix[:i+1])
		}
	}
	return out
}

// ClaimVersion is the claim record format version.
const ClaimVersion = "1"

// Claim records which backup owns a destination prefix. It is written before the
// backup's first object; everything under the prefix was then written by that backup.
type Claim struct {
	Version     string    `json:"version"`
	BackupID    string    `json:"backupId"`
	UID         string    `json:"uid"`
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	ProjectID   string    `json:"projectId"`
	Environment string    `json:"environment"`
	ClaimedAt   time.Time `json:"claimedAt"`
}

// Marshal encodes the claim.
func (c *Claim) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode claim: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseClaim decodes a claim record.
func ParseClaim(data []byte) (*Claim, error) {
	var c Claim
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("parse claim: %w", err)
	}
	if c.UID == "" || c.BackupID == "" {
		return nil, fmt.Errorf("parse claim: uid and backupId are required")
	}
	return &c, nil
}
