package gcp

import (
	"context"
	"errors"
	"iter"
	"strconv"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// WalkObjectsAsOf streams, in key order, the objects under prefix as they were at
// asOf: for each key the newest generation created at or before asOf, unless that
// generation was already deleted (made noncurrent without a newer one) by asOf. The
// VersionID is the generation as a decimal string, which a copy item passes back as
// sourceGeneration. GCS lists the generations of one key together, so one key's
// generations are held at a time.
func (p *Provider) WalkObjectsAsOf(ctx context.Context, bucket, prefix string, asOf time.Time) iter.Seq2[provider.ObjectMetadata, error] {
	return func(yield func(provider.ObjectMetadata, error) bool) {
		if bucket == "" {
			yield(provider.ObjectMetadata{}, invalidInput("objects.list", prefix, "bucket name is required to list object versions"))
			return
		}
		it := p.objectIterator(ctx, bucket, &storage.Query{Prefix: prefix, Versions: true})
		var current *storage.ObjectAttrs // the chosen generation of the key being read
		key := ""
		flush := func() bool {
			if current == nil || (!current.Deleted.IsZero() && !current.Deleted.After(asOf)) {
				return true
			}
			o := objectMetadata(current)
			o.VersionID = strconv.FormatInt(current.Generation, 10)
			return yield(o, nil)
		}
		for {
			attrs, err := it.Next()
			if errors.Is(err, iterator.Done) {
				flush()
				return
			}
			if err != nil {
				yield(provider.ObjectMetadata{}, classify("objects.list", bucket, "", err))
				return
			}
			if attrs.Name != key {
				if !flush() {
					return
				}
				key, current = attrs.Name, nil
			}
			if createdAt(attrs).After(asOf) {
				continue
			}
			if current == nil || attrs.Generation > current.Generation {
				current = attrs
			}
		}
	}
}

// createdAt is when a generation was written.
func createdAt(attrs *storage.ObjectAttrs) time.Time {
	if attrs.Created.IsZero() {
		return attrs.Updated
	}
	return attrs.Created
}
