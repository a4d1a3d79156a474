package manifest

import (
	"errors"
	"fmt"
	"time"
)

// Version is the manifest format version this package writes and reads.
// The canonical form hashed by the checksum is tied to it, so a reader must
// not verify a manifest of another version with this package's rules.
const Version = "1.0"

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
	// SnapshotID is the RDS DB snapshot identifier.
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
// missing identity fields, negative sizes, or a file list inconsistent with
// its totals.
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
		if db.SnapshotID == "" {
			errs = append(errs, errors.New("database.snapshotId is empty"))
		}
		if db.SizeBytes < 0 {
			errs = append(errs, fmt.Errorf("database.sizeBytes is negative: %d", db.SizeBytes))
		}
	}
	if dl := m.DocumentLibrary; dl != nil {
		if dl.ObjectCount < 0 || dl.TotalSizeBytes < 0 {
			errs = append(errs, fmt.Errorf("documentLibrary totals are negative: %d objects, %d bytes", dl.ObjectCount, dl.TotalSizeBytes))
		}
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
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid manifest: %w", errors.Join(errs...))
	}
	return nil
}
