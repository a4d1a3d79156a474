package azure

import (
	"context"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// listAhead is how many listing pages a stream fetches before its reader needs them:
// enough to hide a page's latency behind the copies of the page before.
const listAhead = 2

// errStopListing ends eachPage after the current page without an error.
var errStopListing = errors.New("stop listing")

// eachPage calls fn with every List Blobs page under prefix, in name order, trimmed to
// the blobs in keys, and stops after the page that reaches past keys, or when fn
// returns errStopListing. pageSize 0 is the provider's ListPageSize.
func (p *Provider) eachPage(ctx context.Context, bucket, prefix string, keys provider.KeyRange, pageSize int32, fn func([]listedBlob) error) error {
	if bucket == "" {
		return invalidInput("ListBlobs", bucket+"/"+prefix, "a container is required to list objects")
	}
	opts := &container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Metadata: true}}
	if prefix != "" {
		opts.Prefix = &prefix
	}
	if pageSize == 0 {
		pageSize = p.opts.ListPageSize
	}
	if pageSize > 0 {
		opts.MaxResults = &pageSize
	}
	pager := p.service.NewContainerClient(bucket).NewListBlobsFlatPager(opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return p.classify("ListBlobs", bucket, err)
		}
		var blobs []listedBlob
		if page.Segment != nil {
			blobs = make([]listedBlob, 0, len(page.Segment.BlobItems))
			for _, item := range page.Segment.BlobItems {
				blobs = append(blobs, fromBlobItem(item))
			}
		}
		blobs, past := inRange(blobs, keys)
		if err := fn(blobs); err != nil {
			if errors.Is(err, errStopListing) {
				return nil
			}
			return err
		}
		if past {
			return nil // the next page would be wasted
		}
	}
	return nil
}

// inRange filters a page, in place, to the blobs in keys, up to the first name past
// them, and reports whether there was one. Azure lists from the start of the prefix
// (List Blobs has no start-after), so names up to StartAfter are dropped here.
func inRange(page []listedBlob, keys provider.KeyRange) ([]listedBlob, bool) {
	if keys == (provider.KeyRange{}) {
		return page, false
	}
	n := 0
	for _, b := range page {
		if keys.Past(b.metadata.Key) {
			return page[:n], true
		}
		if keys.Contains(b.metadata.Key) {
			page[n] = b
			n++
		}
	}
	return page[:n], false
}

// blobStream lists a container's prefix in a background goroutine and hands out blobs
// in name order, so memory stays at a few pages however large the prefix is.
type blobStream struct {
	pages chan []listedBlob
	err   error // set before pages is closed

	page []listedBlob
	next int
}

// streamBlobs starts listing the blobs of bucket/prefix in keys. The listing stops
// when ctx ends, or after the page that reaches past keys.
func (p *Provider) streamBlobs(ctx context.Context, bucket, prefix string, keys provider.KeyRange) *blobStream {
	s := &blobStream{pages: make(chan []listedBlob, listAhead)}
	go func() {
		s.err = p.eachPage(ctx, bucket, prefix, keys, 0, func(page []listedBlob) error {
			select {
			case s.pages <- page:
				return nil
			case <-ctx.Done():
				return p.classify("ListBlobs", bucket, ctx.Err())
			}
		})
		close(s.pages)
	}()
	return s
}

// Next returns the next blob, or ok=false once the listing is over; Err then tells
// whether it ended early.
func (s *blobStream) Next() (listedBlob, bool) {
	for s.next >= len(s.page) {
		page, open := <-s.pages
		if !open {
			return listedBlob{}, false
		}
		s.page, s.next = page, 0
	}
	b := s.page[s.next]
	s.page[s.next] = listedBlob{}
	s.next++
	return b, true
}

// Err is the listing's error, valid once Next has returned ok=false.
func (s *blobStream) Err() error { return s.err }
