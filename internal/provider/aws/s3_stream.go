package aws

import (
	"context"
	"errors"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// streamConcurrency is how many parts of a streamed upload are sent at once. The
// transfer manager keeps streamConcurrency+1 part buffers and the first part, so an
// upload holds about (streamConcurrency+2) parts in memory: 20 MiB with the 5 MiB
// parts of a dump under 35 GiB. Two parts in flight keep a single stream busy.
const streamConcurrency = 2

var _ provider.StreamUploader = (*Provider)(nil)

// UploadStream implements provider.StreamUploader with the SDK's transfer manager:
// a body shorter than one part is a single PutObject, a longer one a multipart upload
// in parts of provider.StreamPartSize(req.SizeHint). On any failure (a failed part,
// the body's read error, a cancelled ctx) the transfer manager aborts the multipart
// upload after every part in flight has returned, on a context of its own, and
// abortStream aborts it once more, so no parts are left behind; a bucket lifecycle
// rule for incomplete uploads is the backstop should both aborts fail.
func (p *Provider) UploadStream(ctx context.Context, req provider.StreamUploadRequest) (*provider.StreamUploadResult, error) {
	if err := provider.CheckStreamUpload("PutObject", req); err != nil {
		return nil, err
	}
	resource := req.Bucket + "/" + req.Key
	partSize := provider.StreamPartSize(req.SizeHint)
	body := provider.NewStreamBody(ctx, req.Body)
	uploader := transfermanager.New(p.s3, func(o *transfermanager.Options) {
		o.PartSizeBytes = partSize
		// At the part size: smaller bodies go in one PutObject, larger ones never
		// buffer more than a part before the multipart upload starts.
		o.MultipartUploadThreshold = partSize
		o.Concurrency = streamConcurrency
		o.FailTimeout = abortTimeout // the abort of a cancelled upload needs a live context
		// As the provider's client: checksums only where S3 demands them.
		o.RequestChecksumCalculation = awssdk.RequestChecksumCalculationWhenRequired
	})
	out, err := uploader.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket:      &req.Bucket,
		Key:         &req.Key,
		Body:        body,
		ContentType: awssdk.String(req.ContentTypeOrDefault()),
	})
	if err != nil {
		var started transfermanager.MultipartUploadError
		if errors.As(err, &started) {
			p.abortStream(ctx, req, started.UploadID())
		}
		if body.Err() != nil {
			return nil, body.ReadError("UploadStream", resource, "s3://"+resource)
		}
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			// The transfer manager words a failed abort with %v: keep the cause visible.
			err = fmt.Errorf("%w: %w", context.Cause(ctx), err)
		}
		return nil, p.classify(failedOperation(err), resource, err)
	}
	res := &provider.StreamUploadResult{
		SizeBytes: body.Size(),
		ETag:      normalizeETag(awssdk.ToString(out.ETag)),
		Parts:     len(out.CompletedParts),
	}
	if res.Parts > 0 {
		res.PartSizeBytes = partSize
	}
	return res, nil
}

// abortStream aborts a failed streamed upload once more. The transfer manager has
// aborted it already, unless that abort failed; and S3 may still store a part that
// was in flight during an abort, which a second abort removes. An upload already gone
// (NoSuchUpload) is what this wants.
func (p *Provider) abortStream(ctx context.Context, req provider.StreamUploadRequest, uploadID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	// Best effort: a bucket lifecycle rule for incomplete uploads is the backstop.
	_, _ = p.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: &req.Bucket, Key: &req.Key, UploadId: &uploadID,
	})
}

// failedOperation is the S3 operation that failed in err (UploadPart,
// CompleteMultipartUpload...), or UploadStream when no request failed (a cancelled
// context stopped the upload between requests).
func failedOperation(err error) string {
	var opErr *smithy.OperationError
	if errors.As(err, &opErr) {
		return opErr.Operation()
	}
	return "UploadStream"
}
