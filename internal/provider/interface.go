// Package provider is the cloud abstraction the controller talks to. The controller
// never imports a cloud SDK; each cloud lives in a sub-package implementing Provider.
package provider

import (
	"context"
	"io"
	"iter"
	"time"
)

// Provider is everything a backup needs from a cloud: database snapshots and
// object-storage copies, small object I/O for manifests, claims and inventories,
// deletion of named objects for retention, and the ownership tags of the resources
// a spec names. There is deliberately no way to delete a whole prefix: the
// controller deletes only keys its inventory lists.
type Provider interface {
	// CreateDatabaseSnapshot starts a snapshot of req.InstanceID under a name derived
	// deterministically from req.Owner. It is idempotent: a snapshot of that name carrying the same owner tags is adopted
	// (Adopted=true); one owned by someone else is a KindConflict error.
	CreateDatabaseSnapshot(ctx context.Context, req CreateSnapshotRequest) (*DatabaseSnapshotResult, error)
	// GetDatabaseSnapshotStatus reports a snapshot's state and progress.
	// A missing snapshot is a KindNotFound error.
	GetDatabaseSnapshotStatus(ctx context.Context, snapshotID string) (*SnapshotStatus, error)
	// DeleteDatabaseSnapshot deletes a snapshot; a missing one counts as deleted.
	DeleteDatabaseSnapshot(ctx context.Context, snapshotID string) error
	// CopyObjectStorage copies every object under the source prefix that survives the
	// exclusions to the destination prefix, server-side. Objects already present at the
	// destination with the same size and ETag are skipped, so a re-run resumes cheaply.
	CopyObjectStorage(ctx context.Context, req ObjectStorageCopyRequest) (*ObjectStorageCopyResult, error)
	// UploadObject writes a small object (manifests).
	UploadObject(ctx context.Context, bucket, key string, data []byte) error
	// DownloadObject opens an object for reading; a missing object is KindNotFound.
	DownloadObject(ctx context.Context, bucket, key string) (io.ReadCloser, error)
	// ListObjects lists every object under prefix, across all pages.
	ListObjects(ctx context.Context, bucket, prefix string) ([]ObjectMetadata, error)
	// WalkObjects streams the current objects under prefix whose keys lie in keys, in
	// key order, a listing page at a time, so memory does not grow with the number of
	// objects; it requests no page past keys.Through. The walk ends at the first error,
	// which it yields.
	WalkObjects(ctx context.Context, bucket, prefix string, keys KeyRange) iter.Seq2[ObjectMetadata, error]
	// BucketVersioning reports whether bucket keeps object versions (versioning
	// Enabled; Suspended or never enabled is false). A missing bucket is KindNotFound.
	BucketVersioning(ctx context.Context, bucket string) (bool, error)
	// WalkObjectsAsOf streams, in key order, the objects under prefix as they were at
	// asOf in a versioned bucket: for each key the newest version last modified at or
	// before asOf, with its VersionID, unless that version is a delete marker. Versions
	// written after asOf are left out, so a file replaced or deleted later is still seen
	// as it was. The walk ends at the first error, which it yields.
	WalkObjectsAsOf(ctx context.Context, bucket, prefix string, asOf time.Time) iter.Seq2[ObjectMetadata, error]
	// ListObjectsUpTo lists at most limit (1 to 1,000) objects under prefix, in key
	// order, with a single request: enough to tell whether a prefix is empty.
	ListObjectsUpTo(ctx context.Context, bucket, prefix string, limit int) ([]ObjectMetadata, error)
	// DeleteObjects deletes the named keys (a missing key counts as deleted) and
	// returns how many it asked the store to delete.
	DeleteObjects(ctx context.Context, bucket string, keys []string) (int, error)
	// DatabaseInstanceTags returns the tags of a database instance. A missing
	// instance is a KindNotFound error.
	DatabaseInstanceTags(ctx context.Context, instanceID string) (map[string]string, error)
	// BucketTags returns the tags of a bucket (an empty map when it has none). A
	// missing bucket is a KindNotFound error.
	BucketTags(ctx context.Context, bucket string) (map[string]string, error)

	// DescribeDatabaseInstance returns an instance's state, endpoint and the settings a
	// restore needs to recreate it. A missing instance is a KindNotFound error.
	DescribeDatabaseInstance(ctx context.Context, instanceID string) (*DatabaseInstance, error)
	// RestoreDatabaseInstance starts a new instance from a snapshot. It is idempotent: an
	// instance of that identifier whose owner tags name req.Owner is adopted
	// (Adopted=true); any other existing instance is a KindConflict error, never touched.
	RestoreDatabaseInstance(ctx context.Context, req RestoreDatabaseRequest) (*DatabaseInstance, error)
	// CreateDatabaseInstance starts a new, empty instance with the request's engine,
	// master credentials and initial database, encrypted at rest. Its idempotence and
	// ownership are RestoreDatabaseInstance's: an instance of that identifier whose
	// owner tags name req.Owner is adopted (Adopted=true); any other existing instance is
	// a KindConflict error, never touched. Neither the error nor anything logged holds
	// the password.
	CreateDatabaseInstance(ctx context.Context, req CreateDatabaseRequest) (*DatabaseInstance, error)
	// DeleteDatabaseInstance deletes an instance whose owner tags name owner (without a
	// final snapshot); a missing instance counts as deleted, one owned by anyone else
	// is a KindConflict error.
	DeleteDatabaseInstance(ctx context.Context, instanceID string, owner BackupOwner) error
	// ListDatabaseInstances lists the instances whose identifier begins with
	// idPrefix, with their owner tags, across all pages: how leaked throw-away
	// instances are found.
	ListDatabaseInstances(ctx context.Context, idPrefix string) ([]DatabaseInstance, error)
}

// StreamUploader is a store that can take an upload of unknown length, such as a
// database dump piped from pg_dump, without buffering it on disk.
type StreamUploader interface {
	// UploadStream writes everything req.Body yields to req.Key, in parts sized from
	// req.SizeHint so that the store's part-count limit is not reached. On any error,
	// the body's own read error included, or a cancelled ctx, the upload is aborted:
	// no object and no parts remain. (Azure cannot delete staged blocks: they stay
	// uncommitted, invisible and never part of a blob, until it collects them after a
	// week.)
	UploadStream(ctx context.Context, req StreamUploadRequest) (*StreamUploadResult, error)
}

// StreamUploadRequest is one upload of unknown length.
type StreamUploadRequest struct {
	Bucket, Key string
	// Body is read to EOF; a read error aborts the upload.
	Body io.Reader
	// SizeHint is the expected size in bytes (0: unknown), the part size is chosen from.
	SizeHint int64
	// ContentType of the object; empty: application/octet-stream.
	ContentType string
}

// StreamUploadResult is what a finished upload stored.
type StreamUploadResult struct {
	SizeBytes int64
	ETag      string
	// PartSizeBytes and Parts describe the multipart upload (Parts 0: a single put).
	PartSizeBytes int64
	Parts         int
}
