package gcp

import (
	"context"
)

// BucketTags returns a bucket's labels as tags (see LabelKey for how label keys read
// as tag keys); a bucket without labels has none. A missing bucket is KindNotFound.
func (p *Provider) BucketTags(ctx context.Context, bucket string) (map[string]string, error) {
	if bucket == "" {
		return nil, invalidInput("buckets.get", bucket, "bucket name is required")
	}
	attrs, err := p.gcs.Bucket(bucket).Attrs(ctx)
	if err != nil {
		return nil, classify("buckets.get", bucket, "", err)
	}
	return tagsFromLabels(attrs.Labels), nil
}

// BucketVersioning reports whether bucket keeps noncurrent object generations
// (Object Versioning enabled). A missing bucket is KindNotFound.
func (p *Provider) BucketVersioning(ctx context.Context, bucket string) (bool, error) {
	if bucket == "" {
		return false, invalidInput("buckets.get", bucket, "bucket name is required")
	}
	attrs, err := p.gcs.Bucket(bucket).Attrs(ctx)
	if err != nil {
		return false, classify("buckets.get", bucket, "", err)
	}
	return attrs.VersioningEnabled, nil
}
