package gcp

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"cloud.google.com/go/storage"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// objectOutcome is what happened to one object of a copy that did not fail.
type objectOutcome int

const (
	objectCopied objectOutcome = iota
	// objectSkipped: the destination already held this object (a resumed copy).
	objectSkipped
	// objectVanished: the source object (or generation) was deleted after it was listed.
	objectVanished
	// objectKeptExisting: the key exists at the destination and the copy may not
	// replace it (SkipExisting).
	objectKeptExisting
)

// checkTimeout bounds the lookups that settle an interrupted or failed copy.
const checkTimeout = 10 * time.Second

// copyObject copies one object with a rewrite. Errors are classified *provider.Error
// values.
func (r *copyRun) copyObject(ctx context.Context, job copyJob) (objectOutcome, error) {
	if job.headFirst {
		if outcome, done, err := r.checkDestination(ctx, &job); done || err != nil {
			return outcome, err
		}
	}
	src := r.p.gcs.Bucket(r.req.SourceBucket).Object(job.srcKey)
	if job.versionID != "" {
		generation, _ := strconv.ParseInt(job.versionID, 10, 64) // checked by itemSource
		src = src.Generation(generation)
	}
	dst := r.p.gcs.Bucket(r.req.DestinationBucket).Object(job.dstKey)
	if r.req.Existing == provider.SkipExisting {
		// Write-once: GCS itself refuses to replace a key written after the
		// destination was listed (ifGenerationMatch=0).
		dst = dst.If(storage.Conditions{DoesNotExist: true})
	}
	attrs, err := r.rewriteObject(ctx, job.dstKey, src, dst)
	if err != nil {
		switch {
		case statusOf(err) == http.StatusPreconditionFailed && r.req.Existing == provider.SkipExisting:
			return objectKeptExisting, nil
		case kindOf(err) == provider.KindNotFound:
			return r.notFound(ctx, job, err)
		}
		return objectCopied, classify("objects.rewrite", r.req.SourceBucket, sourceName(job), err)
	}
	r.bytesCopied.Add(job.size)
	job.file.ETag = etagOf(attrs)
	return objectCopied, nil
}

// rewriteObject rewrites src to dst, resuming from the token an earlier run of the
// copy reported for dstKey (a restarted controller) and reporting each new token as
// the rewrite goes. GCS answers 400 to a token it no longer takes (expired, or the
// source changed since): the object is then rewritten from the start, once. A
// rewrite that fails keeps its last token in the progress, for the next run.
func (r *copyRun) rewriteObject(ctx context.Context, dstKey string, src, dst *storage.ObjectHandle) (*storage.ObjectAttrs, error) {
	run := func(token string) (*storage.ObjectAttrs, error) {
		copier := dst.CopierFrom(src)
		copier.RewriteToken = token
		copier.ProgressFunc = func(uint64, uint64) { r.keepToken(dstKey, copier.RewriteToken) }
		return r.p.rewrite(ctx, copier)
	}
	resumed := r.req.ResumeTokens[dstKey]
	attrs, err := run(resumed)
	if err != nil && resumed != "" && statusOf(err) == http.StatusBadRequest && ctx.Err() == nil {
		r.keepToken(dstKey, "")
		attrs, err = run("")
	}
	if err == nil {
		r.keepToken(dstKey, "")
	}
	return attrs, err
}

// rewrite runs a copier to the end. Copier.Run itself loops on the rewrite token until
// GCS answers done (a rewrite across locations or storage classes takes several calls)
// and keeps the last token in the copier when a call fails; a failure the client's
// retries did not get past is resumed from that token, up to RewriteResumes times,
// instead of starting the object over. Across runs (a restarted controller) the
// token travels in the copy's progress and request (rewriteObject).
func (p *Provider) rewrite(ctx context.Context, copier *storage.Copier) (*storage.ObjectAttrs, error) {
	for resumes := 0; ; resumes++ {
		attrs, err := copier.Run(ctx)
		if err == nil {
			return attrs, nil
		}
		if copier.RewriteToken == "" || resumes >= p.opts.RewriteResumes || ctx.Err() != nil || kindOf(err) != provider.KindTransient && kindOf(err) != provider.KindThrottled {
			return nil, err
		}
	}
}

// sourceName names a job's source object in errors, with the generation it copies.
func sourceName(job copyJob) string {
	if job.versionID != "" {
		return job.srcKey + " generation " + job.versionID
	}
	return job.srcKey
}

// notFound classifies a rewrite's 404: a missing destination or source bucket fails
// the copy naming that bucket; otherwise the source object (or the generation named)
// was deleted after it was listed, and the object has vanished. The 404 itself does
// not say which, so the buckets are looked up.
func (r *copyRun) notFound(ctx context.Context, job copyJob, err error) (objectOutcome, error) {
	check, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkTimeout)
	defer cancel()
	for _, bucket := range []string{r.req.DestinationBucket, r.req.SourceBucket} {
		_, attrsErr := r.p.gcs.Bucket(bucket).Attrs(check)
		if kindOf(attrsErr) == provider.KindNotFound {
			return objectCopied, classify("buckets.get", bucket, "", attrsErr)
		}
	}
	return objectVanished, nil
}

// checkDestination asks the store whether an object the destination listing could not
// answer for is at the destination. done is true when the object needs no copy: kept
// under SkipExisting, or already identical. A missing key leaves done false; any other
// failure is the object's error, never a guess that it is absent.
func (r *copyRun) checkDestination(ctx context.Context, job *copyJob) (outcome objectOutcome, done bool, err error) {
	attrs, err := r.p.gcs.Bucket(r.req.DestinationBucket).Object(job.dstKey).Attrs(ctx)
	if err != nil {
		if errors.Is(err, storage.ErrObjectNotExist) {
			return objectCopied, false, nil
		}
		return objectCopied, false, classify("objects.get", r.req.DestinationBucket, job.dstKey, err)
	}
	if r.req.Existing == provider.SkipExisting {
		return objectKeptExisting, true, nil
	}
	if attrs.Size == job.size && etagOf(attrs) == job.etag {
		job.file.ETag = etagOf(attrs)
		return objectSkipped, true, nil
	}
	return objectCopied, false, nil
}

// landedAnyway reports whether an object whose copy was interrupted by cancellation
// is at the destination all the same, identical to the source (a rewrite GCS finished
// after the client gave up on it). Only keys this copy writes are checked.
func (r *copyRun) landedAnyway(ctx context.Context, job copyJob) bool {
	if r.req.Stored == nil {
		return false
	}
	check, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkTimeout)
	defer cancel()
	attrs, err := r.p.gcs.Bucket(r.req.DestinationBucket).Object(job.dstKey).Attrs(check)
	if err != nil || attrs.Size != job.size || etagOf(attrs) != job.etag {
		return false
	}
	job.file.ETag = etagOf(attrs)
	return true
}
