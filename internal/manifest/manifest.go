package manifest

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Manifest format versions. The version selects the rule that computes the
// checksum (docs/manifest.md), so a reader must never verify a manifest with
// the rule of another version.
const (
	// Version10 manifests hash the compact encoding/json form of the decoded
	// manifest (see canonicalV10). That form is defined only by Go's
	// encoding/json, so other languages cannot recompute it reliably; this
	// package still reads and verifies such manifests but no longer writes
	// them.
	Version10 = "1.0"
	// Version11 manifests hash the RFC 8785 (JSON Canonicalization Scheme)
	// form of the manifest object as written, without its "checksum" member.
	// Version 1.1 also adds DocumentLibraryInfo.Inventory and, later,
	// DatabaseInfo.SourceInstance, Dump and Inventory: optional members under the
	// same checksum rule, which hashes whatever members are written.
	Version11 = "1.1"
	// Version is the format version of the manifests this package writes.
	Version = Version11
)

// InventoryFormat is the only InventoryInfo.Format: each inventory part is
// gzip-compressed JSON Lines, one object per line.
const InventoryFormat = "jsonl+gzip"

// maxExactInteger is the largest integer an IEEE 754 double holds exactly
// (2^53-1). RFC 8785 canonicalizes every JSON number as a double, so the
// checksum would not tell a larger count or size from its neighbours; Seal
// and Parse refuse them (9 PiB is far beyond any backup this controller
// takes).
const maxExactInteger = 1<<53 - 1

// sha256Pattern is the form of every SHA-256 reference in a manifest.
var sha256Pattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// MaxFiles bounds the number of entries kept in DocumentLibraryInfo.Files.
// Document libraries can hold millions of objects; listing them all would
// make the manifest too large to read back comfortably, so only the first
// MaxFiles are listed while the totals still describe the whole copy.
const MaxFiles = 10000

// Manifest describes one backup. Its JSON form is the one documented in the
// phase 1 design note; optional parts (Database, DocumentLibrary) are omitted
// when nil, because a backup may contain only one of them.
type Manifest struct {
	// Version is the format version, always Version for manifests built here.
	Version string `json:"version"`
	// Timestamp is when the backup was taken. It is written in RFC 3339 form
	// in UTC.
	Timestamp time.Time `json:"timestamp"`
	// ProjectID is the Liferay project the backup belongs to.
	ProjectID string `json:"projectId"`
	// Environment is the project's environment, e.g. "prd".
	Environment string `json:"environment"`
	// BackupID identifies the backup; it is unique per destination.
	BackupID string `json:"backupId"`
	// Database describes the RDS snapshot, if the backup includes one.
	Database *DatabaseInfo `json:"database,omitempty"`
	// DocumentLibrary describes the copied objects, if the backup includes them.
	DocumentLibrary *DocumentLibraryInfo `json:"documentLibrary,omitempty"`
	// Checksum is "sha256:" followed by the lowercase hex SHA-256 of the
	// canonical content (see Canonical). Seal sets it.
	Checksum string `json:"checksum,omitempty"`
}

// DatabaseInfo describes the database snapshot of a backup.
type DatabaseInfo struct {
	// SnapshotID is the RDS DB snapshot identifier; empty only for a dump taken
	// without a snapshot (Dump set).
	SnapshotID string `json:"snapshotId"`
	// SnapshotARN is the snapshot's ARN, when known.
	SnapshotARN string `json:"snapshotArn,omitempty"`
	// InstanceID is the RDS instance the snapshot was taken from.
	InstanceID string `json:"instanceId"`
	// SizeBytes is the allocated size of the snapshot.
	SizeBytes int64 `json:"sizeBytes"`
	// Engine is the database engine, e.g. "postgres".
	Engine string `json:"engine,omitempty"`
	// EngineVersion is the engine version, e.g. "15.4".
	EngineVersion string `json:"engineVersion,omitempty"`
	// SourceInstance records the settings of InstanceID when the snapshot was
	// started, so a restore recreates the instance as it was. Absent in
	// manifests written before restores existed.
	SourceInstance *InstanceSettings `json:"sourceInstance,omitempty"`
	// Dump describes the logical dump stored with the backup (type: dump); absent
	// in snapshot backups and in manifests written before dumps existed.
	Dump *DumpInfo `json:"dump,omitempty"`
	// Inventory references the inventory part that lists the database files the
	// backup stores (the dump and its record), relative to the same prefix as Dump's
	// keys. It is the document library's inventory's sibling, not part of it: its
	// files are no document-library files, so neither the document library's totals
	// nor a restore of files ever count them. Absent without a dump, and in manifests
	// written before the dump files were listed.
	Inventory *InventoryInfo `json:"inventory,omitempty"`
}

// DumpInfo describes a logical dump and its record, both stored under the backup's
// destination prefix (database/).
type DumpInfo struct {
	// Key is the dump object's key relative to the destination prefix, for example
	// "database/dump.pgdump".
	Key string `json:"key"`
	// SizeBytes and SHA256 ("sha256:<hex>") are the dump object's, as stored and re-read.
	SizeBytes int64  `json:"sizeBytes"`
	SHA256    string `json:"sha256"`
	// ResultKey is the dumper's record (dump.json) relative to the destination prefix.
	ResultKey string `json:"resultKey"`
	// Engine and ServerVersion are the dumped server's; Tool the dump program and its version.
	Engine        string `json:"engine"`
	ServerVersion string `json:"serverVersion,omitempty"`
	Tool          string `json:"tool,omitempty"`
	// Format is "custom" (pg_dump -Fc) or "sql"; Compression how it is compressed.
	Format      string `json:"format,omitempty"`
	Compression string `json:"compression,omitempty"`
}

// InstanceSettings are the settings of a database instance a restore needs to
// recreate it (RestoreDBInstanceFromDBSnapshot otherwise falls back to the
// default parameter and security groups, single-AZ). Empty members are
// omitted: false, zero and "" all mean "not recorded" or "no".
type InstanceSettings struct {
	// InstanceClass is the instance class, e.g. "db.t3.medium".
	InstanceClass string `json:"instanceClass,omitempty"`
	// StorageType is the storage type, e.g. "gp3".
	StorageType string `json:"storageType,omitempty"`
	// AllocatedStorageGiB is the allocated storage in GiB.
	AllocatedStorageGiB int32 `json:"allocatedStorageGiB,omitempty"`
	// Iops is the provisioned IOPS, when the storage type has them.
	Iops int32 `json:"iops,omitempty"`
	// ParameterGroup is the DB parameter group.
	ParameterGroup string `json:"parameterGroup,omitempty"`
	// OptionGroup is the option group.
	OptionGroup string `json:"optionGroup,omitempty"`
	// SubnetGroup is the DB subnet group.
	SubnetGroup string `json:"subnetGroup,omitempty"`
	// SecurityGroupIDs are the VPC security groups.
	SecurityGroupIDs []string `json:"securityGroupIds,omitempty"`
	// Port is the port the instance listens on.
	Port int32 `json:"port,omitempty"`
	// MultiAZ is whether the instance is Multi-AZ.
	MultiAZ bool `json:"multiAZ,omitempty"`
	// PubliclyAccessible is whether the instance was reachable from outside its VPC.
	PubliclyAccessible bool `json:"publiclyAccessible,omitempty"`
	// Tags are the instance's tags.
	Tags map[string]string `json:"tags,omitempty"`
}

// DocumentLibraryInfo describes the document-library objects copied by a
// backup. ObjectCount and TotalSizeBytes always cover every copied object,
// even when Files lists only the first MaxFiles of them (Truncated is then
// true).
type DocumentLibraryInfo struct {
	// SourceBucket is the bucket the objects were copied from.
	SourceBucket string `json:"sourceBucket,omitempty"`
	// SourcePrefix is the key prefix the objects were copied from.
	SourcePrefix string `json:"sourcePrefix,omitempty"`
	// DestinationBucket is the bucket the objects were copied to.
	DestinationBucket string `json:"destinationBucket,omitempty"`
	// DestinationPrefix is the key prefix the objects were copied to.
	DestinationPrefix string `json:"destinationPrefix,omitempty"`
	// ObjectCount is the number of objects copied.
	ObjectCount int64 `json:"objectCount"`
	// TotalSizeBytes is the sum of the sizes of all objects copied.
	TotalSizeBytes int64 `json:"totalSizeBytes"`
	// Files lists at most MaxFiles of the copied objects, in copy order.
	Files []File `json:"files,omitempty"`
	// Truncated reports that Files lists fewer objects than ObjectCount.
	Truncated bool `json:"truncated,omitempty"`
	// Inventory references the backup's full inventory: every object it stores, in
	// gzip-compressed JSON Lines parts under the destination prefix (docs/backup-layout.md).
	Inventory *InventoryInfo `json:"inventory,omitempty"`
	// Mode is "Incremental" when the objects are stored in RepositoryPrefix (the
	// inventory's stored keys are relative to it); empty or "Full" when they are under
	// DestinationPrefix + "data/".
	Mode string `json:"mode,omitempty"`
	// RepositoryPrefix is the repository of an Incremental backup in DestinationBucket
	// (docs/incremental.md).
	RepositoryPrefix string `json:"repositoryPrefix,omitempty"`
	// ObjectsCopied and ObjectsReferenced split ObjectCount of an Incremental backup:
	// objects it copied into the repository and objects it found there.
	ObjectsCopied     int64 `json:"objectsCopied,omitempty"`
	ObjectsReferenced int64 `json:"objectsReferenced,omitempty"`
	// Consistency is "PointInTime" when every object is the version current at
	// PointInTime (a versioned source), "Live" when the copy read the live bucket.
	Consistency string `json:"consistency,omitempty"`
	// PointInTime is the moment the copied versions were current.
	PointInTime *time.Time `json:"pointInTime,omitempty"`
}

// ModeIncremental is DocumentLibraryInfo.Mode of a backup stored in a repository.
const ModeIncremental = "Incremental"

// Incremental reports whether the backup's objects are in its repository.
func (d *DocumentLibraryInfo) Incremental() bool { return d.Mode == ModeIncremental }

// StoredObjectKey is the key in DestinationBucket of the object an inventory entry
// with storedKey describes.
func (d *DocumentLibraryInfo) StoredObjectKey(storedKey string) string {
	if d.Incremental() {
		return d.RepositoryPrefix + storedKey
	}
	return d.DestinationPrefix + storedKey
}

// InventoryInfo references the parts of a backup's inventory.
type InventoryInfo struct {
	// Format is "jsonl+gzip": each part is gzip-compressed JSON Lines, one object per line.
	Format string `json:"format"`
	// ObjectCount and TotalSizeBytes are the totals over every part; in the document
	// library's inventory they equal DocumentLibraryInfo.ObjectCount and TotalSizeBytes.
	ObjectCount    int64 `json:"objectCount"`
	TotalSizeBytes int64 `json:"totalSizeBytes"`
	// Parts lists the parts in order.
	Parts []InventoryPart `json:"parts"`
}

// InventoryPart is one inventory object.
type InventoryPart struct {
	// Key is the part's key relative to the backup's destination prefix, e.g. "inventory/20261126T071500.123456789Z-00000.jsonl.gz".
	Key string `json:"key"`
	// SHA256 is "sha256:" + the lowercase hex SHA-256 of the part's bytes as stored (compressed).
	SHA256 string `json:"sha256"`
	// ObjectCount is the number of lines (objects) in the part.
	ObjectCount int64 `json:"objectCount"`
	// SizeBytes is the sum of the objects' sizes in the part.
	SizeBytes int64 `json:"sizeBytes"`
}

// File is one copied object.
type File struct {
	// Key is the object key, relative to the source prefix or absolute, as
	// the producer chose; the manifest does not interpret it.
	Key string `json:"key"`
	// Size is the object size in bytes.
	Size int64 `json:"size"`
	// ETag is the object's S3 ETag, without surrounding quotes.
	ETag string `json:"etag"`
}

// New returns an unsealed manifest of the current Version. The timestamp is
// converted to UTC and truncated to whole seconds so the written form is
// plain RFC 3339 and does not leak the producer's time zone.
func New(projectID, environment, backupID string, at time.Time) *Manifest {
	return &Manifest{
		Version:     Version,
		Timestamp:   at.UTC().Truncate(time.Second),
		ProjectID:   projectID,
		Environment: environment,
		BackupID:    backupID,
	}
}

// AddFile records one copied object: it always counts the object in
// ObjectCount and TotalSizeBytes, but lists it in Files only while fewer than
// MaxFiles are listed, setting Truncated otherwise. This lets a copier
// stream millions of objects without holding them all in memory.
func (d *DocumentLibraryInfo) AddFile(f File) {
	d.ObjectCount++
	d.TotalSizeBytes += f.Size
	if len(d.Files) < MaxFiles {
		d.Files = append(d.Files, f)
		return
	}
	d.Truncated = true
}

// SetFiles replaces the file list and totals with those of files, keeping at
// most MaxFiles entries (see AddFile). The caller's slice is not retained.
func (d *DocumentLibraryInfo) SetFiles(files []File) {
	d.ObjectCount = 0
	d.TotalSizeBytes = 0
	d.Files = make([]File, 0, min(len(files), MaxFiles))
	d.Truncated = false
	for _, f := range files {
		d.AddFile(f)
	}
}

// Validate reports every problem that makes m unfit to be sealed:
// another version than Version, missing identity fields, negative sizes or
// sizes beyond 2^53-1, a file list inconsistent with its totals, or an
// inventory inconsistent with its parts or with the document library totals.
func (m *Manifest) Validate() error {
	var errs []error
	if m.Version != Version {
		errs = append(errs, fmt.Errorf("version is %q, want %q", m.Version, Version))
	}
	if m.Timestamp.IsZero() {
		errs = append(errs, errors.New("timestamp is not set"))
	}
	if m.ProjectID == "" {
		errs = append(errs, errors.New("projectId is empty"))
	}
	if m.BackupID == "" {
		errs = append(errs, errors.New("backupId is empty"))
	}
	if db := m.Database; db != nil {
		if db.SnapshotID == "" && db.Dump == nil {
			errs = append(errs, errors.New("database.snapshotId is empty and there is no dump"))
		}
		if d := db.Dump; d != nil {
			if d.Key == "" || d.ResultKey == "" || d.Engine == "" {
				errs = append(errs, errors.New("database.dump needs key, resultKey and engine"))
			}
			if !sha256Pattern.MatchString(d.SHA256) {
				errs = append(errs, fmt.Errorf("database.dump.sha256 %q is not sha256:<64 hex digits>", d.SHA256))
			}
			if d.SizeBytes < 0 {
				errs = append(errs, fmt.Errorf("database.dump.sizeBytes is negative: %d", d.SizeBytes))
			}
			errs = appendTooLarge(errs, "database.dump.sizeBytes", d.SizeBytes)
		}
		if inv := db.Inventory; inv != nil {
			if db.Dump == nil {
				errs = append(errs, errors.New("database.inventory lists the dump's files, but there is no database.dump"))
			}
			errs = append(errs, inv.validate("database.inventory")...)
			if inv.TotalSizeBytes < dumpSize(db.Dump) || inv.ObjectCount < 2 {
				errs = append(errs, fmt.Errorf("database.inventory lists %d objects, %d bytes: fewer than the dump (%d bytes) and its record",
					inv.ObjectCount, inv.TotalSizeBytes, dumpSize(db.Dump)))
			}
		}
		if db.SizeBytes < 0 {
			errs = append(errs, fmt.Errorf("database.sizeBytes is negative: %d", db.SizeBytes))
		}
		errs = appendTooLarge(errs, "database.sizeBytes", db.SizeBytes)
		if si := db.SourceInstance; si != nil {
			for name, v := range map[string]int32{"allocatedStorageGiB": si.AllocatedStorageGiB, "iops": si.Iops, "port": si.Port} {
				if v < 0 {
					errs = append(errs, fmt.Errorf("database.sourceInstance.%s is negative: %d", name, v))
				}
			}
		}
	}
	if dl := m.DocumentLibrary; dl != nil {
		errs = append(errs, dl.validate()...)
	}
	errs = append(errs, m.sharedPartKeys()...)
	if len(errs) > 0 {
		return fmt.Errorf("invalid manifest: %w", errors.Join(errs...))
	}
	return nil
}

func (dl *DocumentLibraryInfo) validate() []error {
	var errs []error
	if dl.ObjectCount < 0 || dl.TotalSizeBytes < 0 {
		errs = append(errs, fmt.Errorf("documentLibrary totals are negative: %d objects, %d bytes", dl.ObjectCount, dl.TotalSizeBytes))
	}
	errs = appendTooLarge(errs, "documentLibrary.objectCount", dl.ObjectCount)
	errs = appendTooLarge(errs, "documentLibrary.totalSizeBytes", dl.TotalSizeBytes)
	if len(dl.Files) > MaxFiles {
		errs = append(errs, fmt.Errorf("documentLibrary lists %d files, more than %d", len(dl.Files), MaxFiles))
	}
	if int64(len(dl.Files)) > dl.ObjectCount {
		errs = append(errs, fmt.Errorf("documentLibrary lists %d files but objectCount is %d", len(dl.Files), dl.ObjectCount))
	}
	for i, f := range dl.Files {
		if f.Size < 0 {
			errs = append(errs, fmt.Errorf("documentLibrary.files[%d] %q has negative size %d", i, f.Key, f.Size))
			break
		}
		if f.Size > maxExactInteger {
			errs = appendTooLarge(errs, fmt.Sprintf("documentLibrary.files[%d].size", i), f.Size)
			break
		}
	}
	if inv := dl.Inventory; inv != nil {
		errs = append(errs, inv.validate("documentLibrary.inventory")...)
		if inv.ObjectCount != dl.ObjectCount || inv.TotalSizeBytes != dl.TotalSizeBytes {
			errs = append(errs, fmt.Errorf("documentLibrary.inventory totals are %d objects, %d bytes but documentLibrary totals are %d objects, %d bytes",
				inv.ObjectCount, inv.TotalSizeBytes, dl.ObjectCount, dl.TotalSizeBytes))
		}
	}
	return errs
}

// dumpSize is the dump's size, 0 without one.
func dumpSize(d *DumpInfo) int64 {
	if d == nil {
		return 0
	}
	return d.SizeBytes
}

// sharedPartKeys reports a part both inventories list: its objects would be counted
// twice, and a reader of either would read the other's files as its own.
func (m *Manifest) sharedPartKeys() []error {
	if m.Database == nil || m.Database.Inventory == nil || m.DocumentLibrary == nil || m.DocumentLibrary.Inventory == nil {
		return nil
	}
	var errs []error
	for i, p := range m.Database.Inventory.Parts {
		for j, q := range m.DocumentLibrary.Inventory.Parts {
			if p.Key == q.Key {
				errs = append(errs, fmt.Errorf("database.inventory.parts[%d].key %q is also documentLibrary.inventory.parts[%d]", i, p.Key, j))
			}
		}
	}
	return errs
}

// validate checks the inventory named name against its parts.
func (inv *InventoryInfo) validate(name string) []error {
	var errs []error
	if inv.Format != InventoryFormat {
		errs = append(errs, fmt.Errorf("%s.format is %q, want %q", name, inv.Format, InventoryFormat))
	}
	errs = appendTooLarge(errs, name+".objectCount", inv.ObjectCount)
	errs = appendTooLarge(errs, name+".totalSizeBytes", inv.TotalSizeBytes)
	var objects, bytes int64
	keys := make(map[string]int, len(inv.Parts))
	for i, p := range inv.Parts {
		name := fmt.Sprintf("%s.parts[%d]", name, i)
		if p.Key == "" {
			errs = append(errs, fmt.Errorf("%s.key is empty", name))
		} else if first, dup := keys[p.Key]; dup {
			errs = append(errs, fmt.Errorf("%s.key %q repeats parts[%d]", name, p.Key, first))
		} else {
			keys[p.Key] = i
		}
		if !sha256Pattern.MatchString(p.SHA256) {
			errs = append(errs, fmt.Errorf("%s.sha256 is %q, want sha256:<64 lowercase hex digits>", name, p.SHA256))
		}
		if p.ObjectCount < 0 || p.SizeBytes < 0 {
			errs = append(errs, fmt.Errorf("%s totals are negative: %d objects, %d bytes", name, p.ObjectCount, p.SizeBytes))
		}
		errs = appendTooLarge(errs, name+".objectCount", p.ObjectCount)
		errs = appendTooLarge(errs, name+".sizeBytes", p.SizeBytes)
		objects = addClamped(objects, p.ObjectCount)
		bytes = addClamped(bytes, p.SizeBytes)
	}
	if objects != inv.ObjectCount || bytes != inv.TotalSizeBytes {
		errs = append(errs, fmt.Errorf("%s totals are %d objects, %d bytes but its parts sum to %d objects, %d bytes",
			name, inv.ObjectCount, inv.TotalSizeBytes, objects, bytes))
	}
	return errs
}

// addClamped returns a+b clamped to ±(maxExactInteger+1), so summing any
// number of int64 terms cannot overflow; a clamped sum is out of range and
// therefore never equals a valid total.
func addClamped(a, b int64) int64 {
	const limit = maxExactInteger + 1
	return max(min(a+max(min(b, limit), -limit), limit), -limit)
}

// appendTooLarge reports n when the canonical form (numbers as IEEE 754
// doubles, RFC 8785) could not represent it exactly.
func appendTooLarge(errs []error, name string, n int64) []error {
	if n > maxExactInteger || n < -maxExactInteger {
		return append(errs, fmt.Errorf("%s is %d, beyond the exactly representable ±%d", name, n, int64(maxExactInteger)))
	}
	return errs
}
