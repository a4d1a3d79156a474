package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/repository"
)

// storage is what the Incremental backups hold in the backup bucket.
type storage struct {
	objects, objectBytes     int64 // stored objects of the repository
	refs, refBytes           int64 // reference records
	inventories, invBytes    int64 // inventory parts of every backup
	backups                  int
	totalObjects, totalBytes int64
}

func (s storage) String() string {
	return fmt.Sprintf("%s in %d objects: %d stored objects (%s), %d refs (%s), %d inventory parts of %d backups (%s)",
		human(s.totalBytes), s.totalObjects, s.objects, human(s.objectBytes), s.refs, human(s.refBytes),
		s.inventories, s.backups, human(s.invBytes))
}

// incrementalStorage lists the repository and the Incremental backups' inventories.
func (b *bench) incrementalStorage(ctx context.Context) (storage, error) {
	var s storage
	repo, err := b.list(ctx, backupBucket, b.repo)
	if err != nil {
		return s, err
	}
	for _, o := range repo {
		rel := strings.TrimPrefix(o.Key, b.repo)
		switch {
		case repository.IsStoredKey(rel):
			s.objects++
			s.objectBytes += o.Size
		case strings.HasPrefix(rel, repository.RefsDir), repository.IsListingHintsKey(rel):
			s.refs++
			s.refBytes += o.Size
		default:
			return s, fmt.Errorf("unexpected object %s in the repository", o.Key)
		}
	}
	backups := map[string]bool{}
	invs, err := b.list(ctx, backupBucket, fmt.Sprintf("%s/%s/inc-", projectID, environment))
	if err != nil {
		return s, err
	}
	for _, o := range invs {
		backup, _, ok := strings.Cut(o.Key, layout.InventoryDir)
		if !ok {
			return s, fmt.Errorf("unexpected object %s beside the Incremental backups' inventories", o.Key)
		}
		s.inventories++
		s.invBytes += o.Size
		backups[backup] = true
	}
	s.backups = len(backups)
	s.totalObjects = s.objects + s.refs + s.inventories
	s.totalBytes = s.objectBytes + s.refBytes + s.invBytes
	return s, nil
}

// expire removes the oldest Incremental backups as retention would, inventory
// first and reference record last, then sweeps the repository until nothing
// unreferenced is left.
func (b *bench) expire(ctx context.Context) (phase, phase, repository.SweepResult, error) {
	expired := b.c.nights - b.c.keep
	ex, err := b.measured(func() error {
		for night := 1; night <= expired; night++ {
			prefix := incPrefix(night)
			parts, err := b.viaProxy.ListObjects(ctx, backupBucket, layout.InventoryPrefix(prefix))
			if err != nil {
				return fmt.Errorf("list the inventory of %s: %w", prefix, err)
			}
			keys := make([]string, 0, len(parts))
			for _, p := range parts {
				keys = append(keys, p.Key)
			}
			if _, err := b.viaProxy.DeleteObjects(ctx, backupBucket, keys); err != nil {
				return fmt.Errorf("delete the inventory of %s: %w", prefix, err)
			}
			if _, err := b.viaProxy.DeleteObjects(ctx, backupBucket, []string{b.repo + repository.RefKey(incUID(night))}); err != nil {
				return fmt.Errorf("delete the reference record of %s: %w", prefix, err)
			}
		}
		return nil
	})
	if err != nil {
		return ex, phase{}, repository.SweepResult{}, fmt.Errorf("expire: %w", err)
	}
	logf("expired the %d oldest Incremental backups in %.2fs, %d requests (%s)", expired, ex.seconds, ex.requests.total(), ex.requests)
	var total repository.SweepResult
	passes := 0
	sw, err := b.measured(func() error {
		for {
			res, err := repository.Sweep(ctx, b.viaProxy, backupBucket, b.repo, 0)
			if err != nil {
				return err
			}
			passes++
			total.Backups, total.Referenced, total.Kept = res.Backups, res.Referenced, res.Kept
			total.Deleted += res.Deleted
			total.BytesDeleted += res.BytesDeleted
			if res.Done {
				total.Done = true
				return nil
			}
		}
	})
	if err != nil {
		return ex, sw, total, fmt.Errorf("sweep: %w", err)
	}
	logf("swept in %d passes, %.2fs, %d requests (%s): %d backups read, %d referenced, %d kept, %d deleted (%s)",
		passes, sw.seconds, sw.requests.total(), sw.requests, total.Backups, total.Referenced, total.Kept,
		total.Deleted, human(total.BytesDeleted))
	return ex, sw, total, nil
}

// checkKept checks every entry of every kept Incremental backup's inventory against
// the repository: its stored object must exist with its size. It returns the
// entries checked and those lost.
func (b *bench) checkKept(ctx context.Context) (int64, int64, error) {
	objects, err := b.list(ctx, backupBucket, b.repo+repository.ObjectsDir)
	if err != nil {
		return 0, 0, err
	}
	stored := make(map[string]int64, len(objects))
	for _, o := range objects {
		stored[strings.TrimPrefix(o.Key, b.repo)] = o.Size
	}
	var checked, lost int64
	for night := b.c.nights - b.c.keep + 1; night <= b.c.nights; night++ {
		entries, err := readInventory(ctx, b.direct, backupBucket, incPrefix(night))
		if err != nil {
			return checked, lost, err
		}
		if err := checkEntries(entries, b.snapshots[night], repository.ObjectsDir); err != nil {
			return checked, lost, fmt.Errorf("night %d's inventory: %w", night, err)
		}
		for _, e := range entries {
			checked++
			if size, ok := stored[e.StoredKey]; !ok || size != e.Size {
				lost++
			}
		}
	}
	return checked, lost, nil
}

// restoreRun is the restore of one night's Incremental backup and its check.
type restoreRun struct {
	night           int
	phase           phase
	objects, copied int64
	bytes           int64
	// mismatched counts objects missing, extra, or whose bytes differ from the
	// library of that night.
	mismatched int64
}

// restore copies night's Incremental backup out of the repository to a fresh target
// prefix as a restore does (RestoreItem for each inventory entry), then compares the
// restored keys with the library of that night and every restored object's bytes
// with what the library held.
func (b *bench) restore(ctx context.Context, night int) (restoreRun, error) {
	r := restoreRun{night: night}
	target := fmt.Sprintf("night-%02d/%s", night, sourcePrefix)
	var res *provider.ObjectStorageCopyResult
	p, err := b.measured(func() error {
		entries, err := readInventory(ctx, b.viaProxy, backupBucket, incPrefix(night))
		if err != nil {
			return err
		}
		var itemErr error
		items := func(yield func(provider.CopyItem, error) bool) {
			for _, e := range entries {
				item, err := repository.RestoreItem(b.repo, sourcePrefix, e)
				if err != nil {
					itemErr = err
					yield(provider.CopyItem{}, err)
					return
				}
				if !yield(item, nil) {
					return
				}
			}
		}
		var copyErr error
		res, copyErr = b.viaProxy.CopyObjectStorage(ctx, provider.ObjectStorageCopyRequest{
			SourceBucket: backupBucket, SourcePrefix: b.repo + repository.ObjectsDir,
			DestinationBucket: restoreBucket, DestinationPrefix: target,
			Existing: provider.SkipExisting, Objects: items,
		})
		return errors.Join(copyErr, itemErr)
	})
	r.phase = p
	if err != nil {
		return r, err
	}
	r.copied = res.ObjectsCopied
	restored, err := b.list(ctx, restoreBucket, target)
	if err != nil {
		return r, err
	}
	r.objects = int64(len(restored))
	wanted := make(map[string]expected, len(b.snapshots[night]))
	for _, e := range b.snapshots[night] {
		wanted[target+strings.TrimPrefix(e.key, sourcePrefix)] = e
	}
	var mismatched, total atomic.Int64
	found := 0
	for _, o := range restored {
		if _, ok := wanted[o.Key]; ok {
			found++
		} else {
			mismatched.Add(1) // restored, but not in the library that night
		}
	}
	mismatched.Add(int64(len(wanted) - found)) // in the library, not restored
	err = parallel(ctx, len(restored), func(ctx context.Context, i int) error {
		o := restored[i]
		e, ok := wanted[o.Key]
		if !ok {
			return nil
		}
		sum, n, err := b.sha256Of(ctx, restoreBucket, o.Key)
		if err != nil {
			return err
		}
		total.Add(n)
		if n != e.size || sum != e.sum {
			mismatched.Add(1)
		}
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("compare the restored objects: %w", err)
	}
	r.bytes, r.mismatched = total.Load(), mismatched.Load()
	logf("restored night %d in %.2fs, %d requests (%s): %d objects (%s) compared byte for byte, %d missing, extra or different",
		night, p.seconds, p.requests.total(), p.requests, r.objects, human(r.bytes), r.mismatched)
	return r, b.deletePrefix(ctx, restoreBucket, target)
}

func (b *bench) sha256Of(ctx context.Context, bucket, key string) ([sha256.Size]byte, int64, error) {
	var sum [sha256.Size]byte
	body, err := b.direct.DownloadObject(ctx, bucket, key)
	if err != nil {
		return sum, 0, fmt.Errorf("download s3://%s/%s: %w", bucket, key, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, body)
	if err = errors.Join(err, body.Close()); err != nil {
		return sum, n, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, n, nil
}
