package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// maxFailuresBeforeAbort stops a copy whose objects keep failing after retries: past
// this many, something systemic is wrong and copying the rest only burns requests.
const maxFailuresBeforeAbort = 100

// maxFailedKeysReported bounds how many failed keys the error message names.
const maxFailedKeysReported = 10

// CopyObjectStorage copies every object under req.SourcePrefix that survives the
// exclusions (or exactly req.Objects, each to its DestinationKey and from its
// VersionID when it names them) to req.DestinationPrefix with server-side copies:
// CopyObject up to the multipart threshold, parallel UploadPartCopy above it. Objects
// already at the destination with the same size and ETag are skipped; with
// SkipExisting every key present at the destination is; with Unchecked the destination
// is not looked at. The source and destination are listed side by side and joined in
// key order, so memory does not grow with the number of objects.
//
// The result is returned even with an error, so the caller can report how far the
// copy got. An object that still fails after retries fails the copy with a
// *provider.Error naming its key; a source object deleted while the copy runs is
// counted in ObjectsVanished, not as a failure. Cancelling ctx stops the copy promptly
// (in-flight requests are aborted and unfinished multipart uploads are aborted).
func (p *Provider) CopyObjectStorage(ctx context.Context, req provider.ObjectStorageCopyRequest) (*provider.ObjectStorageCopyResult, error) {
	run, err := p.newCopyRun(req)
	if err != nil {
		return nil, err
	}
	return run.execute(ctx)
}

// copyRun is the state of one CopyObjectStorage call.
type copyRun struct {
	p               *Provider
	req             provider.ObjectStorageCopyRequest
	excluder        *provider.Excluder
	concurrency     int
	partConcurrency int
	threshold       int64
	partSize        int64
	// limiter is the copy's budget of requests in flight, shared by objects and parts.
	limiter *copyLimiter

	total, copied, skipped, excluded, failed, vanished atomic.Int64
	bytesTotal, bytesCopied                            atomic.Int64
	listingDone                                        atomic.Bool

	mu         sync.Mutex
	firstErr   error    // the first object failure, classified
	failedKeys []string // the first maxFailedKeysReported failed keys

	// files has capacity req.FileListLimit up front so workers can fill entries by
	// pointer while the dispatcher appends: it never reallocates.
	files []provider.ObjectMetadata
}

// copyJob is one object to copy.
type copyJob struct {
	srcKey, dstKey string
	// versionID is the source version to copy; empty copies the current one.
	versionID string
	size      int64
	etag      string
	// existing is the destination object when it has the same size but another ETag,
	// which is what an earlier multipart copy of the object looks like.
	existing *existingObject
	// headFirst is true when the destination listing could not tell whether the key is
	// there (req.Objects out of key order): the worker asks with HeadObject first.
	headFirst bool
	// file is this object's entry in the result's file list, or a record of its own
	// past FileListLimit; its ETag becomes the destination's once copied.
	file *provider.ObjectMetadata
}

func (p *Provider) newCopyRun(req provider.ObjectStorageCopyRequest) (*copyRun, error) {
	if err := validateCopyRequest(req); err != nil {
		return nil, err
	}
	excluder, err := provider.NewExcluder(req.ExcludePatterns, req.ExcludeGeneratedFiles)
	if err != nil {
		return nil, err
	}
	run := &copyRun{
		p:               p,
		req:             req,
		excluder:        excluder,
		concurrency:     firstPositive(req.Concurrency, p.opts.CopyConcurrency),
		partConcurrency: p.opts.PartConcurrency,
		threshold:       firstPositive(req.MultipartThreshold, p.opts.MultipartThreshold),
		partSize:        firstPositive(req.PartSize, p.opts.PartSize),
	}
	if run.threshold > SingleCopyLimit {
		run.threshold = SingleCopyLimit
	}
	if req.FileListLimit > 0 {
		run.files = make([]provider.ObjectMetadata, 0, req.FileListLimit)
	}
	return run, nil
}

func validateCopyRequest(req provider.ObjectStorageCopyRequest) error {
	invalid := func(msg string) error {
		return provider.NewError(provider.KindInvalidInput, "CopyObjectStorage", req.SourceBucket+"/"+req.SourcePrefix, errors.New(msg)).WithMessage(msg)
	}
	if req.SourceBucket == "" || req.DestinationBucket == "" {
		return invalid("source and destination buckets are required")
	}
	if provider.LocationsOverlap(req.SourceBucket, req.SourcePrefix, req.DestinationBucket, req.DestinationPrefix) {
		// The copy would list its own output (or overwrite its input). The controller
		// refuses such a spec before its first write (preflight); this is the guard.
		return invalid(fmt.Sprintf("destination prefix %q overlaps source prefix %q in bucket %s", req.DestinationPrefix, req.SourcePrefix, req.SourceBucket))
	}
	if req.PartSize > 0 && req.PartSize < MinPartSize {
		return invalid(fmt.Sprintf("part size %d is below S3's minimum of %d bytes", req.PartSize, MinPartSize))
	}
	switch req.Existing {
	case provider.SkipIdentical, provider.SkipExisting, provider.Overwrite, provider.Unchecked:
	default:
		return invalid(fmt.Sprintf("unknown existing-objects policy %q", req.Existing))
	}
	return nil
}

func (r *copyRun) execute(parent context.Context) (*provider.ObjectStorageCopyResult, error) {
	ctx, abort := context.WithCancelCause(parent)
	defer abort(nil)
	r.limiter = newCopyLimiter(r.concurrency, nil)
	ctx = withCopyPacing(ctx, &copyPacing{limiter: r.limiter, rate: r.p.copyRate})

	var source objectSource
	if r.req.Objects != nil {
		objects := newSeqSource(r.req.Objects, r.req.SourcePrefix)
		defer objects.stop()
		source = objects
	} else {
		source = r.p.streamObjects(ctx, r.req.SourceBucket, r.req.SourcePrefix, provider.KeyRange{})
	}
	// Unchecked copies never consult the destination, so its listing is not even
	// started: for a content-addressed repository it would only cost requests.
	var destination *destinationIndex
	if r.req.Existing != provider.Unchecked {
		destination = &destinationIndex{stream: r.p.streamObjects(ctx, r.req.DestinationBucket, r.req.DestinationPrefix, provider.KeyRange{})}
	}

	// One goroutine per object in flight, started once the object has a slot of the
	// copy's budget: their number follows the adaptive limit, and nothing is queued
	// beyond it.
	var copies sync.WaitGroup
	dispatchErr := r.dispatch(ctx, abort, source, destination, func(job copyJob) bool {
		if r.limiter.acquire(ctx) != nil {
			return false
		}
		copies.Add(1)
		go func() {
			defer copies.Done()
			defer r.limiter.release()
			r.handle(ctx, abort, job)
		}()
		return true
	})
	if dispatchErr != nil {
		abort(dispatchErr) // a listing failed: the copies in flight are moot
	}
	copies.Wait()
	return r.result(), r.outcome(parent, ctx, dispatchErr)
}

// dispatch walks the source objects, drops excluded and already copied objects, fails
// those whose destination key S3 would refuse as too long, and starts the rest; start
// returns false once the copy is stopping. destination is nil for an Unchecked copy,
// which starts every object.
func (r *copyRun) dispatch(ctx context.Context, abort context.CancelCauseFunc, source objectSource, destination *destinationIndex, start func(copyJob) bool) error {
	for {
		obj, ok := source.Next()
		if !ok {
			break
		}
		if r.req.Objects == nil && r.excluder.Excluded(obj.rel) {
			r.excluded.Add(1)
			continue
		}
		job := copyJob{srcKey: obj.key, dstKey: r.req.DestinationPrefix + obj.rel, versionID: obj.versionID, size: obj.size, etag: obj.etag}
		r.total.Add(1)
		r.bytesTotal.Add(job.size)
		if len(job.dstKey) > provider.MaxKeyBytes {
			// S3 would answer KeyTooLongError: a failed object, named with both keys,
			// without sending the request.
			r.recordFailure(abort, job.srcKey, provider.KeyTooLong("CopyObject", job.srcKey, r.req.DestinationBucket, job.dstKey))
			r.report()
			continue
		}
		file := provider.ObjectMetadata{Key: job.dstKey, Size: job.size, ETag: job.etag, LastModified: obj.modified}
		if len(r.files) < cap(r.files) {
			r.files = append(r.files, file)
			job.file = &r.files[len(r.files)-1]
		} else {
			job.file = &file
		}

		var existing *existingObject
		known := true
		if destination != nil {
			var err error
			if existing, known, err = destination.Lookup(obj.rel); err != nil {
				return listingError(ctx, err)
			}
		}
		switch {
		case !known:
			job.headFirst = true
		case existing != nil && r.req.Existing == provider.SkipExisting:
			r.keptExisting(job)
			r.report()
			continue
		case existing != nil && existing.size == job.size && existing.etag == job.etag:
			r.skipped.Add(1)
			r.stored(job, false)
			r.report()
			continue
		case existing != nil && existing.size == job.size:
			job.existing = existing
		}

		if ctx.Err() != nil || !start(job) {
			r.dropFile(job) // never copied
			return nil      // the cause is reported by outcome
		}
	}
	if err := source.Err(); err != nil {
		return listingError(ctx, err)
	}
	r.listingDone.Store(true)
	r.report()
	return nil
}

// keptExisting accounts for an object not copied because its key exists at the
// destination under SkipExisting: skipped, and neither in Stored nor in Files, since
// what the destination holds there is not this copy's.
func (r *copyRun) keptExisting(job copyJob) {
	r.skipped.Add(1)
	r.dropFile(job)
}

// listingError returns err unless the listing only ended because the copy is stopping
// (cancelled, or aborted by an object failure): outcome reports those causes.
func listingError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// handle copies one object and accounts for the outcome.
func (r *copyRun) handle(ctx context.Context, abort context.CancelCauseFunc, job copyJob) {
	outcome, err := r.copyObject(ctx, job)
	switch {
	case err == nil && outcome == objectSkipped:
		r.skipped.Add(1)
		r.stored(job, false)
	case err == nil && outcome == objectKeptExisting:
		r.keptExisting(job)
	case err == nil && outcome == objectVanished:
		r.vanished.Add(1)
		r.dropFile(job)
	case err == nil:
		r.copied.Add(1)
		r.stored(job, true)
	case ctx.Err() != nil:
		// Stopped by cancellation, not a failure of this object. The store may still
		// have completed the request: record the object if it arrived, so what the
		// copy wrote is never left out of the inventory.
		if r.landedAnyway(ctx, job) {
			r.copied.Add(1)
			r.stored(job, true)
		} else {
			r.dropFile(job)
		}
		return
	default:
		r.dropFile(job)
		r.recordFailure(abort, job.srcKey, err)
	}
	r.report()
}

// settleTimeout bounds the check of a copy interrupted by cancellation.
const settleTimeout = 10 * time.Second

// landedAnyway reports whether an object whose copy was interrupted by cancellation
// is at the destination all the same, with the source's size (a request the store
// completed after the client gave up on it). Only keys this copy writes are checked.
func (r *copyRun) landedAnyway(ctx context.Context, job copyJob) bool {
	if r.req.Stored == nil {
		return false
	}
	check, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	head, err := r.p.s3.HeadObject(check, &s3.HeadObjectInput{Bucket: &r.req.DestinationBucket, Key: &job.dstKey})
	if err != nil || awssdk.ToInt64(head.ContentLength) != job.size {
		return false
	}
	job.file.ETag = normalizeETag(awssdk.ToString(head.ETag))
	return true
}

// stored reports an object that is now at the destination to req.Stored.
func (r *copyRun) stored(job copyJob, copied bool) {
	if r.req.Stored == nil {
		return
	}
	r.req.Stored(provider.StoredObject{
		SourceKey: job.srcKey, Key: job.dstKey, Size: job.size,
		ETag: job.file.ETag, SourceETag: job.etag, SourceVersionID: job.versionID, Copied: copied,
	})
}

// dropFile marks the object's file-list entry as not in the backup; result leaves
// such entries out, so the manifest lists only objects present at the destination.
func (r *copyRun) dropFile(job copyJob) {
	if job.file != nil {
		job.file.Key = ""
	}
}

func (r *copyRun) recordFailure(abort context.CancelCauseFunc, key string, err error) {
	failures := r.failed.Add(1)
	r.mu.Lock()
	if r.firstErr == nil {
		r.firstErr = err
	}
	if len(r.failedKeys) < maxFailedKeysReported {
		r.failedKeys = append(r.failedKeys, key)
	}
	r.mu.Unlock()
	// Without permission or without a bucket every other object fails the same way.
	kind := provider.KindOf(err)
	if kind == provider.KindAccessDenied || errorCode(err) == "NoSuchBucket" || failures >= maxFailuresBeforeAbort {
		abort(err)
	}
}

// report sends the running totals to the progress callback.
func (r *copyRun) report() {
	if r.req.Progress == nil {
		return
	}
	r.req.Progress(provider.CopyProgress{
		ObjectsTotal:   r.total.Load(),
		ObjectsCopied:  r.copied.Load(),
		ObjectsSkipped: r.skipped.Load(),
		BytesCopied:    r.bytesCopied.Load(),
		ListingDone:    r.listingDone.Load(),
	})
}

func (r *copyRun) result() *provider.ObjectStorageCopyResult {
	return &provider.ObjectStorageCopyResult{
		ObjectsTotal:    r.total.Load(),
		ObjectsCopied:   r.copied.Load(),
		ObjectsSkipped:  r.skipped.Load(),
		ObjectsExcluded: r.excluded.Load(),
		ObjectsFailed:   r.failed.Load(),
		ObjectsVanished: r.vanished.Load(),
		BytesCopied:     r.bytesCopied.Load(),
		BytesTotal:      r.bytesTotal.Load(),
		Files:           r.presentFiles(),
	}
}

// presentFiles is the file list without the entries dropFile marked. It runs after the
// workers have stopped.
func (r *copyRun) presentFiles() []provider.ObjectMetadata {
	if r.files == nil {
		return nil
	}
	present := make([]provider.ObjectMetadata, 0, len(r.files))
	for _, f := range r.files {
		if f.Key != "" {
			present = append(present, f)
		}
	}
	return present
}

// outcome picks the error to return: the caller's cancellation, a listing failure, or
// the object failures, in that order.
func (r *copyRun) outcome(parent, ctx context.Context, dispatchErr error) error {
	resource := r.req.SourceBucket + "/" + r.req.SourcePrefix
	if err := parent.Err(); err != nil {
		return classify("CopyObjectStorage", resource, fmt.Errorf("copy stopped: %w", err))
	}
	if dispatchErr != nil {
		return dispatchErr
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.firstErr == nil {
		return nil
	}
	failed := r.failed.Load()
	var pe *provider.Error
	errors.As(r.firstErr, &pe)
	return provider.NewError(pe.Kind, pe.Op, r.req.SourceBucket+"/"+r.failedKeys[0], fmt.Errorf(
		"%d objects failed after retries (%s), copy not complete: %w",
		failed, strings.Join(r.failedKeys, ", "), r.firstErr)).
		WithMessage(fmt.Sprintf("%d objects not copied (%s); first: %s", failed, strings.Join(r.failedKeys, ", "), provider.Describe(r.firstErr)))
}

func firstPositive[T int | int64](values ...T) T {
	for _, v := range values {
		if v > 0 {
			return v
		}
	}
	return 0
}
