// Package fake is an in-memory provider.Provider for fast tests of the state machine
// and for the reconcile benchmark: snapshots become available after a delay, copies
// take a configurable time, and any operation can be made to fail.
//
// Apart from those knobs it behaves like the AWS provider, which is the reference:
// the contract suite (internal/provider/contract) runs the same expectations against
// both. In particular it keeps S3's ETag semantics (the MD5 of a single-part object,
// "<md5 of the part MD5s>-<parts>" of a multipart copy), lists in key order, applies
// the copy's exclusion rules and refuses the requests AWS would refuse. A bucket with
// versioning enabled (EnableVersioning) keeps every version and delete marker, as S3
// does; other buckets keep only the current objects.
package fake

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// S3 limits the AWS provider applies to copies; the fake applies the same ones so a
// test sees the same multipart ETags and the same refused requests.
const (
	singleCopyLimit  int64 = 5 << 30
	defaultPartSize  int64 = 128 << 20
	minPartSize      int64 = 5 << 20
	maxParts               = 10000
	maxListUpToLimit       = 1000
)

// Provider is a fake cloud. The zero value is not usable; call New.
type Provider struct {
	// Latency is added to every call (simulating API round trips).
	Latency time.Duration
	// SnapshotReadyAfter is how long a snapshot stays Creating.
	SnapshotReadyAfter time.Duration
	// InstanceReadyAfter is how long a restored instance stays Creating.
	InstanceReadyAfter time.Duration
	// CopyDuration is how long a copy takes.
	CopyDuration time.Duration
	// Clock is the time source for snapshot readiness and object modification times
	// (default the real clock), like the controller's.
	Clock clock.PassiveClock
	// RequireInstances makes CreateDatabaseSnapshot and DescribeDatabaseInstance of an
	// instance never registered (SetInstanceTags, PutInstance) a KindNotFound error, as
	// on AWS. Off by default: tests and the benchmark that run without ownership checks
	// snapshot (and describe, as an untagged instance with DefaultInstanceSettings) any
	// instance id.
	RequireInstances bool

	mu        sync.Mutex
	snapshots map[string]*snapshot
	objects   map[string]map[string]*object // bucket -> key -> object
	failures  map[string]error              // operation -> error to return
	calls     map[string]int
	// bucketTags are the ownership tags of buckets.
	bucketTags map[string]map[string]string
	// instances are the database instances: registered by tests or restored.
	instances map[string]*instance
	// versioned are the buckets with versioning enabled; versions holds the history of
	// every key of such a bucket, oldest first (bucket -> key -> versions). The current
	// objects stay in objects, so an unversioned bucket works exactly as without them.
	versioned  map[string]bool
	versions   map[string]map[string][]objectVersion
	versionSeq int
	// uploads are the objects UploadObject stored, in order.
	uploads []Upload
	// streams are the UploadStream calls, in order (stream.go).
	streams []StreamUpload
}

// Upload is an object stored through UploadObject: one the caller wrote itself (a
// manifest, a claim, an inventory part, a repository record), not a copy.
type Upload struct {
	Bucket, Key string
	Data        []byte
}

// Uploads returns every object UploadObject stored so far, in order, overwritten
// and deleted ones included.
func (p *Provider) Uploads() []Upload {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.uploads)
}

// objectVersion is one entry of a key's history in a versioned bucket: a version of
// the object, or a delete marker (obj nil).
type objectVersion struct {
	id       string
	obj      *object
	modified time.Time
}

// instance is one database instance; its tags are info.Settings.Tags.
type instance struct {
	info    provider.DatabaseInstance
	created time.Time
}

type snapshot struct {
	status  provider.SnapshotStatus
	created time.Time
}

// object is one stored object with the metadata S3 would keep for it.
type object struct {
	data     []byte
	etag     string
	modified time.Time
	// sourceETag is what the AWS provider records in x-amz-meta-lc2-source-etag on a
	// multipart copy, so a resumed copy recognises it; empty for other objects.
	sourceETag string
	// versionID is the object's version in a versioned bucket ("null" for an object
	// stored before versioning was enabled); empty in an unversioned bucket.
	versionID string
}

// nullVersion is S3's version id of an object stored while its bucket was unversioned.
const nullVersion = "null"

// Region is the fake's region, as the aws provider reports its own.
const Region = "us-east-1"

// Region implements provider.Regional.
func (p *Provider) Region() string { return Region }

// New returns an empty fake with the given buckets.
func New(buckets ...string) *Provider {
	p := &Provider{snapshots: map[string]*snapshot{}, objects: map[string]map[string]*object{}, failures: map[string]error{}, calls: map[string]int{}, Clock: clock.RealClock{},
		bucketTags: map[string]map[string]string{}, instances: map[string]*instance{},
		versioned: map[string]bool{}, versions: map[string]map[string][]objectVersion{}}
	for _, b := range buckets {
		p.objects[b] = map[string]*object{}
	}
	return p
}

var _ provider.Provider = (*Provider)(nil)

// FailWith makes every later call of operation return err (nil clears it).
func (p *Provider) FailWith(operation string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		delete(p.failures, operation)
		return
	}
	p.failures[operation] = err
}

// Calls returns how often operation was called.
func (p *Provider) Calls(operation string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[operation]
}

// Snapshots returns the ids of existing snapshots.
func (p *Provider) Snapshots() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]string, 0, len(p.snapshots))
	for id := range p.snapshots {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// CreateBucket creates an empty bucket if it does not exist (test setup).
func (p *Provider) CreateBucket(bucket string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.objects[bucket] == nil {
		p.objects[bucket] = map[string]*object{}
	}
}

// PutObject stores an object directly, creating the bucket if needed (test setup).
func (p *Provider) PutObject(bucket, key string, data []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.objects[bucket] == nil {
		p.objects[bucket] = map[string]*object{}
	}
	p.store(bucket, key, data)
}

// ReadObject returns a copy of an object's bytes, or ok=false when it does not exist
// (test checks that do not go through the Provider interface).
func (p *Provider) ReadObject(bucket, key string) (data []byte, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o, ok := p.objects[bucket][key]
	if !ok {
		return nil, false
	}
	return bytes.Clone(o.data), true
}

// store writes a single-part object; p.mu is held.
func (p *Provider) store(bucket, key string, data []byte) {
	data = bytes.Clone(data)
	if data == nil {
		data = []byte{}
	}
	p.put(bucket, key, &object{data: data, etag: etagOf(data), modified: p.Clock.Now()})
}

// put makes o the current object of key, a new version of it in a versioned bucket.
// o must be new: objects are never changed once stored. p.mu is held.
func (p *Provider) put(bucket, key string, o *object) {
	if p.versioned[bucket] {
		p.versionSeq++
		o.versionID = fmt.Sprintf("fake-version-%d", p.versionSeq)
		p.versions[bucket][key] = append(p.versions[bucket][key], objectVersion{id: o.versionID, obj: o, modified: o.modified})
	}
	p.objects[bucket][key] = o
}

// remove deletes key as S3's DeleteObject does: in a versioned bucket it adds a delete
// marker and keeps the versions. p.mu is held.
func (p *Provider) remove(bucket, key string) {
	if p.versioned[bucket] {
		p.versionSeq++
		p.versions[bucket][key] = append(p.versions[bucket][key],
			objectVersion{id: fmt.Sprintf("fake-marker-%d", p.versionSeq), modified: p.Clock.Now()})
	}
	delete(p.objects[bucket], key)
}

// DeleteObject deletes an object directly, as an application's DeleteObject does: in
// a versioned bucket it adds a delete marker (test setup).
func (p *Provider) DeleteObject(bucket, key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.objects[bucket] != nil {
		p.remove(bucket, key)
	}
}

// EnableVersioning turns versioning on for bucket, creating it if needed (test setup).
// The objects it holds become their keys' "null" versions, as on S3; from then on
// every write adds a version and every delete a delete marker.
func (p *Provider) EnableVersioning(bucket string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.objects[bucket] == nil {
		p.objects[bucket] = map[string]*object{}
	}
	if p.versioned[bucket] {
		return
	}
	p.versioned[bucket] = true
	history := map[string][]objectVersion{}
	for key, o := range p.objects[bucket] {
		null := *o // a copy: stored objects are never changed
		null.versionID = nullVersion
		p.objects[bucket][key] = &null
		history[key] = []objectVersion{{id: nullVersion, obj: &null, modified: null.modified}}
	}
	p.versions[bucket] = history
}

// ObjectVersions returns the version ids of key's versions, newest first, delete
// markers left out (test checks): in an unversioned bucket, "null" for an object that
// exists.
func (p *Provider) ObjectVersions(bucket, key string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for _, v := range slices.Backward(p.history(bucket, key)) {
		if v.obj != nil {
			ids = append(ids, v.id)
		}
	}
	return ids
}

// DeleteObjectVersion removes one version (or delete marker) of key for good, as S3's
// DeleteObject with a VersionId does (test setup). Removing the newest entry makes the
// one before it current.
func (p *Provider) DeleteObjectVersion(bucket, key, versionID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.versioned[bucket] {
		if o := p.objects[bucket][key]; o != nil && versionID == nullVersion {
			delete(p.objects[bucket], key)
		}
		return
	}
	history := slices.DeleteFunc(p.versions[bucket][key], func(v objectVersion) bool { return v.id == versionID })
	p.versions[bucket][key] = history
	if len(history) == 0 || history[len(history)-1].obj == nil {
		delete(p.objects[bucket], key)
	} else {
		p.objects[bucket][key] = history[len(history)-1].obj
	}
}

// history is key's versions oldest first: the kept history in a versioned bucket, the
// current object as its "null" version in an unversioned one. p.mu is held.
func (p *Provider) history(bucket, key string) []objectVersion {
	if p.versioned[bucket] {
		return p.versions[bucket][key]
	}
	if o, ok := p.objects[bucket][key]; ok {
		return []objectVersion{{id: nullVersion, obj: o, modified: o.modified}}
	}
	return nil
}

// version returns the object of one version of key, or nil when there is no such
// version (or it is a delete marker). p.mu is held.
func (p *Provider) version(bucket, key, versionID string) *object {
	for _, v := range p.history(bucket, key) {
		if v.id == versionID {
			return v.obj
		}
	}
	return nil
}

func (p *Provider) enter(ctx context.Context, op string) error {
	p.mu.Lock()
	p.calls[op]++
	err := p.failures[op]
	p.mu.Unlock()
	if p.Latency > 0 {
		select {
		case <-time.After(p.Latency):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

// CreateDatabaseSnapshot implements provider.Provider.
func (p *Provider) CreateDatabaseSnapshot(ctx context.Context, req provider.CreateSnapshotRequest) (*provider.DatabaseSnapshotResult, error) {
	if err := p.enter(ctx, "CreateDatabaseSnapshot"); err != nil {
		return nil, err
	}
	if req.InstanceID == "" || req.Owner.Namespace == "" || req.Owner.Name == "" || req.Owner.UID == "" {
		return nil, fakeError(provider.KindInvalidInput, "CreateDBSnapshot", req.InstanceID, "instance id and owner namespace, name and uid are required")
	}
	id := snapshotID(req.Owner)
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.snapshots[id]; ok {
		existing := s.status.Owner
		if existing.UID != req.Owner.UID || existing.Namespace != req.Owner.Namespace || existing.Name != req.Owner.Name {
			return nil, fakeError(provider.KindConflict, "CreateDBSnapshot", id, fmt.Sprintf(
				"database snapshot %s already exists and belongs to BackupRequest %s/%s (uid %q), not to %s/%s (uid %q)",
				id, existing.Namespace, existing.Name, existing.UID, req.Owner.Namespace, req.Owner.Name, req.Owner.UID))
		}
		if s.status.InstanceID != req.InstanceID {
			return nil, fakeError(provider.KindConflict, "CreateDBSnapshot", id, fmt.Sprintf(
				"database snapshot %s of this BackupRequest is of instance %s, not %s", id, s.status.InstanceID, req.InstanceID))
		}
		return &provider.DatabaseSnapshotResult{SnapshotID: id, SnapshotARN: s.status.SnapshotARN, Status: s.status.State, Adopted: true}, nil
	}
	if _, known := p.instances[req.InstanceID]; p.RequireInstances && !known {
		return nil, fakeError(provider.KindNotFound, "CreateDBSnapshot", req.InstanceID+"/"+id, "database instance "+req.InstanceID+" not found")
	}
	created := p.Clock.Now()
	size := int64(20) << 30
	if inst, ok := p.instances[req.InstanceID]; ok && inst.info.Settings.AllocatedStorageGiB > 0 {
		size = int64(inst.info.Settings.AllocatedStorageGiB) << 30 // RDS reports the instance's allocated storage
	}
	s := &snapshot{created: created, status: provider.SnapshotStatus{
		SnapshotID: id, SnapshotARN: "arn:fake:rds:snapshot:" + id, InstanceID: req.InstanceID,
		State: provider.SnapshotCreating, RawStatus: "creating", SizeBytes: size, Engine: "postgres", EngineVersion: "15.4",
		CreatedAt: &created, Owner: req.Owner,
	}}
	p.snapshots[id] = s
	return &provider.DatabaseSnapshotResult{SnapshotID: id, SnapshotARN: s.status.SnapshotARN, Status: provider.SnapshotCreating}, nil
}

// GetDatabaseSnapshotStatus implements provider.Provider.
func (p *Provider) GetDatabaseSnapshotStatus(ctx context.Context, id string) (*provider.SnapshotStatus, error) {
	if err := p.enter(ctx, "GetDatabaseSnapshotStatus"); err != nil {
		return nil, err
	}
	if id == "" {
		return nil, fakeError(provider.KindInvalidInput, "DescribeDBSnapshots", id, "snapshot id is required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.snapshots[id]
	if !ok {
		return nil, fakeError(provider.KindNotFound, "DescribeDBSnapshots", id, "database snapshot "+id+" not found")
	}
	st := s.status
	if st.State == provider.SnapshotCreating && p.Clock.Now().Sub(s.created) >= p.SnapshotReadyAfter {
		st.State, st.RawStatus, st.PercentProgress = provider.SnapshotAvailable, "available", 100
		s.status = st
	}
	if st.CreatedAt != nil {
		created := *st.CreatedAt
		st.CreatedAt = &created
	}
	return &st, nil
}

// SetSnapshotState forces a snapshot's state (for failure tests).
func (p *Provider) SetSnapshotState(id string, state provider.SnapshotState, raw string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.snapshots[id]; ok {
		s.status.State, s.status.RawStatus = state, raw
	}
}

// DeleteDatabaseSnapshot implements provider.Provider.
func (p *Provider) DeleteDatabaseSnapshot(ctx context.Context, id string) error {
	if err := p.enter(ctx, "DeleteDatabaseSnapshot"); err != nil {
		return err
	}
	if id == "" {
		return fakeError(provider.KindInvalidInput, "DeleteDBSnapshot", id, "snapshot id is required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.snapshots, id)
	return nil
}

// CopyObjectStorage implements provider.Provider: after CopyDuration it copies the
// selected objects in key order, one at a time, and reports the final totals to
// Progress once. Stored and Progress are called outside the fake's lock: the
// controller's Stored callback writes inventory parts through the provider.
// Like the AWS provider it returns the result so far together with an error.
func (p *Provider) CopyObjectStorage(ctx context.Context, req provider.ObjectStorageCopyRequest) (*provider.ObjectStorageCopyResult, error) {
	if err := p.enter(ctx, "CopyObjectStorage"); err != nil {
		return nil, err
	}
	excluder, err := validateCopy(req)
	if err != nil {
		return nil, err
	}
	resource := req.SourceBucket + "/" + req.SourcePrefix
	res := &provider.ObjectStorageCopyResult{}
	if p.CopyDuration > 0 {
		select {
		case <-time.After(p.CopyDuration):
		case <-ctx.Done():
			return res, copyStopped(resource, ctx.Err())
		}
	}
	threshold := min(firstPositive(req.MultipartThreshold, singleCopyLimit), singleCopyLimit)
	partSize := firstPositive(req.PartSize, defaultPartSize)

	work, err := p.selectObjects(req, excluder, res)
	if err != nil {
		return res, err
	}

	for _, w := range work {
		if err := ctx.Err(); err != nil {
			return res, copyStopped(resource, err)
		}
		size := int64(len(w.obj.data))
		res.ObjectsTotal++
		res.BytesTotal += size
		destKey := req.DestinationPrefix + w.rel
		if len(destKey) > provider.MaxKeyBytes {
			return res, provider.KeyTooLong("CopyObject", w.key, req.DestinationBucket, destKey)
		}

		p.mu.Lock()
		dst, ok := p.objects[req.DestinationBucket]
		if !ok {
			p.mu.Unlock()
			return res, fakeError(provider.KindNotFound, "ListObjectsV2", req.DestinationBucket+"/"+req.DestinationPrefix,
				"bucket "+req.DestinationBucket+" does not exist")
		}
		stored := provider.StoredObject{SourceKey: w.key, Key: destKey, Size: size, SourceETag: w.obj.etag, SourceVersionID: w.versionID}
		existing := dst[destKey]
		if req.Existing == provider.Unchecked {
			existing = nil // copied without looking at the destination
		}
		switch {
		case existing != nil && req.Existing == provider.SkipExisting:
			// Not ours to replace, and not part of what this copy stored.
			res.ObjectsSkipped++
			p.mu.Unlock()
			continue
		case existing != nil && int64(len(existing.data)) == size &&
			(existing.etag == w.obj.etag || size > threshold && existing.sourceETag == w.obj.etag):
			// Already there: the same single-part object, or an earlier multipart copy
			// of this very source version.
			stored.ETag = existing.etag
			res.ObjectsSkipped++
		default:
			copied := &object{data: w.obj.data, etag: etagOf(w.obj.data), modified: p.Clock.Now()}
			if size > threshold {
				copied.etag = multipartETag(w.obj.data, provider.PartSize(size, partSize, minPartSize, maxParts))
				copied.sourceETag = w.obj.etag
			}
			p.put(req.DestinationBucket, destKey, copied)
			stored.ETag, stored.Copied = copied.etag, true
			res.ObjectsCopied++
			res.BytesCopied += size
		}
		p.mu.Unlock()

		if len(res.Files) < req.FileListLimit {
			res.Files = append(res.Files, provider.ObjectMetadata{Key: destKey, Size: size, ETag: stored.ETag, LastModified: w.obj.modified})
		}
		if req.Stored != nil {
			req.Stored(stored)
		}
	}
	// One report of the final totals: the copy is instant, and reports along the way
	// would only give a reconcile a mid-copy state to write (the controller's tests
	// count status writes).
	if req.Progress != nil {
		req.Progress(provider.CopyProgress{ObjectsTotal: res.ObjectsTotal, ObjectsCopied: res.ObjectsCopied,
			ObjectsSkipped: res.ObjectsSkipped, BytesCopied: res.BytesCopied, ListingDone: true})
	}
	return res, nil
}

// selected is one source object a copy works on.
type selected struct {
	// key is the source key; rel the destination key relative to DestinationPrefix.
	key, rel string
	// versionID is the version an item named; empty for the current object.
	versionID string
	obj       *object
}

// selectObjects returns the source objects of a copy in the order it copies them: the
// listing of the source prefix less the exclusions, or exactly req.Objects (each from
// its VersionID and to its DestinationKey when named). The sequence is read before
// taking the fake's lock, since a caller's sequence may read through the provider (an
// inventory). Listed objects (or versions) missing from the source count as vanished,
// as a CopyObject of them would on AWS.
func (p *Provider) selectObjects(req provider.ObjectStorageCopyRequest, excluder *provider.Excluder, res *provider.ObjectStorageCopyResult) ([]selected, error) {
	resource := req.SourceBucket + "/" + req.SourcePrefix
	type item struct {
		selected
		size int64
	}
	var listed []item
	if req.Objects != nil {
		for it, err := range req.Objects {
			if err != nil {
				return nil, fmt.Errorf("read the objects to copy: %w", err)
			}
			o := it.Source
			if o.Key == "" {
				return nil, fakeError(provider.KindInvalidInput, "CopyObjectStorage", resource, "an object to copy has no source key")
			}
			rel := it.DestinationKey
			if rel == "" {
				var under bool
				if rel, under = strings.CutPrefix(o.Key, req.SourcePrefix); !under {
					return nil, fakeError(provider.KindInvalidInput, "CopyObjectStorage", resource, fmt.Sprintf(
						"object %s to copy is not under the source prefix %q", o.Key, req.SourcePrefix))
				}
			}
			listed = append(listed, item{selected{key: o.Key, rel: rel, versionID: o.VersionID}, o.Size})
		}
	}
	// Objects are never mutated in place (a write replaces the *object), so the
	// pointers taken here are a consistent snapshot of the source.
	p.mu.Lock()
	defer p.mu.Unlock()
	src, ok := p.objects[req.SourceBucket]
	if !ok {
		return nil, fakeError(provider.KindNotFound, "ListObjectsV2", resource, "bucket "+req.SourceBucket+" does not exist")
	}
	var work []selected
	if req.Objects != nil {
		for _, it := range listed {
			if it.versionID != "" {
				it.obj = p.version(req.SourceBucket, it.key, it.versionID)
			} else {
				it.obj = src[it.key]
			}
			if it.obj != nil {
				work = append(work, it.selected)
			} else {
				res.ObjectsTotal++
				res.BytesTotal += it.size
				res.ObjectsVanished++
			}
		}
		return work, nil
	}
	for _, key := range sortedKeys(src, req.SourcePrefix) {
		rel := strings.TrimPrefix(key, req.SourcePrefix)
		if excluder.Excluded(rel) {
			res.ObjectsExcluded++
			continue
		}
		work = append(work, selected{key: key, rel: rel, obj: src[key]})
	}
	return work, nil
}

// validateCopy refuses the requests the AWS provider refuses before copying anything
// and compiles the exclusion rules.
func validateCopy(req provider.ObjectStorageCopyRequest) (*provider.Excluder, error) {
	resource := req.SourceBucket + "/" + req.SourcePrefix
	if req.SourceBucket == "" || req.DestinationBucket == "" {
		return nil, fakeError(provider.KindInvalidInput, "CopyObjectStorage", resource, "source and destination buckets are required")
	}
	if provider.LocationsOverlap(req.SourceBucket, req.SourcePrefix, req.DestinationBucket, req.DestinationPrefix) {
		return nil, fakeError(provider.KindInvalidInput, "CopyObjectStorage", resource, fmt.Sprintf(
			"destination prefix %q overlaps source prefix %q in the same bucket", req.DestinationPrefix, req.SourcePrefix))
	}
	if req.PartSize > 0 && req.PartSize < minPartSize {
		return nil, fakeError(provider.KindInvalidInput, "CopyObjectStorage", resource, fmt.Sprintf(
			"part size %d is below S3's minimum of %d bytes", req.PartSize, minPartSize))
	}
	switch req.Existing {
	case provider.SkipIdentical, provider.SkipExisting, provider.Overwrite, provider.Unchecked:
	default:
		return nil, fakeError(provider.KindInvalidInput, "CopyObjectStorage", resource, fmt.Sprintf("unknown existing-objects policy %q", req.Existing))
	}
	excluder, err := provider.NewExcluder(req.ExcludePatterns, req.ExcludeGeneratedFiles)
	if err != nil {
		var pe *provider.Error
		if errors.As(err, &pe) && pe.Message == "" {
			pe.Message = pe.Err.Error()
		}
		return nil, err
	}
	return excluder, nil
}

// copyStopped is the error of a copy stopped by its context, as the AWS provider has it.
func copyStopped(resource string, cause error) error {
	return provider.NewError(provider.KindTransient, "CopyObjectStorage", resource, fmt.Errorf("copy stopped: %w", cause)).
		WithMessage("CopyObjectStorage on s3://" + resource + " cancelled")
}

// UploadObject implements provider.Provider.
func (p *Provider) UploadObject(ctx context.Context, bucket, key string, data []byte) error {
	if err := p.enter(ctx, "UploadObject"); err != nil {
		return err
	}
	if bucket == "" || key == "" || len(key) > provider.MaxKeyBytes {
		return fakeError(provider.KindInvalidInput, "PutObject", bucket+"/"+key, fmt.Sprintf("a bucket and a key of 1 to %d bytes are required to upload an object", provider.MaxKeyBytes))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.objects[bucket] == nil {
		return fakeError(provider.KindNotFound, "PutObject", bucket+"/"+key, "bucket "+bucket+" does not exist")
	}
	p.store(bucket, key, data)
	p.uploads = append(p.uploads, Upload{Bucket: bucket, Key: key, Data: bytes.Clone(data)})
	return nil
}

// DownloadObject implements provider.Provider.
func (p *Provider) DownloadObject(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	if err := p.enter(ctx, "DownloadObject"); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	objs, ok := p.objects[bucket]
	if !ok {
		return nil, fakeError(provider.KindNotFound, "GetObject", bucket+"/"+key, "bucket "+bucket+" does not exist")
	}
	o, ok := objs[key]
	if !ok {
		return nil, fakeError(provider.KindNotFound, "GetObject", bucket+"/"+key, "object s3://"+bucket+"/"+key+" does not exist")
	}
	return io.NopCloser(bytes.NewReader(o.data)), nil
}

// ListObjects implements provider.Provider.
func (p *Provider) ListObjects(ctx context.Context, bucket, prefix string) ([]provider.ObjectMetadata, error) {
	if err := p.enter(ctx, "ListObjects"); err != nil {
		return nil, err
	}
	return p.list(bucket, prefix, -1)
}

// ListObjectsUpTo implements provider.Provider.
func (p *Provider) ListObjectsUpTo(ctx context.Context, bucket, prefix string, limit int) ([]provider.ObjectMetadata, error) {
	if err := p.enter(ctx, "ListObjectsUpTo"); err != nil {
		return nil, err
	}
	return p.list(bucket, prefix, min(max(limit, 1), maxListUpToLimit))
}

// list returns up to limit (all when negative) objects under prefix in key order.
func (p *Provider) list(bucket, prefix string, limit int) ([]provider.ObjectMetadata, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	objs, ok := p.objects[bucket]
	if !ok {
		return nil, fakeError(provider.KindNotFound, "ListObjectsV2", bucket+"/"+prefix, "bucket "+bucket+" does not exist")
	}
	keys := sortedKeys(objs, prefix)
	if limit >= 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	out := make([]provider.ObjectMetadata, 0, len(keys))
	for _, k := range keys {
		o := objs[k]
		out = append(out, provider.ObjectMetadata{Key: k, Size: int64(len(o.data)), ETag: o.etag, LastModified: o.modified})
	}
	return out, nil
}

// DeleteObjects implements provider.Provider. Like S3 it deletes nothing when a key
// is empty, counts missing keys as deleted and refuses a missing bucket.
func (p *Provider) DeleteObjects(ctx context.Context, bucket string, keys []string) (int, error) {
	if err := p.enter(ctx, "DeleteObjects"); err != nil {
		return 0, err
	}
	if bucket == "" {
		return 0, fakeError(provider.KindInvalidInput, "DeleteObjects", bucket, "refusing to delete without a bucket")
	}
	for _, k := range keys {
		if k == "" {
			return 0, fakeError(provider.KindInvalidInput, "DeleteObjects", bucket, "refusing to delete an empty key from bucket "+bucket)
		}
	}
	if len(keys) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.objects[bucket]; !ok {
		return 0, fakeError(provider.KindNotFound, "DeleteObjects", bucket+"/"+keys[0], "bucket "+bucket+" does not exist")
	}
	for _, k := range keys {
		p.remove(bucket, k)
	}
	return len(keys), nil
}

// SetBucketTags replaces a bucket's tags (test setup).
func (p *Provider) SetBucketTags(bucket string, tags map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bucketTags[bucket] = maps.Clone(tags)
}

// SetInstanceTags creates (or retags) a database instance (test setup); nil tags
// create an untagged instance. A new instance is available with DefaultInstanceSettings.
func (p *Provider) SetInstanceTags(instanceID string, tags map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if inst, ok := p.instances[instanceID]; ok {
		inst.info.Settings.Tags = maps.Clone(tags)
		return
	}
	settings := DefaultInstanceSettings()
	settings.Tags = maps.Clone(tags)
	p.putInstance(instanceID, settings)
}

// PutInstance creates (or replaces) an available database instance with settings,
// tags included (test setup: the source instance of a backup).
func (p *Provider) PutInstance(instanceID string, settings provider.DatabaseInstanceSettings) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.putInstance(instanceID, settings)
}

// DefaultInstanceSettings are the settings of an instance registered with
// SetInstanceTags: what a small PostgreSQL instance created with defaults has.
func DefaultInstanceSettings() provider.DatabaseInstanceSettings {
	return provider.DatabaseInstanceSettings{
		InstanceClass: "db.t3.micro", StorageType: "gp2", AllocatedStorageGiB: 20,
		ParameterGroup: "default.postgres15", OptionGroup: "default:postgres-15", Port: 5432,
	}
}

// putInstance stores an available instance; p.mu is held.
func (p *Provider) putInstance(id string, settings provider.DatabaseInstanceSettings) {
	settings.Tags = maps.Clone(settings.Tags)
	settings.SecurityGroupIDs = slices.Clone(settings.SecurityGroupIDs)
	p.instances[id] = &instance{created: p.Clock.Now(), info: provider.DatabaseInstance{
		InstanceID: id, InstanceARN: "arn:fake:rds:db:" + id, State: provider.DatabaseInstanceAvailable, RawStatus: "available",
		Engine: "postgres", EngineVersion: "15.4", Endpoint: fmt.Sprintf("%s.fake.rds:%d", id, settings.Port),
		Settings: settings, Owner: provider.OwnerFromTags(settings.Tags),
	}}
}

// SetInstanceState forces an instance's state (for failure tests).
func (p *Provider) SetInstanceState(instanceID string, state provider.DatabaseInstanceState, raw string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if inst, ok := p.instances[instanceID]; ok {
		inst.info.State, inst.info.RawStatus = state, raw
	}
}

// Instances returns the ids of existing instances.
func (p *Provider) Instances() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Sorted(maps.Keys(p.instances))
}

// BucketTags implements provider.Provider.
func (p *Provider) BucketTags(ctx context.Context, bucket string) (map[string]string, error) {
	if err := p.enter(ctx, "BucketTags"); err != nil {
		return nil, err
	}
	if bucket == "" {
		return nil, fakeError(provider.KindInvalidInput, "GetBucketTagging", bucket, "bucket name is required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.objects[bucket]; !ok {
		return nil, fakeError(provider.KindNotFound, "HeadBucket", bucket, fmt.Sprintf("bucket %s does not exist", bucket))
	}
	return cloneTags(p.bucketTags[bucket]), nil
}

// DatabaseInstanceTags implements provider.Provider. Instances exist once they have
// been registered with SetInstanceTags.
func (p *Provider) DatabaseInstanceTags(ctx context.Context, instanceID string) (map[string]string, error) {
	if err := p.enter(ctx, "DatabaseInstanceTags"); err != nil {
		return nil, err
	}
	if instanceID == "" {
		return nil, fakeError(provider.KindInvalidInput, "DescribeDBInstances", instanceID, "database instance id is required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	inst, ok := p.instances[instanceID]
	if !ok {
		return nil, fakeError(provider.KindNotFound, "DescribeDBInstances", instanceID, fmt.Sprintf("database instance %s not found", instanceID))
	}
	return cloneTags(inst.info.Settings.Tags), nil
}

// cloneTags copies tags; no tags is an empty map, never nil, as on AWS.
func cloneTags(tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	maps.Copy(out, tags)
	return out
}

// fakeError is a classified error whose Message is msg, like the AWS provider's.
func fakeError(kind provider.ErrorKind, op, resource, msg string) *provider.Error {
	return provider.NewError(kind, op, resource, errors.New(msg)).WithMessage(msg)
}

// sortedKeys returns the keys of objs under prefix in S3's listing order (UTF-8
// binary, which is Go's string order).
func sortedKeys(objs map[string]*object, prefix string) []string {
	var keys []string
	for k := range objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// etagOf is the MD5 of data in hex, like S3's ETag of a single-part object.
func etagOf(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

// multipartETag is S3's ETag of an object assembled from parts of partSize bytes:
// the MD5 of the concatenated binary part MD5s, a hyphen and the part count.
func multipartETag(data []byte, partSize int64) string {
	var sums []byte
	parts := 0
	for off := int64(0); off < int64(len(data)); off += partSize {
		sum := md5.Sum(data[off:min(off+partSize, int64(len(data)))])
		sums = append(sums, sum[:]...)
		parts++
	}
	return fmt.Sprintf("%s-%d", etagOf(sums), parts)
}

func firstPositive(values ...int64) int64 {
	for _, v := range values {
		if v > 0 {
			return v
		}
	}
	return 0
}

// snapshotID derives a snapshot name from the owner the way the AWS provider does in
// spirit: readable namespace and name, and a hash over the exact namespace, name and
// UID, so a recreated BackupRequest (a new UID) never collides with its predecessor.
func snapshotID(owner provider.BackupOwner) string {
	h := sha256.New()
	for _, field := range []string{owner.Namespace, owner.Name, owner.UID} {
		_, _ = fmt.Fprintf(h, "%d:%s;", len(field), field) // a hash.Hash never fails to write
	}
	return "snap-" + owner.Namespace + "-" + owner.Name + "-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// WalkObjects implements provider.Provider: the current objects under prefix, in key
// order, as they were when the walk started.
func (p *Provider) WalkObjects(ctx context.Context, bucket, prefix string, keys provider.KeyRange) iter.Seq2[provider.ObjectMetadata, error] {
	return p.walk(ctx, "WalkObjects", "ListObjectsV2", bucket, prefix, "objects", func() ([]provider.ObjectMetadata, error) {
		objs, err := p.list(bucket, prefix, -1)
		return slices.DeleteFunc(objs, func(o provider.ObjectMetadata) bool { return !keys.Contains(o.Key) }), err
	})
}

// walk yields what list returns when the walk starts, and stops with a classified
// error once ctx ends, as the AWS provider's walks do. op is the provider call,
// request the S3 request its errors name, what the things listed.
func (p *Provider) walk(ctx context.Context, op, request, bucket, prefix, what string, list func() ([]provider.ObjectMetadata, error)) iter.Seq2[provider.ObjectMetadata, error] {
	resource := bucket + "/" + prefix
	return func(yield func(provider.ObjectMetadata, error) bool) {
		if err := p.enter(ctx, op); err != nil {
			yield(provider.ObjectMetadata{}, err)
			return
		}
		if bucket == "" {
			yield(provider.ObjectMetadata{}, fakeError(provider.KindInvalidInput, request, resource, "a bucket is required to list "+what))
			return
		}
		objects, err := list()
		if err != nil {
			yield(provider.ObjectMetadata{}, err)
			return
		}
		for _, o := range objects {
			if err := ctx.Err(); err != nil {
				yield(provider.ObjectMetadata{}, provider.NewError(provider.KindTransient, request, resource, fmt.Errorf("walk stopped: %w", err)).
					WithMessage(request+" on s3://"+resource+" cancelled"))
				return
			}
			if !yield(o, nil) {
				return
			}
		}
	}
}

// BucketVersioning implements provider.Provider: true once EnableVersioning was
// called for bucket.
func (p *Provider) BucketVersioning(ctx context.Context, bucket string) (bool, error) {
	if err := p.enter(ctx, "BucketVersioning"); err != nil {
		return false, err
	}
	if bucket == "" {
		return false, fakeError(provider.KindInvalidInput, "GetBucketVersioning", bucket, "bucket name is required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.objects[bucket]; !ok {
		return false, fakeError(provider.KindNotFound, "GetBucketVersioning", bucket, "bucket "+bucket+" does not exist")
	}
	return p.versioned[bucket], nil
}

// WalkObjectsAsOf implements provider.Provider: for each key under prefix, the newest
// entry of its history modified at or before asOf, unless a delete marker. In an
// unversioned bucket each current object is its key's only ("null") version.
func (p *Provider) WalkObjectsAsOf(ctx context.Context, bucket, prefix string, asOf time.Time) iter.Seq2[provider.ObjectMetadata, error] {
	return p.walk(ctx, "WalkObjectsAsOf", "ListObjectVersions", bucket, prefix, "object versions", func() ([]provider.ObjectMetadata, error) {
		return p.asOf(bucket, prefix, asOf)
	})
}

// asOf returns WalkObjectsAsOf's objects, read under the lock.
func (p *Provider) asOf(bucket, prefix string, asOf time.Time) ([]provider.ObjectMetadata, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	objs, ok := p.objects[bucket]
	if !ok {
		return nil, fakeError(provider.KindNotFound, "ListObjectVersions", bucket+"/"+prefix, "bucket "+bucket+" does not exist")
	}
	keys := sortedKeys(objs, prefix)
	for key := range p.versions[bucket] {
		if _, current := objs[key]; !current && strings.HasPrefix(key, prefix) {
			keys = append(keys, key) // deleted now, maybe not at asOf
		}
	}
	sort.Strings(keys)
	var out []provider.ObjectMetadata
	for _, key := range keys {
		for _, v := range slices.Backward(p.history(bucket, key)) {
			if v.modified.After(asOf) {
				continue
			}
			if v.obj != nil {
				out = append(out, provider.ObjectMetadata{
					Key: key, Size: int64(len(v.obj.data)), ETag: v.obj.etag, LastModified: v.modified, VersionID: v.id,
				})
			}
			break
		}
	}
	return out, nil
}
