package provider

import (
	"iter"
	"time"
)

// BackupOwner identifies the BackupRequest a cloud resource belongs to. Providers
// store it as tags so a retried or restarted backup can recognise its own snapshot.
type BackupOwner struct {
	ProjectID   string
	Environment string
	Namespace   string
	Name        string
	UID         string
}

// CreateSnapshotRequest asks for a database snapshot.
type CreateSnapshotRequest struct {
	// InstanceID is the database instance to snapshot.
	InstanceID string
	// Owner is recorded as tags on the snapshot. The provider derives the snapshot
	// name deterministically from Owner (namespace, name, uid), so a retry after a
	// crash finds and adopts the snapshot instead of making a second one.
	Owner BackupOwner
}

// DatabaseSnapshotResult is what CreateDatabaseSnapshot started (or adopted).
type DatabaseSnapshotResult struct {
	SnapshotID  string
	SnapshotARN string
	// Status is the snapshot's state right after the call.
	Status SnapshotState
	// Adopted is true when the snapshot already existed with our owner tags.
	Adopted bool
}

// SnapshotState is a provider-neutral snapshot state.
type SnapshotState string

const (
	SnapshotCreating  SnapshotState = "Creating"
	SnapshotAvailable SnapshotState = "Available"
	SnapshotFailed    SnapshotState = "Failed"
	SnapshotDeleting  SnapshotState = "Deleting"
	// SnapshotUnknown covers provider states with no neutral meaning; callers keep polling.
	SnapshotUnknown SnapshotState = "Unknown"
)

// SnapshotStatus describes a snapshot.
type SnapshotStatus struct {
	SnapshotID  string
	SnapshotARN string
	InstanceID  string
	State       SnapshotState
	// RawStatus is the provider's own status word (for example RDS "backing-up").
	RawStatus       string
	PercentProgress int32
	// SizeBytes is the allocated storage of the snapshot in bytes.
	SizeBytes     int64
	Engine        string
	EngineVersion string
	CreatedAt     *time.Time
	// Owner is read back from the snapshot's tags; empty fields when untagged.
	Owner BackupOwner
}

// ObjectStorageCopyRequest asks for a server-side copy of a prefix.
type ObjectStorageCopyRequest struct {
	SourceBucket      string
	SourcePrefix      string
	DestinationBucket string
	// DestinationPrefix replaces SourcePrefix in each copied key.
	DestinationPrefix string
	// ExcludePatterns are globs matched against the key relative to SourcePrefix;
	// `*` matches within one path segment, `**` across segments.
	ExcludePatterns []string
	// ExcludeGeneratedFiles skips Liferay's regenerable files (see GeneratedFilePatterns).
	ExcludeGeneratedFiles bool
	// Concurrency bounds parallel object copies; 0 means the provider default.
	Concurrency int
	// MultipartThreshold is the size above which an object is copied in parts;
	// 0 means the provider's single-copy limit (5 GiB on AWS).
	MultipartThreshold int64
	// PartSize is the multipart part size; 0 means the provider default.
	PartSize int64
	// FileListLimit caps Result.Files (the manifest keeps at most 10,000); 0 records none.
	FileListLimit int
	// Progress, if set, is called from the copy's goroutines as work completes; it must be
	// cheap and safe for concurrent use. Callers throttle their own status writes.
	Progress func(CopyProgress)
	// Existing is what happens to a key already at the destination. The zero value,
	// SkipIdentical, skips it when size and ETag match and copies over it otherwise.
	Existing ExistingObjects
	// Objects, if set, is the exact list of objects to copy instead of listing the
	// source: a restore copies what the backup's inventory lists, an incremental
	// backup what its repository lacks. Exclusions do not apply to it.
	Objects iter.Seq2[CopyItem, error]
	// Stored, if set, is called once for every object that is at the destination when
	// the copy is done with it: copied in this run, or found already copied (a resumed
	// run). It is called from the copy's goroutines and must be safe for concurrent use.
	// The inventory is built from these calls.
	Stored func(StoredObject)
	// ResumeTokens are the resume tokens an earlier run of this copy reported in
	// CopyProgress.ResumeTokens, by destination key. A store whose copy of one object
	// takes several calls (Cloud Storage's rewrite) resumes each of these objects from
	// its token instead of starting it over; a token the store no longer takes starts
	// the object over. Other stores ignore them.
	ResumeTokens map[string]string
}

// ExistingObjects is what a copy does with a key already at the destination.
type ExistingObjects string

const (
	// SkipIdentical skips a destination object with the source's size and ETag (a
	// resumed run) and copies over one that differs. Backups use it: they own their
	// destination.
	SkipIdentical ExistingObjects = ""
	// SkipExisting never writes over a key that exists at the destination, whatever it
	// holds; such objects are reported as skipped and not passed to Stored.
	SkipExisting ExistingObjects = "SkipExisting"
	// Overwrite copies every object, replacing what the destination holds unless it is
	// already identical.
	Overwrite ExistingObjects = "Overwrite"
	// Unchecked copies every object without looking at the destination (no listing,
	// no HeadObject): the caller has already decided what is missing. Only for a
	// content-addressed store, where a key that exists holds the same bytes.
	Unchecked ExistingObjects = "Unchecked"
)

// CopyItem is one object of an explicit copy list (ObjectStorageCopyRequest.Objects).
type CopyItem struct {
	// Source is the object to copy: Key in SourceBucket, with its size and ETag; a
	// VersionID copies that version.
	Source ObjectMetadata
	// DestinationKey is the key written, relative to DestinationPrefix. Empty means
	// Source.Key relative to SourcePrefix, and Source.Key must then be under it.
	DestinationKey string
}

// DatabaseInstanceState is a provider-neutral database instance state.
type DatabaseInstanceState string

const (
	DatabaseInstanceCreating  DatabaseInstanceState = "Creating"
	DatabaseInstanceAvailable DatabaseInstanceState = "Available"
	DatabaseInstanceFailed    DatabaseInstanceState = "Failed"
	DatabaseInstanceDeleting  DatabaseInstanceState = "Deleting"
	// DatabaseInstanceUnknown covers provider states with no neutral meaning (modifying,
	// backing-up…); callers keep polling.
	DatabaseInstanceUnknown DatabaseInstanceState = "Unknown"
)

// DatabaseInstanceSettings are what a restore needs to recreate an instance as it was.
type DatabaseInstanceSettings struct {
	InstanceClass       string
	StorageType         string
	AllocatedStorageGiB int32
	Iops                int32
	ParameterGroup      string
	OptionGroup         string
	SubnetGroup         string
	SecurityGroupIDs    []string
	Port                int32
	MultiAZ             bool
	PubliclyAccessible  bool
	Tags                map[string]string
}

// DatabaseInstance describes a database instance.
type DatabaseInstance struct {
	InstanceID  string
	InstanceARN string
	State       DatabaseInstanceState
	// RawStatus is the provider's own status word (for example RDS "creating").
	RawStatus     string
	Engine        string
	EngineVersion string
	// Endpoint is "address:port" once the instance has one.
	Endpoint string
	Settings DatabaseInstanceSettings
	// Owner is read back from the instance's owner tags; empty fields when untagged.
	Owner BackupOwner
	// Adopted is true when RestoreDatabaseInstance or CreateDatabaseInstance found the
	// instance already started for the same owner.
	Adopted bool
	// IAMAuthentication is true when the instance takes RDS IAM auth tokens.
	IAMAuthentication bool
}

// RestoreDatabaseRequest asks for a new instance restored from a snapshot.
type RestoreDatabaseRequest struct {
	SnapshotID       string
	TargetInstanceID string
	// Settings are applied explicitly (zero fields are left to the provider's defaults);
	// Settings.Tags are set on the instance together with the owner tags.
	Settings DatabaseInstanceSettings
	// Owner is the RestoreRequest, recorded as owner tags so a retry adopts the instance
	// and cancelling deletes only an instance this restore started.
	Owner BackupOwner
	// IAMAuthentication enables RDS IAM database authentication on the new instance:
	// a dump that logs in with an IAM token reads it (a snapshot does not carry it).
	IAMAuthentication bool
}

// CreateDatabaseRequest asks for a new, empty instance (a dump is loaded into it
// afterwards).
type CreateDatabaseRequest struct {
	TargetInstanceID string
	// Engine is the instance's engine: postgres, mysql or mariadb (the dump's).
	Engine string
	// EngineVersion is the engine's major version (for example "16", "8.0", "10.11"):
	// the provider picks that major's default minor. Empty: the provider's default.
	EngineVersion string
	// Settings are applied explicitly (zero fields are left to the provider's defaults,
	// except AllocatedStorageGiB, which a create needs); Settings.Tags are set on the
	// instance together with the owner tags.
	Settings DatabaseInstanceSettings
	// MasterUser and MasterPassword are the instance's master credentials, and
	// DatabaseName the database created with it.
	MasterUser     string
	MasterPassword Password
	DatabaseName   string
	// Owner is the RestoreRequest, recorded as owner tags so a retry adopts the instance
	// and cancelling deletes only an instance this restore started.
	Owner BackupOwner
}

// Password is a credential passed to the cloud. It prints as [redacted] with every
// fmt verb that uses String (%v, %s, %q, %+v of a struct holding it), so a request
// logged or wrapped into an error by mistake does not show it; Reveal is the value.
type Password string

// String is always "[redacted]".
func (Password) String() string { return "[redacted]" }

// GoString is always "[redacted]".
func (Password) GoString() string { return "[redacted]" }

// Reveal is the password itself, for the one call that sends it.
func (p Password) Reveal() string { return string(p) }

// StoredObject is one object a copy put (or found) at the destination.
type StoredObject struct {
	// SourceKey is the object's key in the source bucket.
	SourceKey string
	// Key is the object's key in the destination bucket.
	Key string
	// Size is the object's size in bytes.
	Size int64
	// ETag is the destination object's ETag, without quotes.
	ETag string
	// SourceETag is the source object's ETag as listed, without quotes.
	SourceETag string
	// SourceVersionID is the version copied, when the item named one.
	SourceVersionID string
	// Checksum is a full-object checksum reported by the store ("crc64nvme:...",
	// "sha256:..."), when it reports one.
	Checksum string
	// Copied is true when this run copied the object, false when it was already there.
	Copied bool
}

// CopyProgress is a running total of a copy.
type CopyProgress struct {
	// ObjectsTotal counts objects selected so far (it grows while listing continues).
	ObjectsTotal   int64
	ObjectsCopied  int64
	ObjectsSkipped int64
	BytesCopied    int64
	// ListingDone is true once ObjectsTotal is final.
	ListingDone bool
	// ObjectsReferenced and BytesReferenced count objects an Incremental backup found
	// already stored and did not copy (the provider's own copy leaves them zero).
	ObjectsReferenced, BytesReferenced int64
	// ResumeTokens are, by destination key, the resume tokens of the objects whose
	// copy is under way and has taken more than one call (Cloud Storage's
	// rewriteToken). A caller that keeps them hands them back in
	// ObjectStorageCopyRequest.ResumeTokens after a restart. Nil on other stores.
	ResumeTokens map[string]string
}

// ObjectStorageCopyResult summarises a finished copy.
type ObjectStorageCopyResult struct {
	// ObjectsTotal counts objects selected for the backup (after exclusions).
	ObjectsTotal int64
	// ObjectsCopied counts objects copied in this run.
	ObjectsCopied int64
	// ObjectsSkipped counts objects already present at the destination with the same size and ETag.
	ObjectsSkipped int64
	// ObjectsExcluded counts objects left out by the exclusion rules.
	ObjectsExcluded int64
	// ObjectsFailed counts objects that still failed after retries (the error names them).
	ObjectsFailed int64
	// ObjectsVanished counts selected objects deleted from the source before they could
	// be copied: the live store changed during the backup, nothing was lost.
	ObjectsVanished int64
	// BytesCopied counts bytes copied in this run; BytesTotal counts all selected objects.
	BytesCopied int64
	BytesTotal  int64
	// Files lists up to FileListLimit selected objects, with destination keys.
	Files []ObjectMetadata
}

// ObjectMetadata describes one stored object.
type ObjectMetadata struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
	// VersionID is the object's version, when it was listed from a versioned bucket
	// (WalkObjectsAsOf); empty otherwise.
	VersionID string
}
