package aws

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// WalkObjects streams the current objects under prefix in keys, in key order. The
// listing, trimmed to keys by eachPage, runs a few pages ahead of the caller (see
// streamObjects) and stops with the walk, whether it ends, fails or the caller stops
// early. Errors are classified *provider.Error values; a cancelled ctx ends the walk
// with one.
func (p *Provider) WalkObjects(ctx context.Context, bucket, prefix string, keys provider.KeyRange) iter.Seq2[provider.ObjectMetadata, error] {
	return func(yield func(provider.ObjectMetadata, error) bool) {
		resource := bucket + "/" + prefix
		if bucket == "" {
			yield(provider.ObjectMetadata{}, invalidInput("ListObjectsV2", resource, "a bucket is required to list objects"))
			return
		}
		// Cancelling the listing when the walk returns ends its goroutine, which would
		// otherwise wait forever to hand a page to a caller that stopped reading.
		listCtx, stop := context.WithCancel(ctx)
		defer stop()
		s := p.streamObjects(listCtx, bucket, prefix, keys)
		for {
			o, ok := s.Next()
			if !ok {
				break
			}
			// Pages already fetched would keep coming after a cancellation: stop at once.
			if err := ctx.Err(); err != nil {
				yield(provider.ObjectMetadata{}, p.classify("ListObjectsV2", resource, err))
				return
			}
			if !yield(provider.ObjectMetadata{Key: o.key, Size: o.size, ETag: o.etag, LastModified: o.modified}, nil) {
				return
			}
		}
		if err := s.Err(); err != nil {
			yield(provider.ObjectMetadata{}, p.classify("ListObjectsV2", resource, err))
		}
	}
}

// BucketVersioning reports whether bucket's versioning status is Enabled
// (GetBucketVersioning); Suspended and never configured are false.
func (p *Provider) BucketVersioning(ctx context.Context, bucket string) (bool, error) {
	if bucket == "" {
		return false, invalidInput("GetBucketVersioning", bucket, "bucket name is required")
	}
	out, err := p.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &bucket})
	if err != nil {
		return false, p.classify("GetBucketVersioning", bucket, err)
	}
	return out.Status == s3types.BucketVersioningStatusEnabled, nil
}

// WalkObjectsAsOf streams the objects under prefix as they were at asOf, from
// ListObjectVersions pages fetched one at a time (KeyMarker and VersionIdMarker), so
// memory holds one page whatever the number of versions. Within a page S3 returns the
// object versions and the delete markers in two lists, each by key and newest first;
// they are merged back into one such sequence, and for each key the first entry last
// modified at or before asOf decides: a version is yielded, a delete marker means the
// key did not exist at asOf. A key's versions may continue on the next page; the
// decision carries over.
//
// S3 reports LastModified to the second, so a version written in asOf's own second
// counts as written at or before asOf, and a version and a delete marker of one key in
// the same second cannot be ordered by time: the one S3 flags IsLatest is the newer,
// and otherwise the version is taken as the newer, so a backup keeps a file that may
// have been deleted in that second rather than lose one that may have been rewritten.
func (p *Provider) WalkObjectsAsOf(ctx context.Context, bucket, prefix string, asOf time.Time) iter.Seq2[provider.ObjectMetadata, error] {
	return func(yield func(provider.ObjectMetadata, error) bool) {
		resource := bucket + "/" + prefix
		if bucket == "" {
			yield(provider.ObjectMetadata{}, invalidInput("ListObjectVersions", resource, "a bucket is required to list object versions"))
			return
		}
		input := &s3.ListObjectVersionsInput{Bucket: &bucket, Prefix: &prefix, EncodingType: s3types.EncodingTypeUrl}
		if p.opts.ListPageSize > 0 {
			input.MaxKeys = awssdk.Int32(p.opts.ListPageSize)
		}
		pick := asOfPicker{asOf: asOf}
		for {
			page, err := p.s3.ListObjectVersions(ctx, input)
			if err != nil {
				yield(provider.ObjectMetadata{}, p.classify("ListObjectVersions", resource, err))
				return
			}
			if err := decodeVersionKeys(page); err != nil {
				yield(provider.ObjectMetadata{}, err)
				return
			}
			for _, o := range pick.page(page.Versions, page.DeleteMarkers) {
				if err := ctx.Err(); err != nil {
					yield(provider.ObjectMetadata{}, p.classify("ListObjectVersions", resource, err))
					return
				}
				if !yield(o, nil) {
					return
				}
			}
			if !awssdk.ToBool(page.IsTruncated) {
				return
			}
			nextKey, nextVersion := awssdk.ToString(page.NextKeyMarker), awssdk.ToString(page.NextVersionIdMarker)
			if nextKey == awssdk.ToString(input.KeyMarker) && nextVersion == awssdk.ToString(input.VersionIdMarker) {
				// A store that hands back the markers it was given would loop forever.
				msg := fmt.Sprintf("listing the versions under s3://%s stopped advancing at key %q version %q", resource, nextKey, nextVersion)
				yield(provider.ObjectMetadata{}, provider.NewError(provider.KindTransient, "ListObjectVersions", resource, errors.New(msg)).WithMessage(msg))
				return
			}
			input.KeyMarker, input.VersionIdMarker = page.NextKeyMarker, page.NextVersionIdMarker
		}
	}
}

// asOfPicker chooses each key's entry as of a point in time from the entries of a
// version listing, page after page.
type asOfPicker struct {
	asOf time.Time
	// key is the key of the last entry seen; decided is true once key's newest entry
	// at or before asOf has been found (and yielded, unless a delete marker).
	key     string
	started bool
	decided bool
}

// versionEntry is one entry of a version listing: an object version or a delete marker.
type versionEntry struct {
	key, versionID, etag string
	size                 int64
	modified             time.Time
	marker               bool
}

// page merges one page's versions and delete markers into listing order and returns
// the objects it decides, in key order.
func (a *asOfPicker) page(versions []s3types.ObjectVersion, markers []s3types.DeleteMarkerEntry) []provider.ObjectMetadata {
	var out []provider.ObjectMetadata
	i, j := 0, 0
	for i < len(versions) || j < len(markers) {
		var e versionEntry
		if j == len(markers) || i < len(versions) && versionFirst(versions[i], markers[j]) {
			v := versions[i]
			e = versionEntry{
				key: awssdk.ToString(v.Key), versionID: awssdk.ToString(v.VersionId), etag: normalizeETag(awssdk.ToString(v.ETag)),
				size: awssdk.ToInt64(v.Size), modified: awssdk.ToTime(v.LastModified),
			}
			i++
		} else {
			m := markers[j]
			e = versionEntry{key: awssdk.ToString(m.Key), modified: awssdk.ToTime(m.LastModified), marker: true}
			j++
		}
		if o, ok := a.next(e); ok {
			out = append(out, o)
		}
	}
	return out
}

// next takes the next entry in listing order and returns the object it decides, if any.
func (a *asOfPicker) next(e versionEntry) (provider.ObjectMetadata, bool) {
	if !a.started || e.key != a.key {
		a.key, a.started, a.decided = e.key, true, false
	}
	if a.decided || e.modified.After(a.asOf) {
		return provider.ObjectMetadata{}, false
	}
	a.decided = true
	if e.marker {
		return provider.ObjectMetadata{}, false
	}
	return provider.ObjectMetadata{Key: e.key, Size: e.size, ETag: e.etag, LastModified: e.modified, VersionID: e.versionID}, true
}

// versionFirst reports whether version v comes before delete marker m in listing order:
// by key, then newest first. Within one second their order is lost (see
// WalkObjectsAsOf): the marker S3 flags IsLatest is newer, else the version is taken as
// the newer.
func versionFirst(v s3types.ObjectVersion, m s3types.DeleteMarkerEntry) bool {
	if vk, mk := awssdk.ToString(v.Key), awssdk.ToString(m.Key); vk != mk {
		return vk < mk
	}
	if vt, mt := awssdk.ToTime(v.LastModified), awssdk.ToTime(m.LastModified); !vt.Equal(mt) {
		return vt.After(mt)
	}
	return !awssdk.ToBool(m.IsLatest)
}

// decodeVersionKeys decodes, in place, the keys and the next key marker of a version
// listing answered with URL encoding (see listedKey).
func decodeVersionKeys(page *s3.ListObjectVersionsOutput) error {
	resource := awssdk.ToString(page.Name) + "/" + awssdk.ToString(page.Prefix)
	decode := func(key **string) error {
		if *key == nil {
			return nil
		}
		decoded, err := listedKey(*key, page.EncodingType, resource)
		if err != nil {
			return err
		}
		*key = &decoded
		return nil
	}
	for i := range page.Versions {
		if err := decode(&page.Versions[i].Key); err != nil {
			return err
		}
	}
	for i := range page.DeleteMarkers {
		if err := decode(&page.DeleteMarkers[i].Key); err != nil {
			return err
		}
	}
	return decode(&page.NextKeyMarker)
}
