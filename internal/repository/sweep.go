package repository

import (
	"context"
	"fmt"
	"strings"

	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// deleteBatch is how many keys one DeleteObjects call removes (S3's limit).
const deleteBatch = 1000

// DefaultMaxDeletes bounds the objects one Sweep call removes, so a sweep of a huge
// repository is a series of short passes, each resumable after a restart.
const DefaultMaxDeletes = 10000

// SweepResult is what one Sweep call found and did.
type SweepResult struct {
	// Backups is the number of reference records read; Referenced the distinct
	// stored objects their inventories reference.
	Backups, Referenced int64
	// Kept counts stored objects left because an inventory references them.
	Kept int64
	// Deleted and BytesDeleted count stored objects removed in this call.
	Deleted, BytesDeleted int64
	// Done is false when the call stopped at its bound with more to remove.
	Done bool
}

// Sweep removes the repository's stored objects that no backup's inventory
// references (mark and sweep). The mark reads every inventory part under the prefix
// of every reference record, all runs included, so a resumed backup's earlier runs
// count too; an unreadable record or part stops the sweep before it deletes anything.
// It deletes at most maxDeletes objects (0: DefaultMaxDeletes) and only keys that are
// stored keys of this repository. The caller holds the repository's exclusive lock.
func Sweep(ctx context.Context, prov provider.Provider, bucket, prefix string, maxDeletes int) (*SweepResult, error) {
	if maxDeletes <= 0 {
		maxDeletes = DefaultMaxDeletes
	}
	res := &SweepResult{}
	marked, err := mark(ctx, prov, bucket, prefix, res)
	if err != nil {
		return res, err
	}
	res.Referenced = int64(len(marked))
	var batch []string
	var batchBytes int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := prov.DeleteObjects(ctx, bucket, batch); err != nil {
			return fmt.Errorf("delete %d unreferenced objects of s3://%s/%s: %w", len(batch), bucket, prefix, err)
		}
		res.Deleted += int64(len(batch))
		res.BytesDeleted += batchBytes
		batch, batchBytes = batch[:0], 0
		return nil
	}
	for o, err := range prov.WalkObjects(ctx, bucket, prefix+ObjectsDir, provider.KeyRange{}) {
		if err != nil {
			return res, fmt.Errorf("list the repository s3://%s/%s: %w", bucket, prefix, err)
		}
		id, ok := parseStoredKey(strings.TrimPrefix(o.Key, prefix))
		if !ok {
			continue // not a stored object: not ours to delete
		}
		if _, referenced := marked[id]; referenced {
			res.Kept++
			continue
		}
		if res.Deleted+int64(len(batch)) >= int64(maxDeletes) {
			return res, flush() // Done stays false: more to remove in the next call
		}
		batch = append(batch, o.Key)
		batchBytes += o.Size
		if len(batch) == deleteBatch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	if res.Backups == 0 {
		// No backup is left to list the library again: the listing hints go with the
		// last stored object, so a repository no backup uses is empty.
		if err := removeListingHints(ctx, prov, bucket, prefix); err != nil {
			return res, err
		}
	}
	res.Done = true
	return res, nil
}

// removeListingHints deletes the repository's listing hints.
func removeListingHints(ctx context.Context, prov provider.Provider, bucket, prefix string) error {
	listed, err := prov.ListObjects(ctx, bucket, prefix+ListingDir)
	if err != nil {
		return fmt.Errorf("list the listing hints of s3://%s/%s: %w", bucket, prefix, err)
	}
	var keys []string
	for _, o := range listed {
		if IsListingHintsKey(strings.TrimPrefix(o.Key, prefix)) {
			keys = append(keys, o.Key)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if _, err := prov.DeleteObjects(ctx, bucket, keys); err != nil {
		return fmt.Errorf("delete the listing hints of s3://%s/%s: %w", bucket, prefix, err)
	}
	return nil
}

// mark returns the stored objects referenced by the inventory of any backup with a
// reference record in the repository.
func mark(ctx context.Context, prov provider.Provider, bucket, prefix string, res *SweepResult) (map[storedID]struct{}, error) {
	marked := map[storedID]struct{}{}
	refs, err := prov.ListObjects(ctx, bucket, prefix+RefsDir)
	if err != nil {
		return nil, fmt.Errorf("list the references of s3://%s/%s: %w", bucket, prefix, err)
	}
	for _, o := range refs {
		data, err := provider.ReadSmallObject(ctx, prov, bucket, o.Key)
		if provider.IsNotFound(err) {
			continue // removed since the listing: that backup's inventory is going too
		}
		if err != nil {
			return nil, fmt.Errorf("read repository reference: %w", err)
		}
		ref, err := ParseRef(data)
		if err != nil {
			return nil, fmt.Errorf("repository reference s3://%s/%s is unreadable, so nothing is swept: %w", bucket, o.Key, err)
		}
		res.Backups++
		if err := markInventory(ctx, prov, bucket, prefix, ref.Prefix, marked); err != nil {
			return nil, err
		}
	}
	return marked, nil
}

// markInventory marks every stored object listed by the inventory parts under
// backupPrefix.
func markInventory(ctx context.Context, prov provider.Provider, bucket, prefix, backupPrefix string, marked map[storedID]struct{}) error {
	err := eachInventoryEntry(ctx, prov, bucket, backupPrefix, func(e inventory.Entry) {
		if id, ok := parseStoredKey(e.StoredKey); ok {
			marked[id] = struct{}{}
		}
	})
	if err != nil {
		return fmt.Errorf("%w, so nothing is swept", err)
	}
	return nil
}

// eachInventoryEntry calls fn for every entry of the inventory parts under
// backupPrefix, all runs included. A part removed since the listing is skipped: its
// backup is being removed.
func eachInventoryEntry(ctx context.Context, prov provider.Provider, bucket, backupPrefix string, fn func(inventory.Entry)) error {
	parts, err := prov.ListObjects(ctx, bucket, layout.InventoryPrefix(backupPrefix))
	if err != nil {
		return fmt.Errorf("list the inventory of s3://%s/%s: %w", bucket, backupPrefix, err)
	}
	for _, p := range parts {
		if !layout.IsPartKey(strings.TrimPrefix(p.Key, backupPrefix)) {
			continue
		}
		data, err := provider.ReadSmallObject(ctx, prov, bucket, p.Key)
		if provider.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read inventory part: %w", err)
		}
		if _, err := inventory.Read(data, func(e inventory.Entry) error {
			fn(e)
			return nil
		}); err != nil {
			return fmt.Errorf("inventory part s3://%s/%s is unreadable: %w", bucket, p.Key, err)
		}
	}
	return nil
}

// RestoreItem is the copy of one inventory entry of an Incremental backup back to the
// key it had, relative to the backup's source prefix. Keys are opaque strings: a ".."
// segment in rel is part of the key written under the target prefix, as the backup
// read it, and cannot leave that prefix.
func RestoreItem(prefix, sourcePrefix string, e inventory.Entry) (provider.CopyItem, error) {
	rel, ok := strings.CutPrefix(e.SourceKey, sourcePrefix)
	if !ok || rel == "" || !IsStoredKey(e.StoredKey) {
		return provider.CopyItem{}, fmt.Errorf("inventory entry %q -> %q is not an object of the repository under the source prefix %q",
			e.SourceKey, e.StoredKey, sourcePrefix)
	}
	return provider.CopyItem{Source: provider.ObjectMetadata{Key: prefix + e.StoredKey, Size: e.Size, ETag: e.ETag}, DestinationKey: rel}, nil
}
