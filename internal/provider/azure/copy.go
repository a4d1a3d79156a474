package azure

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// maxFailuresBeforeAbort stops a copy whose blobs keep failing after retries: past
// this many, something systemic is wrong and copying the rest only burns requests.
const maxFailuresBeforeAbort = 100

// maxFailedKeysReported bounds how many failed keys the error message names.
const maxFailedKeysReported = 10

// settleTimeout bounds the check of a copy interrupted by cancellation.
const settleTimeout = 10 * time.Second

// CopyObjectStorage copies every blob under req.SourcePrefix that survives the
// exclusions (or exactly req.Objects) to req.DestinationPrefix, server-side: Copy Blob
// From URL up to the single-call limit, Put Block From URL ranges and Put Block List
// above it. It behaves as the AWS provider's copy does: blobs already at the
// destination with the same size and checksum identity (see identity) are skipped;
// with SkipExisting every existing name is, and the writes carry If-None-Match: *;
// with Unchecked the destination is not looked at. Source and destination listings are
// joined in name order, so memory does not grow with the number of blobs.
//
// The result is returned even with an error. A blob deleted from the source while the
// copy runs is counted in ObjectsVanished, not as a failure.
func (p *Provider) CopyObjectStorage(ctx context.Context, req provider.ObjectStorageCopyRequest) (*provider.ObjectStorageCopyResult, error) {
	run, err := p.newCopyRun(req)
	if err != nil {
		return nil, err
	}
	return run.execute(ctx)
}

// copyRun is the state of one CopyObjectStorage call.
type copyRun struct {
	p           *Provider
	req         provider.ObjectStorageCopyRequest
	excluder    *provider.Excluder
	concurrency int
	threshold   int64
	blockSize   int64

	total, copied, skipped, excluded, failed, vanished atomic.Int64
	bytesTotal, bytesCopied                            atomic.Int64
	listingDone                                        atomic.Bool

	mu         sync.Mutex
	firstErr   error
	failedKeys []string

	// containersOnce guards containersErr, the missing container of the copy, if any.
	containersOnce sync.Once
	containersErr  error

	// files has capacity req.FileListLimit up front so workers can fill entries by
	// pointer while the dispatcher appends: it never reallocates.
	files []provider.ObjectMetadata
}

// copyJob is one blob to copy.
type copyJob struct {
	srcKey, dstKey string
	size           int64
	// etag is the source's identity as listed (or as the caller's item names it).
	etag string
	// existing is true when the destination holds the name with the same size but
	// another identity: a staged copy may still recognise it as its own.
	existing bool
	// headFirst is true when the destination listing could not tell whether the name
	// is there (req.Objects out of order): the worker asks with Get Blob Properties.
	headFirst bool
	// file is this blob's entry in the result's file list, or a record of its own.
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
		p: p, req: req, excluder: excluder,
		concurrency: firstPositive(req.Concurrency, p.opts.CopyConcurrency),
		threshold:   min(firstPositive(req.MultipartThreshold, p.opts.SingleCopyLimit), p.opts.SingleCopyLimit),
		blockSize:   min(firstPositive(req.PartSize, p.opts.BlockSize), MaxBlockSize),
	}
	if req.FileListLimit > 0 {
		run.files = make([]provider.ObjectMetadata, 0, req.FileListLimit)
	}
	return run, nil
}

func validateCopyRequest(req provider.ObjectStorageCopyRequest) error {
	invalid := func(msg string) error {
		return invalidInput("CopyObjectStorage", req.SourceBucket+"/"+req.SourcePrefix, msg)
	}
	if req.SourceBucket == "" || req.DestinationBucket == "" {
		return invalid("source and destination containers are required")
	}
	if provider.LocationsOverlap(req.SourceBucket, req.SourcePrefix, req.DestinationBucket, req.DestinationPrefix) {
		return invalid(fmt.Sprintf("destination prefix %q overlaps source prefix %q in container %s", req.DestinationPrefix, req.SourcePrefix, req.SourceBucket))
	}
	if req.PartSize > 0 && req.PartSize < MinBlockSize {
		return invalid(fmt.Sprintf("part size %d is below the provider's minimum block of %d bytes", req.PartSize, MinBlockSize))
	}
	switch req.Existing {
	case provider.SkipIdentical, provider.SkipExisting, provider.Overwrite, provider.Unchecked:
	default:
		return invalid(fmt.Sprintf("unknown existing-objects policy %q", req.Existing))
	}
	return nil
}

// objectSource hands out the blobs of a copy: a listing of the source prefix or the
// caller's list.
type objectSource interface {
	Next() (obj sourceObject, ok bool)
	Err() error
}

// sourceObject is one blob of a copy's source; rel is the name written, relative to
// the destination prefix.
type sourceObject struct {
	key, rel string
	size     int64
	etag     string
	modified time.Time
}

// listedSource adapts a listing of the source prefix.
type listedSource struct {
	stream *blobStream
	prefix string
}

func (s listedSource) Next() (sourceObject, bool) {
	b, ok := s.stream.Next()
	if !ok {
		return sourceObject{}, false
	}
	m := b.metadata
	return sourceObject{key: m.Key, rel: strings.TrimPrefix(m.Key, s.prefix), size: m.Size, etag: m.ETag, modified: m.LastModified}, true
}

func (s listedSource) Err() error { return s.stream.Err() }

func (r *copyRun) execute(parent context.Context) (*provider.ObjectStorageCopyResult, error) {
	ctx, abort := context.WithCancelCause(parent)
	defer abort(nil)

	var source objectSource
	if r.req.Objects != nil {
		items := newSeqSource(r.req.Objects, r.req.SourcePrefix)
		defer items.stop()
		source = items
	} else {
		source = listedSource{stream: r.p.streamBlobs(ctx, r.req.SourceBucket, r.req.SourcePrefix, provider.KeyRange{}), prefix: r.req.SourcePrefix}
	}
	var destination *destinationIndex
	if r.req.Existing != provider.Unchecked {
		destination = &destinationIndex{stream: r.p.streamBlobs(ctx, r.req.DestinationBucket, r.req.DestinationPrefix, provider.KeyRange{}), prefix: r.req.DestinationPrefix}
	}

	slots := make(chan struct{}, r.concurrency)
	var copies sync.WaitGroup
	dispatchErr := r.dispatch(ctx, abort, source, destination, func(job copyJob) bool {
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

// dispatch walks the source, drops excluded and already copied blobs, and starts the
// rest; start returns false once the copy is stopping.
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
		job := copyJob{srcKey: obj.key, dstKey: r.req.DestinationPrefix + obj.rel, size: obj.size, etag: obj.etag}
		r.total.Add(1)
		r.bytesTotal.Add(job.size)
		if len(job.dstKey) > provider.MaxKeyBytes {
			r.recordFailure(abort, job.srcKey, provider.KeyTooLong("CopyFromURL", job.srcKey, r.req.DestinationBucket, job.dstKey))
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

		var existing *listedBlob
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
		case existing != nil && sameBlob(*existing, job):
			job.file.ETag = existing.metadata.ETag
			r.skipped.Add(1)
			r.stored(job, false)
			r.report()
			continue
		case existing != nil && existing.metadata.Size == job.size:
			job.existing = true
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

// sameBlob reports whether a destination blob already holds job's source: the same
// size and the same identity, or the identity a staged copy recorded.
func sameBlob(dst listedBlob, job copyJob) bool {
	return dst.metadata.Size == job.size && (dst.metadata.ETag == job.etag || dst.sourceETag != "" && dst.sourceETag == job.etag)
}

// listingError returns err unless the listing only ended because the copy is stopping.
func listingError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// handle copies one blob and accounts for the outcome.
func (r *copyRun) handle(ctx context.Context, abort context.CancelCauseFunc, job copyJob) {
	outcome, err := r.copyObject(ctx, &job)
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
		// Stopped, not failed. The service may have completed the request: record the
		// blob if it arrived, so what the copy wrote is never left out of the inventory.
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

// landedAnyway reports whether a blob whose copy was interrupted by cancellation is at
// the destination all the same, with the source's size and identity.
func (r *copyRun) landedAnyway(ctx context.Context, job copyJob) bool {
	if r.req.Stored == nil {
		return false
	}
	check, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	dst, err := r.p.blobProperties(check, r.req.DestinationBucket, job.dstKey)
	if err != nil || !sameBlob(dst, job) {
		return false
	}
	job.file.ETag = dst.metadata.ETag
	return true
}

// keptExisting accounts for a blob not copied because its name exists at the
// destination under SkipExisting: skipped, and neither in Stored nor in Files.
func (r *copyRun) keptExisting(job copyJob) {
	r.skipped.Add(1)
	r.dropFile(job)
}

// stored reports a blob that is now at the destination to req.Stored.
func (r *copyRun) stored(job copyJob, copied bool) {
	if r.req.Stored == nil {
		return
	}
	r.req.Stored(provider.StoredObject{
		SourceKey: job.srcKey, Key: job.dstKey, Size: job.size,
		ETag: job.file.ETag, SourceETag: job.etag, Copied: copied,
	})
}

// dropFile marks the blob's file-list entry as not in the backup.
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
	// Without permission or without a container every other blob fails the same way.
	if kind := provider.KindOf(err); kind == provider.KindAccessDenied || kind == provider.KindNotFound || failures >= maxFailuresBeforeAbort {
		abort(err)
	}
}

// report sends the running totals to the progress callback.
func (r *copyRun) report() {
	if r.req.Progress == nil {
		return
	}
	r.req.Progress(provider.CopyProgress{
		ObjectsTotal: r.total.Load(), ObjectsCopied: r.copied.Load(), ObjectsSkipped: r.skipped.Load(),
		BytesCopied: r.bytesCopied.Load(), ListingDone: r.listingDone.Load(),
	})
}

func (r *copyRun) result() *provider.ObjectStorageCopyResult {
	res := &provider.ObjectStorageCopyResult{
		ObjectsTotal: r.total.Load(), ObjectsCopied: r.copied.Load(), ObjectsSkipped: r.skipped.Load(),
		ObjectsExcluded: r.excluded.Load(), ObjectsFailed: r.failed.Load(), ObjectsVanished: r.vanished.Load(),
		BytesCopied: r.bytesCopied.Load(), BytesTotal: r.bytesTotal.Load(),
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
// the blob failures, in that order.
func (r *copyRun) outcome(parent context.Context, dispatchErr error) error {
	resource := r.req.SourceBucket + "/" + r.req.SourcePrefix
	if err := parent.Err(); err != nil {
		return r.p.classify("CopyObjectStorage", resource, fmt.Errorf("copy stopped: %w", err))
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
		pe = provider.NewError(provider.KindTransient, "CopyObjectStorage", resource, r.firstErr)
	}
	keys := strings.Join(r.failedKeys, ", ")
	return provider.NewError(pe.Kind, pe.Op, r.req.SourceBucket+"/"+r.failedKeys[0], fmt.Errorf(
		"%d objects failed after retries (%s), copy not complete: %w", failed, keys, r.firstErr)).
		WithMessage(fmt.Sprintf("%d objects not copied (%s); first: %s", failed, keys, provider.Describe(r.firstErr)))
}

// destinationIndex answers "is this name already at the destination?" by walking the
// destination listing in step with the source, as the AWS provider does: a name below
// one already looked up is answered "unknown" and checked on its own.
type destinationIndex struct {
	stream  *blobStream
	prefix  string
	current *listedBlob
	rel     string
	done    bool
	last    string
	looked  bool
}

// Lookup returns the destination blob with relative name rel, or nil, with known true;
// known is false for a name the walk has passed.
func (d *destinationIndex) Lookup(rel string) (existing *listedBlob, known bool, err error) {
	if d.looked && rel <= d.last {
		return nil, false, nil
	}
	d.last, d.looked = rel, true
	for !d.done && (d.current == nil || d.rel < rel) {
		b, ok := d.stream.Next()
		if !ok {
			d.done, d.current = true, nil
			return nil, true, d.stream.Err()
		}
		d.current, d.rel = &b, strings.TrimPrefix(b.metadata.Key, d.prefix)
	}
	if d.current != nil && d.rel == rel {
		return d.current, true, nil
	}
	return nil, true, nil
}

// seqSource hands out a caller's list of objects to copy (req.Objects).
type seqSource struct {
	prefix string
	next   func() (provider.CopyItem, error, bool)
	stop   func()
	err    error
}

func newSeqSource(items iter.Seq2[provider.CopyItem, error], prefix string) *seqSource {
	next, stop := iter.Pull2(items)
	return &seqSource{prefix: prefix, next: next, stop: stop}
}

// Next returns the next listed object; the list ends at its first error, at an item
// without a key, or at a key outside the source prefix that names no destination key.
func (s *seqSource) Next() (sourceObject, bool) {
	if s.err != nil {
		return sourceObject{}, false
	}
	item, err, ok := s.next()
	if !ok {
		return sourceObject{}, false
	}
	if err != nil {
		s.err = fmt.Errorf("read the objects to copy: %w", err)
		return sourceObject{}, false
	}
	o := item.Source
	if o.Key == "" {
		s.err = invalidInput("CopyObjectStorage", "", "an object to copy has no source key")
		return sourceObject{}, false
	}
	rel := item.DestinationKey
	if rel == "" {
		var under bool
		if rel, under = strings.CutPrefix(o.Key, s.prefix); !under {
			s.err = invalidInput("CopyObjectStorage", o.Key, fmt.Sprintf("object %s to copy is not under the source prefix %q", o.Key, s.prefix))
			return sourceObject{}, false
		}
	}
	return sourceObject{key: o.Key, rel: rel, size: o.Size, etag: strings.Trim(o.ETag, `"`), modified: o.LastModified}, true
}

func (s *seqSource) Err() error { return s.err }

func firstPositive[T int | int64](values ...T) T {
	for _, v := range values {
		if v > 0 {
			return v
		}
	}
	return 0
}
