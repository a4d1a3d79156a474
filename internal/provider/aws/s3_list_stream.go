package aws

import (
	"context"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
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

// streamObjects starts listing bucket/prefix. The listing stops when ctx ends.
func (p *Provider) streamObjects(ctx context.Context, bucket, prefix string) *listStream {
	s := &listStream{prefix: prefix, pages: make(chan []s3types.Object, listAhead)}
	go func() {
		s.err = p.eachPage(ctx, bucket, prefix, func(page []s3types.Object) error {
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

// Next returns the next object and its key relative to the prefix, or ok=false once
// the listing is over; Err then tells whether it ended early.
func (s *listStream) Next() (obj s3types.Object, rel string, ok bool) {
	for s.next >= len(s.page) {
		page, open := <-s.pages
		if !open {
			return s3types.Object{}, "", false
		}
		s.page, s.next = page, 0
	}
	obj = s.page[s.next]
	s.page[s.next] = s3types.Object{} // let the page's strings go as soon as possible
	s.next++
	return obj, strings.TrimPrefix(awssdk.ToString(obj.Key), s.prefix), true
}

// Err is the listing's error, valid once Next has returned ok=false.
func (s *listStream) Err() error { return s.err }

// destinationIndex answers "is this key already at the destination?" by walking the
// destination listing in step with the source listing. Both listings come in the same
// (UTF-8 binary) order, so one forward pass joins them without holding either in
// memory. A server that lists out of order only costs skips, never correctness: a key
// the walk passes by is reported missing and copied again.
type destinationIndex struct {
	stream  *listStream
	current *existingObject
	done    bool
}

// existingObject is a destination object as the listing describes it.
type existingObject struct {
	rel  string
	size int64
	etag string
}

// Lookup returns the destination object with relative key rel, or nil. Calls must come
// in increasing rel order. It fails only when the destination listing failed.
func (d *destinationIndex) Lookup(rel string) (*existingObject, error) {
	for !d.done && (d.current == nil || d.current.rel < rel) {
		obj, objRel, ok := d.stream.Next()
		if !ok {
			d.done, d.current = true, nil
			return nil, d.stream.Err()
		}
		d.current = &existingObject{rel: objRel, size: awssdk.ToInt64(obj.Size), etag: normalizeETag(awssdk.ToString(obj.ETag))}
	}
	if d.current != nil && d.current.rel == rel {
		return d.current, nil
	}
	return nil, nil
}
