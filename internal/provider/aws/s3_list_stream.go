package aws

import (
	"context"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// listAhead is how many listing pages a stream fetches before its reader needs them:
// enough to hide a page's latency behind the copies of the page before.
const listAhead = 2

// listStream lists bucket/prefix in a background goroutine and hands out objects in key
// order, so memory stays at a few pages however large the prefix is.
type listStream struct {
	prefix string
	pages  chan []s3types.Object
	err    error // set before pages is closed

	page []s3types.Object
	next int
}

// streamObjects starts listing the keys of bucket/prefix in keys. The listing stops
// when ctx ends, or after the page that reaches past keys.
func (p *Provider) streamObjects(ctx context.Context, bucket, prefix string, keys provider.KeyRange) *listStream {
	s := &listStream{prefix: prefix, pages: make(chan []s3types.Object, listAhead)}
	go func() {
		s.err = p.eachPage(ctx, bucket, prefix, keys, func(page []s3types.Object) error {
			select {
			case s.pages <- page:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		close(s.pages)
	}()
	return s
}

// objectSource hands out the source objects of a copy: a listing of the source prefix,
// or the caller's list (req.Objects).
type objectSource interface {
	// Next returns the next object, or ok=false once there are no more; Err then
	// tells whether the source ended early.
	Next() (obj sourceObject, ok bool)
	Err() error
}

// sourceObject is one object of a copy's source.
type sourceObject struct {
	key string
	// rel is the key written, relative to the destination prefix: key relative to the
	// source prefix, or the DestinationKey of a caller's item.
	rel string
	// versionID is the source version to copy; empty copies the current one.
	versionID string
	size      int64
	etag      string // without quotes
	modified  time.Time
}

// Next returns the next object, or ok=false once the listing is over; Err then tells
// whether it ended early.
func (s *listStream) Next() (sourceObject, bool) {
	for s.next >= len(s.page) {
		page, open := <-s.pages
		if !open {
			return sourceObject{}, false
		}
		s.page, s.next = page, 0
	}
	o := s.page[s.next]
	s.page[s.next] = s3types.Object{} // let the page's strings go as soon as possible
	s.next++
	key := awssdk.ToString(o.Key)
	return sourceObject{
		key: key, rel: strings.TrimPrefix(key, s.prefix), size: awssdk.ToInt64(o.Size),
		etag: normalizeETag(awssdk.ToString(o.ETag)), modified: awssdk.ToTime(o.LastModified),
	}, true
}

// Err is the listing's error, valid once Next has returned ok=false.
func (s *listStream) Err() error { return s.err }

// destinationIndex answers "is this key already at the destination?" by walking the
// destination listing in step with the source objects. A listing of the source comes
// in the same (UTF-8 binary) order, so one forward pass joins them without holding
// either in memory. A server that lists out of order only costs skips, never
// correctness: a key the walk passes by is reported missing and copied again. A caller's
// object list (req.Objects) may come in any order: a key below one already looked up
// is answered "unknown", and the copy asks the store about it alone (HeadObject), so
// a key that is there is never taken for missing.
type destinationIndex struct {
	stream  *listStream
	current *existingObject
	done    bool
	// last is the greatest key looked up so far; looked is false before the first.
	last   string
	looked bool
}

// existingObject is a destination object as the listing describes it.
type existingObject struct {
	rel  string
	size int64
	etag string
}

// Lookup returns the destination object with relative key rel, or nil, with known
// true; known is false for a key not above every key looked up before (the walk has
// passed it). It fails only when the destination listing failed.
func (d *destinationIndex) Lookup(rel string) (existing *existingObject, known bool, err error) {
	if d.looked && rel <= d.last {
		return nil, false, nil
	}
	d.last, d.looked = rel, true
	for !d.done && (d.current == nil || d.current.rel < rel) {
		obj, ok := d.stream.Next()
		if !ok {
			d.done, d.current = true, nil
			return nil, true, d.stream.Err()
		}
		d.current = &existingObject{rel: obj.rel, size: obj.size, etag: obj.etag}
	}
	if d.current != nil && d.current.rel == rel {
		return d.current, true, nil
	}
	return nil, true, nil
}
