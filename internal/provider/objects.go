package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"
)

// maxSmallObject bounds what ReadSmallObject reads: a manifest or an inventory part
// of a very large backup stays far below it.
const maxSmallObject = 256 << 20

// MaxKeyBytes is the longest object key S3 accepts, in bytes of UTF-8. A copy whose
// destination prefix is longer than its source prefix can derive a longer key from a
// source key S3 accepted: such an object cannot be stored and fails the copy
// (KeyTooLong), it is never skipped.
const MaxKeyBytes = 1024

// KeyTooLong is the KindInvalidInput error of an object the copy cannot store because
// its destination key would exceed MaxKeyBytes; it names both keys and says what to
// change.
func KeyTooLong(op, sourceKey, destinationBucket, destinationKey string) *Error {
	msg := fmt.Sprintf("%s cannot be stored: its key at the destination, s3://%s/%s, would be %d bytes, and S3 keys are at most %d bytes; choose a shorter destination prefix",
		sourceKey, destinationBucket, destinationKey, len(destinationKey), MaxKeyBytes)
	return NewError(KindInvalidInput, op, destinationBucket+"/"+destinationKey, errors.New(msg)).WithMessage(msg)
}

// ReadSmallObject reads a controller file (claim, manifest, inventory part) whole. A
// missing object is the provider's KindNotFound error, unwrapped.
func ReadSmallObject(ctx context.Context, prov Provider, bucket, key string) ([]byte, error) {
	rc, err := prov.DownloadObject(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(rc, maxSmallObject))
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	return data, nil
}

// WalkSelected streams the objects under prefix of bucket that a backup copies: as they
// were at asOf when it is set (a versioned bucket), else as they are, less those
// excluder leaves out (counted in excluded). The walk ends at the first error.
func WalkSelected(ctx context.Context, prov Provider, bucket, prefix string, asOf *time.Time, excluder *Excluder, excluded *int64) iter.Seq2[ObjectMetadata, error] {
	walk := prov.WalkObjects(ctx, bucket, prefix, KeyRange{})
	if asOf != nil {
		walk = prov.WalkObjectsAsOf(ctx, bucket, prefix, *asOf)
	}
	return func(yield func(ObjectMetadata, error) bool) {
		for o, err := range walk {
			if err != nil {
				yield(ObjectMetadata{}, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err))
				return
			}
			if excluder.Excluded(strings.TrimPrefix(o.Key, prefix)) {
				*excluded++
				continue
			}
			if !yield(o, nil) {
				return
			}
		}
	}
}

// ParseObjectURL splits an object URL s3://bucket/key (a manifest location).
func ParseObjectURL(u string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3:// URL", u)
	}
	bucket, key, ok = strings.Cut(rest, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", fmt.Errorf("%q names no object (want s3://<bucket>/<prefix>/manifest.json)", u)
	}
	return bucket, key, nil
}

// KeyRange bounds a walk to the keys after StartAfter up to and including Through, in
// byte order; an empty bound is open. The zero KeyRange is every key.
type KeyRange struct {
	// StartAfter, when set, leaves out this key and every key before it.
	StartAfter string
	// Through, when set, leaves out every key after it.
	Through string
}

// Contains reports whether key lies in the range.
func (r KeyRange) Contains(key string) bool {
	return key > r.StartAfter && (r.Through == "" || key <= r.Through)
}

// Past reports whether key lies after the range, so a walk in key order can stop.
func (r KeyRange) Past(key string) bool {
	return r.Through != "" && key > r.Through
}
