package aws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// deleteBatchSize is DeleteObjects' limit of keys per request.
const deleteBatchSize = 1000

// UploadObject writes data to bucket/key in one PutObject.
func (p *Provider) UploadObject(ctx context.Context, bucket, key string, data []byte) error {
	if bucket == "" || key == "" {
		return invalidInput("PutObject", bucket+"/"+key, "bucket and key are required to upload an object")
	}
	_, err := p.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &bucket,
		Key:           &key,
		Body:          bytes.NewReader(data),
		ContentLength: awssdk.Int64(int64(len(data))),
	})
	return p.classify("PutObject", bucket+"/"+key, err)
}

// DownloadObject opens bucket/key for reading; the caller closes the reader.
func (p *Provider) DownloadObject(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	if bucket == "" || key == "" {
		return nil, provider.NewError(provider.KindInvalidInput, "GetObject", bucket+"/"+key,
			errors.New("bucket and key are required")).WithMessage("a bucket and a key are required to read an object")
	}
	out, err := p.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, p.classify("GetObject", bucket+"/"+key, err)
	}
	return out.Body, nil
}

// ListObjects lists every object under prefix, across all pages.
func (p *Provider) ListObjects(ctx context.Context, bucket, prefix string) ([]provider.ObjectMetadata, error) {
	var objects []provider.ObjectMetadata
	err := p.eachPage(ctx, bucket, prefix, provider.KeyRange{}, func(page []s3types.Object) error {
		for _, o := range page {
			objects = append(objects, objectMetadata(o))
		}
		return nil
	})
	return objects, err
}

// DeleteObjects deletes the named keys with batched DeleteObjects calls and returns
// how many it asked S3 to delete; S3 counts a missing key as deleted. An object S3
// refuses to delete fails the call with its key named.
func (p *Provider) DeleteObjects(ctx context.Context, bucket string, keys []string) (int, error) {
	if bucket == "" {
		return 0, invalidInput("DeleteObjects", bucket, "refusing to delete without a bucket")
	}
	deleted := 0
	for start := 0; start < len(keys); start += deleteBatchSize {
		batch := keys[start:min(start+deleteBatchSize, len(keys))]
		ids := make([]s3types.ObjectIdentifier, 0, len(batch))
		for _, k := range batch {
			if k == "" {
				return deleted, invalidInput("DeleteObjects", bucket, "refusing to delete an empty key from bucket "+bucket)
			}
			ids = append(ids, s3types.ObjectIdentifier{Key: awssdk.String(k)})
		}
		out, err := p.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &bucket,
			Delete: &s3types.Delete{Objects: ids, Quiet: awssdk.Bool(true)},
		})
		if err != nil {
			return deleted, p.classify("DeleteObjects", bucket+"/"+batch[0], err)
		}
		if len(out.Errors) > 0 {
			return deleted, deleteObjectsError(bucket, out.Errors)
		}
		deleted += len(batch)
	}
	return deleted, nil
}

// deleteObjectsError reports the objects a DeleteObjects call answered with per-key
// errors; the first one's code decides the kind and the message.
func deleteObjectsError(bucket string, failures []s3types.Error) error {
	first := failures[0]
	key := awssdk.ToString(first.Key)
	cause := &smithy.GenericAPIError{Code: awssdk.ToString(first.Code), Message: awssdk.ToString(first.Message)}
	kind := provider.KindTransient
	if k, ok := errorCodeKinds[cause.Code]; ok {
		kind = k
	}
	resource := bucket + "/" + key
	msg := describe("", "DeleteObjects", resource, kind, cause)
	if len(failures) > 1 {
		msg += fmt.Sprintf("; %d objects not deleted", len(failures))
	}
	return provider.NewError(kind, "DeleteObjects", resource,
		fmt.Errorf("%d objects not deleted, first %s: %w", len(failures), key, cause)).WithMessage(msg)
}

// eachPage calls fn with every ListObjectsV2 page under prefix, in key order, trimmed
// to the objects in keys (see inRange), and stops after the page that reaches past keys.
func (p *Provider) eachPage(ctx context.Context, bucket, prefix string, keys provider.KeyRange, fn func([]s3types.Object) error) error {
	input := &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix}
	if keys.StartAfter != "" {
		input.StartAfter = &keys.StartAfter
	}
	if p.opts.ListPageSize > 0 {
		input.MaxKeys = awssdk.Int32(p.opts.ListPageSize)
	}
	pages := s3.NewListObjectsV2Paginator(p.s3, input)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return p.classify("ListObjectsV2", bucket+"/"+prefix, err)
		}
		objects, past := inRange(page.Contents, keys)
		if err := fn(objects); err != nil {
			return err
		}
		// A page that reached past the range ends it: the next would be wasted.
		if past {
			return nil
		}
	}
	return nil
}

// inRange filters a listing page, in place, to the objects in keys, up to the first key
// past them, and reports whether there was one. Keys up to StartAfter are dropped too,
// for a store that ignores StartAfter. The zero KeyRange leaves the page as it is.
func inRange(page []s3types.Object, keys provider.KeyRange) ([]s3types.Object, bool) {
	if keys == (provider.KeyRange{}) {
		return page, false
	}
	n := 0
	for _, o := range page {
		key := awssdk.ToString(o.Key)
		if keys.Past(key) {
			return page[:n], true
		}
		if keys.Contains(key) {
			page[n] = o
			n++
		}
	}
	return page[:n], false
}

func objectMetadata(o s3types.Object) provider.ObjectMetadata {
	return provider.ObjectMetadata{
		Key:          awssdk.ToString(o.Key),
		Size:         awssdk.ToInt64(o.Size),
		ETag:         normalizeETag(awssdk.ToString(o.ETag)),
		LastModified: awssdk.ToTime(o.LastModified),
	}
}

// normalizeETag drops the quotes S3 puts around ETags, so values compare and print
// the same whether they came from a listing, a HEAD or a copy result.
func normalizeETag(etag string) string {
	return strings.Trim(etag, `"`)
}
