package aws

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// WalkObjects implements provider.Provider. TODO(provider helper)
func (p *Provider) WalkObjects(ctx context.Context, bucket, prefix string) iter.Seq2[provider.ObjectMetadata, error] {
	return func(yield func(provider.ObjectMetadata, error) bool) {
		s := p.streamObjects(ctx, bucket, prefix)
		for {
			o, ok := s.Next()
			if !ok {
				break
			}
			if !yield(provider.ObjectMetadata{Key: o.key, Size: o.size, ETag: o.etag, LastModified: o.modified}, nil) {
				return
			}
		}
		if err := s.Err(); err != nil {
			yield(provider.ObjectMetadata{}, err)
		}
	}
}

// BucketVersioning implements provider.Provider. TODO(provider helper)
func (p *Provider) BucketVersioning(context.Context, string) (bool, error) { return false, nil }

// WalkObjectsAsOf implements provider.Provider. TODO(provider helper)
func (p *Provider) WalkObjectsAsOf(context.Context, string, string, time.Time) iter.Seq2[provider.ObjectMetadata, error] {
	return func(yield func(provider.ObjectMetadata, error) bool) {
		yield(provider.ObjectMetadata{}, errors.New("not implemented"))
	}
}
