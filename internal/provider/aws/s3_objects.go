package aws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"unicode/utf8"

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
			if !xmlSafe(k) {
				// DeleteObjects names its keys in an XML body, which cannot carry this
				// one (the SDK would send U+FFFD in place of the character and S3 would
				// report a missing key deleted): DeleteObject names it in the URL.
				if _, err := p.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: awssdk.String(k)}); err != nil {
					return deleted, p.classify("DeleteObject", bucket+"/"+k, err)
				}
				deleted++
				continue
			}
			ids = append(ids, s3types.ObjectIdentifier{Key: awssdk.String(k)})
		}
		if len(ids) == 0 {
			continue
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
		deleted += len(ids)
	}
	return deleted, nil
}

// xmlSafe reports whether key can be written in an XML 1.0 document as it is: valid
// UTF-8 of the characters XML 1.0 allows (no control character but tab, LF and CR).
func xmlSafe(key string) bool {
	for _, r := range key {
		switch {
		case r == utf8.RuneError:
			return false
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return false
		}
	}
	return true
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
	input := &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix, EncodingType: s3types.EncodingTypeUrl}
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
		if err := decodeKeys(page.Contents, page.EncodingType, bucket+"/"+prefix); err != nil {
			return err
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

// Listings ask S3 to URL-encode keys (EncodingType url): XML 1.0 cannot carry every
// character a key may hold (most control characters), and the SDK's decoder refuses a
// page holding one, which would fail every backup of the library. A store that does
// not encode says so by leaving EncodingType out of its answer, and its keys are taken
// as they are.

// decodeKeys decodes, in place, the keys of a ListObjectsV2 page answered with encoding.
func decodeKeys(objects []s3types.Object, encoding s3types.EncodingType, resource string) error {
	for i := range objects {
		key, err := listedKey(objects[i].Key, encoding, resource)
		if err != nil {
			return err
		}
		objects[i].Key = &key
	}
	return nil
}

// listedKey is a key as a listing answered with encoding returned it, decoded. S3
// encodes as a query string does (a space is "+"); a store may encode a space as "%20".
func listedKey(key *string, encoding s3types.EncodingType, resource string) (string, error) {
	raw := awssdk.ToString(key)
	if encoding != s3types.EncodingTypeUrl {
		return raw, nil
	}
	decoded, err := url.QueryUnescape(raw)
	if err != nil {
		msg := fmt.Sprintf("the listing of s3://%s returned the key %q, which is not URL-encoded as asked: %v", resource, raw, err)
		return "", provider.NewError(provider.KindTransient, "ListObjects", resource, errors.New(msg)).WithMessage(msg)
	}
	return decoded, nil
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
