package gcp

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"sync/atomic"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// deleteConcurrency bounds the deletes of one DeleteObjects call in flight: GCS has no
// batch delete in the JSON API client, so retention deletes key by key.
const deleteConcurrency = 32

// maxListUpTo is the largest limit ListObjectsUpTo accepts, as on S3.
const maxListUpTo = 1000

// listedAttrs are the object attributes a listing asks for.
var listedAttrs = []string{"Name", "Size", "MD5", "CRC32C", "Created", "Updated", "Deleted", "Generation"}

// UploadObject writes data to bucket/key in one request, replacing any object there.
func (p *Provider) UploadObject(ctx context.Context, bucket, key string, data []byte) error {
	if bucket == "" || key == "" {
		return invalidInput("objects.insert", bucket+"/"+key, "bucket and key are required to upload an object")
	}
	w := p.gcs.Bucket(bucket).Object(key).NewWriter(ctx)
	w.ChunkSize = 0 // small objects: one request, no resumable session
	_, err := w.Write(data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return classify("objects.insert", bucket, key, err)
}

// DownloadObject opens bucket/key for reading; the caller closes the reader.
func (p *Provider) DownloadObject(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	if bucket == "" || key == "" {
		return nil, invalidInput("objects.get", bucket+"/"+key, "a bucket and a key are required to read an object")
	}
	r, err := p.gcs.Bucket(bucket).Object(key).NewReader(ctx)
	if err != nil {
		return nil, classify("objects.get", bucket, key, err)
	}
	return r, nil
}

// ListObjects lists every object under prefix, across all pages.
func (p *Provider) ListObjects(ctx context.Context, bucket, prefix string) ([]provider.ObjectMetadata, error) {
	var objects []provider.ObjectMetadata
	for o, err := range p.WalkObjects(ctx, bucket, prefix, provider.KeyRange{}) {
		if err != nil {
			return nil, err
		}
		objects = append(objects, o)
	}
	return objects, nil
}

// WalkObjects streams the objects under prefix whose keys lie in keys, in key order,
// a listing page at a time. The listing starts at keys.StartAfter (startOffset, which
// is inclusive: the key itself is dropped here, as is any key before it from a server
// that ignores the offset) and stops at the first key past keys.Through, so no page
// past the range is requested.
func (p *Provider) WalkObjects(ctx context.Context, bucket, prefix string, keys provider.KeyRange) iter.Seq2[provider.ObjectMetadata, error] {
	return func(yield func(provider.ObjectMetadata, error) bool) {
		if bucket == "" {
			yield(provider.ObjectMetadata{}, invalidInput("objects.list", prefix, "bucket name is required to list objects"))
			return
		}
		query := &storage.Query{Prefix: prefix, StartOffset: keys.StartAfter}
		it := p.objectIterator(ctx, bucket, query)
		for {
			attrs, err := it.Next()
			if errors.Is(err, iterator.Done) {
				return
			}
			if err != nil {
				yield(provider.ObjectMetadata{}, classify("objects.list", bucket, "", err))
				return
			}
			if keys.Past(attrs.Name) {
				return
			}
			if keys.Contains(attrs.Name) && !yield(objectMetadata(attrs), nil) {
				return
			}
		}
	}
}

// objectIterator lists query in bucket with the provider's page size, asking only for
// the attributes a listing reports.
func (p *Provider) objectIterator(ctx context.Context, bucket string, query *storage.Query) *storage.ObjectIterator {
	if err := query.SetAttrSelection(listedAttrs); err != nil {
		panic(fmt.Sprintf("listed attributes: %v", err)) // a constant list: a programming error
	}
	it := p.gcs.Bucket(bucket).Objects(ctx, query)
	if p.opts.ListPageSize > 0 {
		it.PageInfo().MaxSize = p.opts.ListPageSize
	}
	return it
}

// ListObjectsUpTo lists at most limit objects under prefix with a single request.
func (p *Provider) ListObjectsUpTo(ctx context.Context, bucket, prefix string, limit int) ([]provider.ObjectMetadata, error) {
	if bucket == "" {
		return nil, invalidInput("objects.list", prefix, "bucket name is required to list objects")
	}
	if limit < 1 || limit > maxListUpTo {
		return nil, invalidInput("objects.list", bucket+"/"+prefix, fmt.Sprintf("limit %d is outside 1 to %d", limit, maxListUpTo))
	}
	var page []*storage.ObjectAttrs
	if _, err := iterator.NewPager(p.objectIterator(ctx, bucket, &storage.Query{Prefix: prefix}), limit, "").NextPage(&page); err != nil {
		return nil, classify("objects.list", bucket, "", err)
	}
	objects := make([]provider.ObjectMetadata, 0, min(len(page), limit))
	for _, attrs := range page[:min(len(page), limit)] {
		objects = append(objects, objectMetadata(attrs))
	}
	return objects, nil
}

// DeleteObjects deletes the named keys, a few at a time, and returns how many it asked
// the store to delete; a missing key counts as deleted. Every key is checked before
// the first delete, and the bucket must exist: a 404 of a delete would not say which
// of the two is missing.
func (p *Provider) DeleteObjects(ctx context.Context, bucket string, keys []string) (int, error) {
	if bucket == "" {
		return 0, invalidInput("objects.delete", bucket, "refusing to delete without a bucket")
	}
	for _, k := range keys {
		if k == "" {
			return 0, invalidInput("objects.delete", bucket, "refusing to delete an empty key from bucket "+bucket)
		}
	}
	if len(keys) == 0 {
		return 0, nil
	}
	if _, err := p.gcs.Bucket(bucket).Attrs(ctx); err != nil {
		return 0, classify("buckets.get", bucket, "", err)
	}
	var (
		deleted  atomic.Int64
		firstErr error
		mu       sync.Mutex
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slots := make(chan struct{}, deleteConcurrency)
	for _, key := range keys {
		if ctx.Err() != nil {
			break
		}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			err := p.gcs.Bucket(bucket).Object(key).Delete(ctx)
			if err == nil || errors.Is(err, storage.ErrObjectNotExist) {
				deleted.Add(1)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if firstErr == nil {
				firstErr = classify("objects.delete", bucket, key, err)
				cancel()
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = classify("objects.delete", bucket, "", ctx.Err())
	}
	return int(deleted.Load()), firstErr
}

// objectMetadata describes a listed object. Its ETag is the object's checksum
// identity (see etagOf); its LastModified the creation time of its generation, which
// is when its content was written.
func objectMetadata(attrs *storage.ObjectAttrs) provider.ObjectMetadata {
	modified := attrs.Created
	if modified.IsZero() {
		modified = attrs.Updated
	}
	return provider.ObjectMetadata{Key: attrs.Name, Size: attrs.Size, ETag: etagOf(attrs), LastModified: modified}
}

// etagOf is an object's checksum identity: its MD5 in hex, which is what S3's ETag is
// for a single-part object and what a rewrite preserves, or, for a composite object
// (no MD5), "crc32c-" and its CRC32C in hex. GCS's own etag changes with metadata and
// differs between a copy and its source, so it cannot tell copies apart from changes.
func etagOf(attrs *storage.ObjectAttrs) string {
	if len(attrs.MD5) > 0 {
		return hex.EncodeToString(attrs.MD5)
	}
	return fmt.Sprintf("crc32c-%08x", attrs.CRC32C)
}
