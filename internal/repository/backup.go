package repository

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

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
}

// BackupResult is what an Incremental copy did.
type BackupResult struct {
	// Copy is the provider's account of the objects the repository lacked.
	Copy *provider.ObjectStorageCopyResult
	// ObjectsReferenced and BytesReferenced count objects already stored.
	ObjectsReferenced, BytesReferenced int64
	// ObjectsExcluded counts objects left out by the exclusions.
	ObjectsExcluded int64
	// StoredObjects is how many objects the repository held when the copy started.
	StoredObjects int64
}

// Backup copies to the repository the source objects it does not hold yet and
// reports every object of the backup, copied or referenced, to opts.Record. The
// caller holds the repository's shared lock from before Backup until the entries are
// in the inventory, so no sweep removes an object between the listing of the
// repository and the record that references it.
func Backup(ctx context.Context, prov provider.Provider, opts BackupOptions) (*BackupResult, error) {
	stored, err := storedObjects(ctx, prov, opts.Bucket, opts.Prefix)
	if err != nil {
		return nil, err
	}
	res := &BackupResult{StoredObjects: int64(len(stored))}
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
	var walkErr error
	items := func(yield func(provider.CopyItem, error) bool) {
		for o, err := range provider.WalkSelected(ctx, prov, opts.SourceBucket, opts.SourcePrefix, opts.AsOf, opts.Exclude, &res.ObjectsExcluded) {
			if err != nil {
				walkErr = err
				yield(provider.CopyItem{}, walkErr)
				return
			}
			key := Identity{Bucket: opts.SourceBucket, Key: o.Key, Size: o.Size, ETag: o.ETag, VersionID: o.VersionID}.StoredKey()
			if have, ok := stored[mustParse(key)]; ok && have.size == o.Size {
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
	report()
	if walkErr != nil && copyErr == nil {
		copyErr = walkErr
	}
	return res, copyErr
}

// storedObject is what the repository listing says of a stored object.
type storedObject struct {
	size int64
	etag string
}

// storedObjects lists the repository's stored objects, keyed by digest. Keys that are
// not stored keys are ignored: nothing else is the repository's.
func storedObjects(ctx context.Context, prov provider.Provider, bucket, prefix string) (map[storedID]storedObject, error) {
	stored := map[storedID]storedObject{}
	for o, err := range prov.WalkObjects(ctx, bucket, prefix+ObjectsDir) {
		if err != nil {
			return nil, fmt.Errorf("list the repository s3://%s/%s: %w", bucket, prefix, err)
		}
		if id, ok := parseStoredKey(strings.TrimPrefix(o.Key, prefix)); ok {
			stored[id] = storedObject{size: o.Size, etag: o.ETag}
		}
	}
	return stored, nil
}

func mustParse(key string) storedID {
	id, ok := parseStoredKey(key)
	if !ok {
		panic(errors.New("repository: StoredKey produced an unparsable key " + key))
	}
	return id
}
