// Package fake is an in-memory provider.Provider for fast tests of the state machine
// and for the reconcile benchmark: snapshots become available after a delay, copies
// take a configurable time, and any operation can be made to fail.
package fake

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// Provider is a fake cloud. The zero value is not usable; call New.
type Provider struct {
	// Latency is added to every call (simulating API round trips).
	Latency time.Duration
	// SnapshotReadyAfter is how long a snapshot stays Creating.
	SnapshotReadyAfter time.Duration
	// CopyDuration is how long a copy takes.
	CopyDuration time.Duration
	// Now is the clock used for snapshot readiness (default time.Now).
	Now func() time.Time

	mu        sync.Mutex
	snapshots map[string]*snapshot
	objects   map[string]map[string][]byte // bucket -> key -> data
	failures  map[string]error             // operation -> error to return
	calls     map[string]int
	// bucketTags and instanceTags are the ownership tags of buckets and instances.
	bucketTags   map[string]map[string]string
	instanceTags map[string]map[string]string
}

type snapshot struct {
	status  provider.SnapshotStatus
	created time.Time
}

// New returns an empty fake with the given buckets.
func New(buckets ...string) *Provider {
	p := &Provider{snapshots: map[string]*snapshot{}, objects: map[string]map[string][]byte{}, failures: map[string]error{}, calls: map[string]int{}, Now: time.Now,
		bucketTags: map[string]map[string]string{}, instanceTags: map[string]map[string]string{}}
	for _, b := range buckets {
		p.objects[b] = map[string][]byte{}
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

// PutObject stores an object directly (test setup).
func (p *Provider) PutObject(bucket, key string, data []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.objects[bucket] == nil {
		p.objects[bucket] = map[string][]byte{}
	}
	p.objects[bucket][key] = data
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
	id := "snap-" + req.Owner.Namespace + "-" + req.Owner.Name + "-" + shortUID(req.Owner.UID)
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.snapshots[id]; ok {
		if s.status.Owner.UID != req.Owner.UID {
			return nil, fakeError(provider.KindConflict, "CreateDBSnapshot", id, "snapshot exists with other owner")
		}
		return &provider.DatabaseSnapshotResult{SnapshotID: id, SnapshotARN: s.status.SnapshotARN, Status: s.status.State, Adopted: true}, nil
	}
	s := &snapshot{created: p.Now(), status: provider.SnapshotStatus{
		SnapshotID: id, SnapshotARN: "arn:fake:rds:snapshot:" + id, InstanceID: req.InstanceID,
		State: provider.SnapshotCreating, RawStatus: "creating", SizeBytes: 20 << 30, Engine: "postgres", EngineVersion: "15.4", Owner: req.Owner,
	}}
	p.snapshots[id] = s
	return &provider.DatabaseSnapshotResult{SnapshotID: id, SnapshotARN: s.status.SnapshotARN, Status: provider.SnapshotCreating}, nil
}

// GetDatabaseSnapshotStatus implements provider.Provider.
func (p *Provider) GetDatabaseSnapshotStatus(ctx context.Context, id string) (*provider.SnapshotStatus, error) {
	if err := p.enter(ctx, "GetDatabaseSnapshotStatus"); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.snapshots[id]
	if !ok {
		return nil, fakeError(provider.KindNotFound, "DescribeDBSnapshots", id, "snapshot not found")
	}
	st := s.status
	if st.State == provider.SnapshotCreating && p.Now().Sub(s.created) >= p.SnapshotReadyAfter {
		st.State, st.RawStatus, st.PercentProgress = provider.SnapshotAvailable, "available", 100
		s.status = st
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
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.snapshots, id)
	return nil
}

// CopyObjectStorage implements provider.Provider: it copies after CopyDuration.
func (p *Provider) CopyObjectStorage(ctx context.Context, req provider.ObjectStorageCopyRequest) (*provider.ObjectStorageCopyResult, error) {
	if err := p.enter(ctx, "CopyObjectStorage"); err != nil {
		return nil, err
	}
	if p.CopyDuration > 0 {
		select {
		case <-time.After(p.CopyDuration):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	src, ok := p.objects[req.SourceBucket]
	if !ok {
		return nil, fakeError(provider.KindNotFound, "ListObjectsV2", req.SourceBucket, "bucket "+req.SourceBucket+" does not exist")
	}
	dst, ok := p.objects[req.DestinationBucket]
	if !ok {
		return nil, fakeError(provider.KindNotFound, "CopyObject", req.DestinationBucket, "bucket "+req.DestinationBucket+" does not exist")
	}
	res := &provider.ObjectStorageCopyResult{}
	for key, data := range src {
		if !strings.HasPrefix(key, req.SourcePrefix) {
			continue
		}
		res.ObjectsTotal++
		res.BytesTotal += int64(len(data))
		destKey := req.DestinationPrefix + strings.TrimPrefix(key, req.SourcePrefix)
		stored := provider.StoredObject{SourceKey: key, Key: destKey, Size: int64(len(data)), ETag: etagOf(data), SourceETag: etagOf(data)}
		if existing, ok := dst[destKey]; ok && bytes.Equal(existing, data) {
			res.ObjectsSkipped++
		} else {
			dst[destKey] = data
			res.ObjectsCopied++
			res.BytesCopied += int64(len(data))
			stored.Copied = true
		}
		if req.Stored != nil {
			req.Stored(stored)
		}
	}
	if req.Progress != nil {
		req.Progress(provider.CopyProgress{ObjectsTotal: res.ObjectsTotal, ObjectsCopied: res.ObjectsCopied, ObjectsSkipped: res.ObjectsSkipped, BytesCopied: res.BytesCopied, ListingDone: true})
	}
	return res, nil
}

// UploadObject implements provider.Provider.
func (p *Provider) UploadObject(ctx context.Context, bucket, key string, data []byte) error {
	if err := p.enter(ctx, "UploadObject"); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.objects[bucket] == nil {
		return fakeError(provider.KindNotFound, "PutObject", bucket, "bucket "+bucket+" does not exist")
	}
	p.objects[bucket][key] = append([]byte(nil), data...)
	return nil
}

// DownloadObject implements provider.Provider.
func (p *Provider) DownloadObject(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	if err := p.enter(ctx, "DownloadObject"); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	data, ok := p.objects[bucket][key]
	if !ok {
		return nil, fakeError(provider.KindNotFound, "GetObject", bucket+"/"+key, "object s3://"+bucket+"/"+key+" does not exist")
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// ListObjects implements provider.Provider.
func (p *Provider) ListObjects(ctx context.Context, bucket, prefix string) ([]provider.ObjectMetadata, error) {
	if err := p.enter(ctx, "ListObjects"); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	objs, ok := p.objects[bucket]
	if !ok {
		return nil, fakeError(provider.KindNotFound, "ListObjectsV2", bucket, "bucket "+bucket+" does not exist")
	}
	var out []provider.ObjectMetadata
	for k, d := range objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, provider.ObjectMetadata{Key: k, Size: int64(len(d)), ETag: etagOf(d)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// ListObjectsUpTo implements provider.Provider.
func (p *Provider) ListObjectsUpTo(ctx context.Context, bucket, prefix string, limit int) ([]provider.ObjectMetadata, error) {
	all, err := p.ListObjects(ctx, bucket, prefix)
	if err != nil {
		return nil, err
	}
	return all[:min(len(all), max(limit, 1))], nil
}

// DeleteObjects implements provider.Provider.
func (p *Provider) DeleteObjects(ctx context.Context, bucket string, keys []string) (int, error) {
	if err := p.enter(ctx, "DeleteObjects"); err != nil {
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range keys {
		if k == "" {
			return 0, fakeError(provider.KindInvalidInput, "DeleteObjects", bucket, "empty key")
		}
		delete(p.objects[bucket], k)
	}
	return len(keys), nil
}

// SetBucketTags replaces a bucket's tags (test setup).
func (p *Provider) SetBucketTags(bucket string, tags map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bucketTags[bucket] = tags
}

// SetInstanceTags creates (or retags) a database instance (test setup).
func (p *Provider) SetInstanceTags(instanceID string, tags map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.instanceTags[instanceID] = tags
}

// BucketTags implements provider.Provider.
func (p *Provider) BucketTags(ctx context.Context, bucket string) (map[string]string, error) {
	if err := p.enter(ctx, "BucketTags"); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.objects[bucket]; !ok {
		return nil, fakeError(provider.KindNotFound, "GetBucketTagging", bucket, fmt.Sprintf("bucket %s does not exist", bucket))
	}
	return maps.Clone(p.bucketTags[bucket]), nil
}

// DatabaseInstanceTags implements provider.Provider. Instances exist once they have
// tags set (SetInstanceTags), or implicitly when the fake was made with AnyInstance.
func (p *Provider) DatabaseInstanceTags(ctx context.Context, instanceID string) (map[string]string, error) {
	if err := p.enter(ctx, "DatabaseInstanceTags"); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	tags, ok := p.instanceTags[instanceID]
	if !ok {
		return nil, fakeError(provider.KindNotFound, "DescribeDBInstances", instanceID, fmt.Sprintf("database instance %s does not exist", instanceID))
	}
	return maps.Clone(tags), nil
}

// fakeError is a classified error whose Message is msg, like the AWS provider's.
func fakeError(kind provider.ErrorKind, op, resource, msg string) *provider.Error {
	return provider.NewError(kind, op, resource, errors.New(msg)).WithMessage(msg)
}

// etagOf is the MD5 of data in hex, like S3's ETag of a single-part object.
func etagOf(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

func shortUID(uid string) string {
	if len(uid) > 8 {
		return uid[:8]
	}
	return uid
}
