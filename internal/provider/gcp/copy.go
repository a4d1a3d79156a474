package gcp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// maxFailuresBeforeAbort stops a copy whose objects keep failing: past this many,
// something systemic is wrong and copying the rest only burns requests.
const maxFailuresBeforeAbort = 100

// maxFailedKeysReported bounds how many failed keys the error message names.
const maxFailedKeysReported = 10

// maxObjectName is the longest object name GCS accepts, in bytes of UTF-8.
const maxObjectName = 1024

// CopyObjectStorage copies every object under req.SourcePrefix that survives the
// exclusions (or exactly req.Objects, each to its DestinationKey and from the
// generation its VersionID names) to req.DestinationPrefix with server-side rewrites.
// Objects already at the destination with the same size and checksum identity (MD5)
// are skipped; with SkipExisting every key present at the destination is, and the
// rewrite itself is write-once (ifGenerationMatch=0); with Unchecked the destination
// is not looked at. The source and destination are listed side by side and joined in
// key order, so memory does not grow with the number of objects.
//
// The result is returned even with an error. An object that still fails after
// retries fails the copy with a *provider.Error naming its key; a source object (or
// generation) deleted while the copy runs is counted in ObjectsVanished.
func (p *Provider) CopyObjectStorage(ctx context.Context, req provider.ObjectStorageCopyRequest) (*provider.ObjectStorageCopyResult, error) {
	if err := validateCopyRequest(req); err != nil {
		return nil, err
	}
	excluder, err := provider.NewExcluder(req.ExcludePatterns, req.ExcludeGeneratedFiles)
	if err != nil {
		return nil, err
	}
	run := &copyRun{p: p, req: req, excluder: excluder, concurrency: req.Concurrency}
	if run.concurrency <= 0 {
		run.concurrency = p.opts.CopyConcurrency
	}
	if req.FileListLimit > 0 {
		run.files = make([]provider.ObjectMetadata, 0, req.FileListLimit)
	}
	return run.execute(ctx)
}

func validateCopyRequest(req provider.ObjectStorageCopyRequest) error {
	invalid := func(msg string) error {
		return invalidInput("CopyObjectStorage", req.SourceBucket+"/"+req.SourcePrefix, msg)
	}
	if req.SourceBucket == "" || req.DestinationBucket == "" {
		return invalid("source and destination buckets are required")
	}
	if provider.LocationsOverlap(req.SourceBucket, req.SourcePrefix, req.DestinationBucket, req.DestinationPrefix) {
		return invalid(fmt.Sprintf("destination prefix %q overlaps source prefix %q in bucket %s", req.DestinationPrefix, req.SourcePrefix, req.SourceBucket))
	}
	if req.PartSize > 0 && req.PartSize < MinPartSize {
		return invalid(fmt.Sprintf("part size %d is below the minimum of %d bytes", req.PartSize, MinPartSize))
	}
	switch req.Existing {
	case provider.SkipIdentical, provider.SkipExisting, provider.Overwrite, provider.Unchecked:
	default:
		return invalid(fmt.Sprintf("unknown existing-objects policy %q", req.Existing))
	}
	return nil
}

// copyRun is the state of one CopyObjectStorage call.
type copyRun struct {
	p           *Provider
	req         provider.ObjectStorageCopyRequest
	excluder    *provider.Excluder
	concurrency int

	total, copied, skipped, excluded, failed, vanished atomic.Int64
	bytesTotal, bytesCopied                            atomic.Int64
	listingDone                                        atomic.Bool

	mu         sync.Mutex
	firstErr   error
	failedKeys []string
	// tokens are the rewrite tokens of the objects under way, by destination key,
	// reported with the progress so that a restarted copy resumes them.
	tokens map[string]string

	// files has capacity req.FileListLimit up front so workers can fill entries by
	// pointer while the dispatcher appends: it never reallocates.
	files []provider.ObjectMetadata
}

// copyJob is one object to copy.
type copyJob struct {
	srcKey, dstKey string
	versionID      string
	size           int64
	etag           string
	// headFirst is true when the destination listing could not tell whether the key
	// is there (req.Objects out of key order): the worker asks the store first.
	headFirst bool
	// file is this object's entry in the result's file list, or a record of its own.
	file *provider.ObjectMetadata
}

func (r *copyRun) execute(parent context.Context) (*provider.ObjectStorageCopyResult, error) {
	ctx, abort := context.WithCancelCause(parent)
	defer abort(nil)

	var source objectSource
	if r.req.Objects != nil {
		source = newItemSource(r.req.Objects, r.req.SourcePrefix)
	} else {
		source = r.p.listObjects(ctx, r.req.SourceBucket, r.req.SourcePrefix)
	}
	defer source.Stop()
	var destination *destinationIndex
	if r.req.Existing != provider.Unchecked {
		destination = &destinationIndex{stream: r.p.listObjects(ctx, r.req.DestinationBucket, r.req.DestinationPrefix)}
		defer destination.stream.Stop()
	}

	slots := make(chan struct{}, r.concurrency)
	var copies sync.WaitGroup
	dispatchErr := r.dispatch(ctx, source, destination, func(job copyJob) bool {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		copies.Add(1)
		go func() {
			defer copies.Done()
			defer func() { <-slots }()
			r.handle(ctx, abort, job)
		}()
		return true
	})
	if dispatchErr != nil {
		abort(dispatchErr)
	}
	copies.Wait()
	return r.result(), r.outcome(parent, dispatchErr)
}

// dispatch walks the source objects, drops excluded and already copied objects, fails
// those whose destination name GCS would refuse as too long, and starts the rest.
func (r *copyRun) dispatch(ctx context.Context, source objectSource, destination *destinationIndex, start func(copyJob) bool) error {
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
		if len(job.dstKey) > maxObjectName {
			r.recordFailure(nil, job.srcKey, nameTooLong(job.srcKey, r.req.DestinationBucket, job.dstKey))
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
		}
		if ctx.Err() != nil || !start(job) {
			r.dropFile(job)
			return nil // the cause is reported by outcome
		}
	}
	if err := source.Err(); err != nil {
		return listingError(ctx, err)
	}
	r.listingDone.Store(true)
	r.report()
	return nil
}

// nameTooLong is the KindInvalidInput error of an object whose destination name would
// exceed GCS's limit.
func nameTooLong(sourceKey, bucket, key string) error {
	msg := fmt.Sprintf("%s cannot be stored: its name at the destination, gs://%s/%s, would be %d bytes, and GCS object names are at most %d bytes; choose a shorter destination prefix",
		sourceKey, bucket, key, len(key), maxObjectName)
	return provider.NewError(provider.KindInvalidInput, "objects.rewrite", bucket+"/"+key, errors.New(msg)).WithMessage(msg)
}

// listingError returns err unless the listing only ended because the copy is stopping.
func listingError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// keptExisting accounts for an object not copied because its key exists at the
// destination under SkipExisting: skipped, in neither Stored nor Files.
func (r *copyRun) keptExisting(job copyJob) {
	r.skipped.Add(1)
	r.dropFile(job)
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
		// Stopped by cancellation: record the object if it arrived all the same, so
		// what the copy wrote is never left out of the inventory.
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

// dropFile marks the object's file-list entry as not in the backup.
func (r *copyRun) dropFile(job copyJob) {
	if job.file != nil {
		job.file.Key = ""
	}
}

// recordFailure counts a failed object; without permission or without a bucket every
// other object fails the same way, so those abort the copy (abort nil: dispatching).
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
	kind := provider.KindOf(err)
	if abort != nil && (kind == provider.KindAccessDenied || kind == provider.KindNotFound || failures >= maxFailuresBeforeAbort) {
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
		ResumeTokens:   r.resumeTokens(),
	})
}

// keepToken records the latest rewrite token of the object at dstKey ("" once its
// rewrite has ended) and reports the progress when it changed.
func (r *copyRun) keepToken(dstKey, token string) {
	r.mu.Lock()
	changed := r.tokens[dstKey] != token
	switch {
	case token == "":
		delete(r.tokens, dstKey)
	case changed:
		if r.tokens == nil {
			r.tokens = map[string]string{}
		}
		r.tokens[dstKey] = token
	}
	r.mu.Unlock()
	if changed {
		r.report()
	}
}

// resumeTokens is a copy of the tokens of the rewrites under way; nil for none.
func (r *copyRun) resumeTokens() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.tokens) == 0 {
		return nil
	}
	out := make(map[string]string, len(r.tokens))
	for k, v := range r.tokens {
		out[k] = v
	}
	return out
}

func (r *copyRun) result() *provider.ObjectStorageCopyResult {
	res := &provider.ObjectStorageCopyResult{
		ObjectsTotal:    r.total.Load(),
		ObjectsCopied:   r.copied.Load(),
		ObjectsSkipped:  r.skipped.Load(),
		ObjectsExcluded: r.excluded.Load(),
		ObjectsFailed:   r.failed.Load(),
		ObjectsVanished: r.vanished.Load(),
		BytesCopied:     r.bytesCopied.Load(),
		BytesTotal:      r.bytesTotal.Load(),
	}
	if r.files != nil {
		res.Files = make([]provider.ObjectMetadata, 0, len(r.files))
		for _, f := range r.files {
			if f.Key != "" {
				res.Files = append(res.Files, f)
			}
		}
	}
	return res
}

// outcome picks the error to return: the caller's cancellation, a listing failure, or
// the object failures, in that order.
func (r *copyRun) outcome(parent context.Context, dispatchErr error) error {
	if err := parent.Err(); err != nil {
		return classify("CopyObjectStorage", r.req.SourceBucket, r.req.SourcePrefix, fmt.Errorf("copy stopped: %w", err))
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
	if !errors.As(r.firstErr, &pe) {
		pe = provider.NewError(provider.KindTransient, "objects.rewrite", r.failedKeys[0], r.firstErr)
	}
	return provider.NewError(pe.Kind, pe.Op, r.req.SourceBucket+"/"+r.failedKeys[0], fmt.Errorf(
		"%d objects failed after retries (%s), copy not complete: %w",
		failed, strings.Join(r.failedKeys, ", "), r.firstErr)).
		WithMessage(fmt.Sprintf("%d objects not copied (%s); first: %s", failed, strings.Join(r.failedKeys, ", "), provider.Describe(r.firstErr)))
}
