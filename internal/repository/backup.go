package repository

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// BackupOptions describe one Incremental copy of a document library.
type BackupOptions struct {
	// SourceBucket and SourcePrefix select the library.
	SourceBucket, SourcePrefix string
	// Exclude leaves objects out by their key relative to SourcePrefix (nil: none).
	Exclude *provider.Excluder
	// AsOf, when set, reads the versions current at that moment (a versioned source
	// bucket); otherwise the current objects.
	AsOf *time.Time
	// Bucket and Prefix locate the repository.
	Bucket, Prefix string
	// Concurrency and MultipartThreshold are passed to the provider's copy.
	Concurrency        int
	MultipartThreshold int64
	// Record receives one entry for every object the backup holds, copied or
	// referenced; it is called concurrently. StoredKey is relative to Prefix.
	Record func(inventory.Entry)
	// Progress, if set, receives running totals, referenced objects included; it
	// must be cheap and safe for concurrent use.
	Progress func(provider.CopyProgress)
	// ResumeTokens are handed to the copy (provider.ObjectStorageCopyRequest.ResumeTokens).
	ResumeTokens map[string]string
	// BackupUID and BackupPrefix name this backup (its reference record and its
	// destination prefix), so the next backup of the library can take its inventory
	// as the index of what the repository holds. Empty: it cannot.
	BackupUID, BackupPrefix string
}

// BackupResult is what an Incremental copy did.
type BackupResult struct {
	// Copy is the provider's account of the objects the repository lacked.
	Copy *provider.ObjectStorageCopyResult
	// ObjectsReferenced and BytesReferenced count objects already stored.
	ObjectsReferenced, BytesReferenced int64
	// ObjectsExcluded counts objects left out by the exclusions.
	ObjectsExcluded int64
	// StoredObjects is how many stored objects the backup knew of when the copy
	// started: the objects of the repository, or of the index.
	StoredObjects int64
	// IndexedBy is the UID of the backup whose inventory was the index of stored
	// objects; empty when the repository was listed.
	IndexedBy string
}

// Backup copies to the repository the source objects it does not hold yet and
// reports every object of the backup, copied or referenced, to opts.Record. The
// caller holds the repository's shared lock from before Backup until the entries are
// in the inventory, so no sweep removes an object between the moment the backup
// learns it is stored and the record that references it.
//
// The library is listed while the backup learns what the repository holds (from the
// last backup's inventory, or a listing: storedIndex), each listing in key ranges
// listed in parallel (listing.go); a library read as of a point in time is listed in
// one range, as a version listing has no start key.
func Backup(ctx context.Context, prov provider.Provider, opts BackupOptions) (*BackupResult, error) {
	hints, err := readListingHints(ctx, prov, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	repo := storedIndex(ctx, prov, opts, hints)
	source := listSource(ctx, prov, opts, hints.Source)
	// Whatever way Backup returns, the listings have stopped before it does.
	defer func() {
		cancel()
		<-repo.done
		for range source.objects {
		}
	}()

	res := &BackupResult{}
	var referenced, referencedBytes atomic.Int64
	var last atomic.Pointer[provider.CopyProgress]
	last.Store(&provider.CopyProgress{})
	report := func() {
		if opts.Progress != nil {
			p := *last.Load()
			p.ObjectsReferenced, p.BytesReferenced = referenced.Load(), referencedBytes.Load()
			p.ObjectsTotal += p.ObjectsReferenced
			opts.Progress(p)
		}
	}
	var listErr error
	items := func(yield func(provider.CopyItem, error) bool) {
		<-repo.done
		if repo.err != nil {
			listErr = repo.err
			yield(provider.CopyItem{}, listErr)
			return
		}
		res.StoredObjects, res.IndexedBy = int64(len(repo.stored)), repo.indexedBy
		for o := range source.objects {
			id := Identity{Bucket: opts.SourceBucket, Key: o.Key, Size: o.Size, ETag: o.ETag, VersionID: o.VersionID}.digest()
			key := id.key()
			if have, ok := repo.stored[id]; ok && have.size == o.Size {
				opts.Record(inventory.Entry{SourceKey: o.Key, StoredKey: key, Size: o.Size, ETag: have.etag,
					SourceETag: o.ETag, SourceVersionID: o.VersionID})
				referenced.Add(1)
				referencedBytes.Add(o.Size)
				report()
				continue
			}
			if !yield(provider.CopyItem{Source: o, DestinationKey: key}, nil) {
				return
			}
		}
		// objects is closed: err is set.
		if source.err != nil {
			listErr = source.err
			yield(provider.CopyItem{}, listErr)
		}
	}
	copied, copyErr := prov.CopyObjectStorage(ctx, provider.ObjectStorageCopyRequest{
		SourceBucket:       opts.SourceBucket,
		SourcePrefix:       opts.SourcePrefix,
		DestinationBucket:  opts.Bucket,
		DestinationPrefix:  opts.Prefix,
		Concurrency:        opts.Concurrency,
		MultipartThreshold: opts.MultipartThreshold,
		Existing:           provider.Unchecked,
		Objects:            items,
		ResumeTokens:       opts.ResumeTokens,
		Progress: func(p provider.CopyProgress) {
			last.Store(&p)
			report()
		},
		Stored: func(o provider.StoredObject) {
			opts.Record(inventory.FromStored(o, opts.Prefix))
		},
	})
	res.Copy = copied
	if res.Copy == nil {
		res.Copy = &provider.ObjectStorageCopyResult{}
	}
	res.ObjectsReferenced, res.BytesReferenced = referenced.Load(), referencedBytes.Load()
	res.ObjectsExcluded = source.excluded.Load()
	report()
	if listErr != nil && copyErr == nil {
		copyErr = listErr
	}
	if copyErr != nil {
		return res, copyErr
	}
	// Both listings ran to their end (the copy took every item), so their bounds are
	// complete. A failed write costs the next backup time, not data: logged, not fatal.
	next := listingHints{Source: source.bounds, Repository: repo.bounds}
	if repo.indexedBy != "" {
		next.Repository = hints.Repository // not listed this time
	}
	if opts.BackupUID != "" && opts.BackupPrefix != "" {
		next.Index = &indexHint{UID: opts.BackupUID, Prefix: opts.BackupPrefix}
	}
	if err := writeListingHints(ctx, prov, opts, next); err != nil {
		logr.FromContextOrDiscard(ctx).Error(err, "the next backup will list without hints", "repository", opts.Prefix)
	}
	return res, nil
}

// repositoryListing is the repository's stored objects, listed in the background.
type repositoryListing struct {
	done chan struct{}
	// Set before done is closed.
	stored map[storedID]storedObject
	bounds []string
	err    error
	// indexedBy is the UID of the backup whose inventory stood for the listing.
	indexedBy string
}

// storedIndex finds out in the background which objects the repository holds: from
// the inventory of the backup the hints name, when its reference record is still
// there, else by listing the repository.
//
// The inventory of a backup with a reference record is a safe index: every object it
// lists was stored before the line was written, and only a sweep deletes a stored
// object, never one an inventory with a reference record lists, and no sweep runs
// while the caller holds the repository's shared lock. An index may lack objects the
// repository holds (another library's, a newer backup's); those are copied again
// under the same key, with the same bytes. Anything that keeps the inventory from
// being read in full makes the backup list the repository instead.
func storedIndex(ctx context.Context, prov provider.Provider, opts BackupOptions, hints listingHints) *repositoryListing {
	l := &repositoryListing{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		if hints.Index != nil {
			stored := map[storedID]storedObject{}
			err := readIndex(ctx, prov, opts, *hints.Index, stored)
			if err == nil {
				l.stored, l.indexedBy = stored, hints.Index.UID
				return
			}
			if ctx.Err() != nil {
				l.err = ctx.Err()
				return
			}
			logr.FromContextOrDiscard(ctx).Info("listing the repository instead of using the last backup's inventory as its index",
				"repository", opts.Prefix, "indexBackup", hints.Index.UID, "reason", err.Error())
		}
		l.stored, l.bounds, l.err = listRepository(ctx, prov, opts, hints.Repository)
	}()
	return l
}

// readIndex reads into stored the objects the inventory of the backup idx names,
// after checking that its reference record is still there and names it.
func readIndex(ctx context.Context, prov provider.Provider, opts BackupOptions, idx indexHint, stored map[storedID]storedObject) error {
	data, err := provider.ReadSmallObject(ctx, prov, opts.Bucket, opts.Prefix+RefKey(idx.UID))
	if err != nil {
		return fmt.Errorf("read the reference record of backup %s: %w", idx.UID, err)
	}
	ref, err := ParseRef(data)
	if err != nil {
		return err
	}
	if ref.UID != idx.UID || ref.Prefix != idx.Prefix {
		return fmt.Errorf("the reference record of backup %s names %s at %s", idx.UID, ref.UID, ref.Prefix)
	}
	return eachInventoryEntry(ctx, prov, opts.Bucket, ref.Prefix, func(e inventory.Entry) {
		if id, ok := parseStoredKey(e.StoredKey); ok {
			stored[id] = storedObject{size: e.Size, etag: e.ETag}
		}
	})
}

// listRepository lists the repository's stored objects, keyed by digest, in the ranges
// of bounds (relative to the repository prefix; none: by the first hex digit), and
// returns the bounds for the next listing. Keys that are not stored keys are ignored:
// nothing else is the repository's.
func listRepository(ctx context.Context, prov provider.Provider, opts BackupOptions, bounds []string) (map[storedID]storedObject, []string, error) {
	if len(bounds) == 0 {
		bounds = defaultRepositoryBounds
	}
	full := make([]string, len(bounds))
	for i, b := range bounds {
		full[i] = opts.Prefix + b
	}
	stored := map[storedID]storedObject{}
	var mu sync.Mutex
	next, err := listRanges(ctx, full, func(ctx context.Context, r provider.KeyRange) iter.Seq2[provider.ObjectMetadata, error] {
		return prov.WalkObjects(ctx, opts.Bucket, opts.Prefix+ObjectsDir, r)
	}, func(o provider.ObjectMetadata) error {
		if id, ok := parseStoredKey(strings.TrimPrefix(o.Key, opts.Prefix)); ok {
			mu.Lock()
			stored[id] = storedObject{size: o.Size, etag: o.ETag}
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list the repository s3://%s/%s: %w", opts.Bucket, opts.Prefix, err)
	}
	var nextRel []string
	for _, b := range next {
		nextRel = append(nextRel, strings.TrimPrefix(b, opts.Prefix))
	}
	return stored, nextRel, nil
}

// sourceListing is the library's objects a backup holds, listed in the background.
type sourceListing struct {
	// objects is closed once the listing ends; err and bounds are set before.
	objects  chan provider.ObjectMetadata
	excluded atomic.Int64
	bounds   []string
	err      error
}

// sourceAhead is how many listed objects wait for the repository's listing to end.
const sourceAhead = 8192

// listSource lists the library, in the ranges of bounds unless it is read as of a
// point in time, less the objects opts.Exclude leaves out.
func listSource(ctx context.Context, prov provider.Provider, opts BackupOptions, bounds []string) *sourceListing {
	l := &sourceListing{objects: make(chan provider.ObjectMetadata, sourceAhead)}
	walk := func(ctx context.Context, r provider.KeyRange) iter.Seq2[provider.ObjectMetadata, error] {
		return prov.WalkObjects(ctx, opts.SourceBucket, opts.SourcePrefix, r)
	}
	if opts.AsOf != nil {
		bounds = nil
		walk = func(ctx context.Context, _ provider.KeyRange) iter.Seq2[provider.ObjectMetadata, error] {
			return prov.WalkObjectsAsOf(ctx, opts.SourceBucket, opts.SourcePrefix, *opts.AsOf)
		}
	}
	go func() {
		defer close(l.objects)
		next, err := listRanges(ctx, bounds, walk, func(o provider.ObjectMetadata) error {
			if opts.Exclude.Excluded(strings.TrimPrefix(o.Key, opts.SourcePrefix)) {
				l.excluded.Add(1)
				return nil
			}
			select {
			case l.objects <- o:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if err != nil {
			l.err = fmt.Errorf("list s3://%s/%s: %w", opts.SourceBucket, opts.SourcePrefix, err)
			return
		}
		l.bounds = next
	}()
	return l
}

// storedObject is what the repository listing says of a stored object.
type storedObject struct {
	size int64
	etag string
}
