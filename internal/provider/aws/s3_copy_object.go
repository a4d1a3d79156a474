package aws

import (
	"context"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// objectOutcome is what happened to one object of a copy that did not fail.
type objectOutcome int

const (
	objectCopied objectOutcome = iota
	// objectSkipped: the destination already held this object (a resumed copy).
	objectSkipped
	// objectVanished: the source object was deleted after it was listed.
	objectVanished
	// objectKeptExisting: the key exists at the destination and the copy may not
	// replace it (SkipExisting).
	objectKeptExisting
)

// bucketCheckTimeout bounds the HeadBucket that tells which bucket of a failed copy is
// missing.
const bucketCheckTimeout = 10 * time.Second

// copyObject copies one object: a single CopyObject up to the threshold, a multipart
// copy above it. Errors are classified *provider.Error values.
func (r *copyRun) copyObject(ctx context.Context, job copyJob) (objectOutcome, error) {
	if job.headFirst {
		if outcome, done, err := r.checkDestination(ctx, &job); done || err != nil {
			return outcome, err
		}
	}
	if job.size > r.threshold {
		return r.copyMultipart(ctx, job)
	}
	out, err := r.p.s3.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:      &r.req.DestinationBucket,
		Key:         &job.dstKey,
		CopySource:  awssdk.String(copySource(r.req.SourceBucket, job.srcKey, job.versionID)),
		IfNoneMatch: r.ifNoneMatch(),
	})
	if err != nil {
		switch code := errorCode(err); {
		case sourceGone(code):
			return objectVanished, nil
		case code == "PreconditionFailed" && r.req.Existing == provider.SkipExisting:
			return objectKeptExisting, nil // written by someone else since the listing (If-None-Match)
		case code == "NoSuchBucket":
			return objectCopied, r.missingBucket(ctx, job, err)
		}
		return objectCopied, classifyCopy("CopyObject", r.sourceResource(job), job.versionID != "", err)
	}
	r.bytesCopied.Add(job.size)
	if out.CopyObjectResult != nil && out.CopyObjectResult.ETag != nil {
		job.file.ETag = normalizeETag(*out.CopyObjectResult.ETag)
	}
	return objectCopied, nil
}

// sourceGone reports whether a copy's error code says the source object (or the
// version it names) no longer exists: deleted after it was listed, which is not a
// failure of the copy.
func sourceGone(code string) bool {
	return code == "NoSuchKey" || code == "NoSuchVersion"
}

// sourceResource names a job's source in errors: bucket/key, and the version when the
// job copies one (an old version failing is not the current object failing).
func (r *copyRun) sourceResource(job copyJob) string {
	if job.versionID != "" {
		return r.req.SourceBucket + "/" + job.srcKey + " version " + job.versionID
	}
	return r.req.SourceBucket + "/" + job.srcKey
}

// missingBucket classifies a CopyObject that failed with NoSuchBucket. The error does
// not say which bucket is missing, and a copy that did not list its destination
// (Unchecked) has not found out otherwise, so a HeadBucket of the destination decides
// which one the error names.
func (r *copyRun) missingBucket(ctx context.Context, job copyJob, err error) error {
	check, cancel := context.WithTimeout(context.WithoutCancel(ctx), bucketCheckTimeout)
	defer cancel()
	if _, headErr := r.p.s3.HeadBucket(check, &s3.HeadBucketInput{Bucket: &r.req.DestinationBucket}); kindOf(headErr) == provider.KindNotFound {
		return classify("CopyObject", r.req.DestinationBucket+"/"+job.dstKey, err)
	}
	return classifyCopy("CopyObject", r.sourceResource(job), job.versionID != "", err)
}

// copySource builds CopyObject's x-amz-copy-source: bucket/key with every byte of the
// key percent-encoded except unreserved characters and "/", and "?versionId=" with the
// version (encoded the same way, "/" included) when one is named. Encoding more than
// url.PathEscape does matters: S3 decodes "+" in this header as a space, and AWS
// version ids may contain "+" and "/".
func copySource(bucket, key, versionID string) string {
	var b strings.Builder
	b.Grow(len(bucket) + 1 + len(key)*3 + len("?versionId=") + len(versionID)*3)
	b.WriteString(bucket)
	b.WriteByte('/')
	percentEncode(&b, key, true)
	if versionID != "" {
		b.WriteString("?versionId=")
		percentEncode(&b, versionID, false)
	}
	return b.String()
}

// percentEncode writes s with every byte percent-encoded except unreserved characters
// (and "/" when keepSlash).
func percentEncode(b *strings.Builder, s string, keepSlash bool) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || c == '/' && keepSlash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

// ifNoneMatch is the destination condition of a copy's writes: "*" under SkipExisting,
// so S3 itself refuses to replace a key written after the destination was listed
// (the listing decides what to copy; this closes the gap on stores that honour it).
func (r *copyRun) ifNoneMatch() *string {
	if r.req.Existing == provider.SkipExisting {
		return awssdk.String("*")
	}
	return nil
}

// checkDestination asks the store whether an object the destination listing could not
// answer for is at the destination (HeadObject). done is true when the object needs
// no copy: kept under SkipExisting, or already identical (a resumed copy, recognised
// by ETag, or by the source ETag a multipart copy records). A missing key leaves
// done false; any other failure is the object's error, never a guess that it is absent.
func (r *copyRun) checkDestination(ctx context.Context, job *copyJob) (outcome objectOutcome, done bool, err error) {
	head, err := r.p.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &r.req.DestinationBucket, Key: &job.dstKey})
	if err != nil {
		if kindOf(err) == provider.KindNotFound {
			return objectCopied, false, nil
		}
		return objectCopied, false, classify("HeadObject", r.req.DestinationBucket+"/"+job.dstKey, err)
	}
	if r.req.Existing == provider.SkipExisting {
		return objectKeptExisting, true, nil
	}
	etag := normalizeETag(awssdk.ToString(head.ETag))
	if awssdk.ToInt64(head.ContentLength) == job.size && (etag == job.etag || head.Metadata[SourceETagMetadataKey] == job.etag) {
		job.file.ETag = etag
		return objectSkipped, true, nil
	}
	return objectCopied, false, nil
}
