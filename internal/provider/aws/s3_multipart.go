package aws

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// SourceETagMetadataKey is the user metadata (x-amz-meta-lc2-source-etag) a multipart
// copy writes on the destination object. A multipart object's ETag is not its source's
// ETag, so a resumed copy recognises an object it already copied in parts by this key.
const SourceETagMetadataKey = "lc2-source-etag"

// abortTimeout bounds the AbortMultipartUpload sent after a failed or cancelled copy.
const abortTimeout = 30 * time.Second

// copyMultipart copies an object larger than the threshold with parallel
// UploadPartCopy calls. Every part is copied on the condition that the source still has
// the ETag read at the start, so an object overwritten mid-copy fails instead of
// producing a mix of two versions. A failed copy aborts its upload: no orphaned parts
// are left to be billed.
func (r *copyRun) copyMultipart(ctx context.Context, job copyJob) (objectOutcome, error) {
	src := r.sourceResource(job)
	// The HEAD reads the version the parts will copy: its ETag conditions every part,
	// its size and metadata shape the upload.
	head, err := r.p.s3.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: &r.req.SourceBucket, Key: &job.srcKey, VersionId: optional(job.versionID),
	})
	if err != nil {
		if kindOf(err) == provider.KindNotFound {
			return objectVanished, nil // a missing key or version: HEAD answers a bare 404
		}
		return objectCopied, classify("HeadObject", src, err)
	}
	sourceETag := awssdk.ToString(head.ETag)
	size := awssdk.ToInt64(head.ContentLength)
	if job.existing != nil && r.copiedInPartsBefore(ctx, job, normalizeETag(sourceETag), size) {
		return objectSkipped, nil
	}

	metadata := maps.Clone(head.Metadata)
	if metadata == nil {
		metadata = map[string]string{}
	}
	metadata[SourceETagMetadataKey] = normalizeETag(sourceETag)
	created, err := r.p.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:             &r.req.DestinationBucket,
		Key:                &job.dstKey,
		ContentType:        head.ContentType,
		CacheControl:       head.CacheControl,
		ContentDisposition: head.ContentDisposition,
		ContentEncoding:    head.ContentEncoding,
		ContentLanguage:    head.ContentLanguage,
		Metadata:           metadata,
	})
	if err != nil {
		return objectCopied, classify("CreateMultipartUpload", r.req.DestinationBucket+"/"+job.dstKey, err)
	}
	uploadID := created.UploadId

	parts, err := r.copyParts(ctx, job, uploadID, sourceETag, size)
	if err == nil {
		var done *s3.CompleteMultipartUploadOutput
		done, err = r.p.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket:          &r.req.DestinationBucket,
			Key:             &job.dstKey,
			UploadId:        uploadID,
			MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts},
			IfNoneMatch:     r.ifNoneMatch(),
		})
		if err == nil {
			job.file.ETag = normalizeETag(awssdk.ToString(done.ETag))
			return objectCopied, nil
		}
		if r.req.Existing == provider.SkipExisting && errorCode(err) == "PreconditionFailed" {
			// The key was written by someone else since the listing (If-None-Match).
			r.abortUpload(ctx, job, uploadID)
			return objectKeptExisting, nil
		}
		err = classify("CompleteMultipartUpload", r.req.DestinationBucket+"/"+job.dstKey, err)
	}
	r.abortUpload(ctx, job, uploadID)
	if sourceGone(errorCode(err)) {
		return objectVanished, nil
	}
	return objectCopied, err
}

// copiedInPartsBefore reports whether the destination object is an earlier multipart
// copy of this very source version. Any doubt (an error included) means "copy again".
func (r *copyRun) copiedInPartsBefore(ctx context.Context, job copyJob, sourceETag string, size int64) bool {
	head, err := r.p.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &r.req.DestinationBucket, Key: &job.dstKey})
	if err != nil {
		return false
	}
	if awssdk.ToInt64(head.ContentLength) != size || head.Metadata[SourceETagMetadataKey] != sourceETag {
		return false
	}
	job.file.ETag = normalizeETag(awssdk.ToString(head.ETag))
	return true
}

// copyParts copies the parts of one object, at most PartConcurrency at a time, and
// returns them in part order. The first failure stops the others. The parts share the
// copy's budget of requests in flight with every other object: the first part worker
// uses the slot this object already holds, each other one takes a slot per part, so a
// large object always progresses and never holds slots it is not using.
func (r *copyRun) copyParts(ctx context.Context, job copyJob, uploadID *string, sourceETag string, size int64) ([]s3types.CompletedPart, error) {
	partSize := provider.PartSize(size, r.partSize, MinPartSize, MaxParts)
	count := int((size + partSize - 1) / partSize)
	parts := make([]s3types.CompletedPart, count)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	numbers := make(chan int)
	var wg sync.WaitGroup
	var copiedBytes int64
	var mu sync.Mutex
	var firstErr error
	for worker := range min(r.partConcurrency, count) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range numbers {
				if worker > 0 {
					if err := r.limiter.acquire(ctx); err != nil {
						continue // stopping: the cause is read below
					}
				}
				err := r.copyPart(ctx, job, uploadID, sourceETag, partSize, size, i, parts)
				if worker > 0 {
					r.limiter.release()
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel(err)
					continue
				}
				first := int64(i) * partSize
				n := min(first+partSize, size) - first
				r.bytesCopied.Add(n)
				mu.Lock()
				copiedBytes += n
				mu.Unlock()
				r.report()
			}
		}()
	}
feed:
	for i := range count {
		select {
		case numbers <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(numbers)
	wg.Wait()

	if firstErr == nil && ctx.Err() != nil {
		firstErr = classifyCopy("UploadPartCopy", r.sourceResource(job), job.versionID != "", context.Cause(ctx))
	}
	if firstErr != nil {
		// These bytes will be copied again; progress must not count them twice.
		r.bytesCopied.Add(-copiedBytes)
		return nil, firstErr
	}
	return parts, nil
}

// copyPart copies part i+1 into parts[i].
func (r *copyRun) copyPart(ctx context.Context, job copyJob, uploadID *string, sourceETag string, partSize, size int64, i int, parts []s3types.CompletedPart) error {
	first := int64(i) * partSize
	last := min(first+partSize, size) - 1
	out, err := r.p.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
		Bucket:            &r.req.DestinationBucket,
		Key:               &job.dstKey,
		UploadId:          uploadID,
		PartNumber:        awssdk.Int32(int32(i + 1)),
		CopySource:        awssdk.String(copySource(r.req.SourceBucket, job.srcKey, job.versionID)),
		CopySourceRange:   awssdk.String(fmt.Sprintf("bytes=%d-%d", first, last)),
		CopySourceIfMatch: &sourceETag,
	})
	if err != nil {
		return classifyCopy("UploadPartCopy", fmt.Sprintf("%s part %d", r.sourceResource(job), i+1), job.versionID != "", err)
	}
	parts[i] = s3types.CompletedPart{PartNumber: awssdk.Int32(int32(i + 1)), ETag: out.CopyPartResult.ETag}
	return nil
}

func (r *copyRun) abortUpload(ctx context.Context, job copyJob, uploadID *string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	// Best effort: a bucket lifecycle rule for incomplete uploads is the backstop.
	_, _ = r.p.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: &r.req.DestinationBucket, Key: &job.dstKey, UploadId: uploadID,
	})
}

// optional is s as an optional request field: nil when empty, so the field is left out.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
