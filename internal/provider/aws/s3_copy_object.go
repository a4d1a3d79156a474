package aws

import (
	"context"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// objectOutcome is what happened to one object of a copy that did not fail.
type objectOutcome int

const (
	objectCopied objectOutcome = iota
	// objectSkipped: the destination already held this object (a resumed copy).
	objectSkipped
	// objectVanished: the source object was deleted after it was listed.
	objectVanished
)

// copyObject copies one object: a single CopyObject up to the threshold, a multipart
// copy above it. Errors are classified *provider.Error values.
func (r *copyRun) copyObject(ctx context.Context, job copyJob) (objectOutcome, error) {
	if job.size > r.threshold {
		return r.copyMultipart(ctx, job)
	}
	out, err := r.p.s3.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:     &r.req.DestinationBucket,
		Key:        &job.dstKey,
		CopySource: awssdk.String(copySource(r.req.SourceBucket, job.srcKey)),
	})
	if err != nil {
		if errorCode(err) == "NoSuchKey" {
			return objectVanished, nil
		}
		return objectCopied, classify("CopyObject", r.req.SourceBucket+"/"+job.srcKey, err)
	}
	r.bytesCopied.Add(job.size)
	if out.CopyObjectResult != nil && out.CopyObjectResult.ETag != nil {
		job.file.ETag = normalizeETag(*out.CopyObjectResult.ETag)
	}
	return objectCopied, nil
}

// copySource builds CopyObject's x-amz-copy-source: bucket/key with every byte of the
// key percent-encoded except unreserved characters and "/". Encoding more than
// url.PathEscape does matters: S3 decodes "+" in this header as a space.
func copySource(bucket, key string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(bucket) + 1 + len(key)*3)
	b.WriteString(bucket)
	b.WriteByte('/')
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
