package controller

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/artifact"
	"github.com/liferay/lc2-backup-controller/internal/copyjob"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/repository"
)

// reconcileRestoreFiles copies the backup's objects, as its inventory lists them, back
// to their original keys under the target prefix, as a background job with the same
// copy engine as backups, and refreshes status.documentLibrary every ProgressInterval.
// It owns the DocumentLibraryRestored condition and status.documentLibrary.
//
// Existing keys: Refuse and Skip never write over a key that exists at the target
// (SkipExisting), so a restore resumed after a restart does not copy again what is in
// place, and Skip touches nothing that was there; Overwrite replaces what differs.
//
// The restore records every key it wrote (the Stored calls with Copied) in its own
// inventory under its record prefix in the backup's bucket (restoreRecord), so that
// cancelling removes exactly those keys. In Overwrite mode a written key may have
// replaced an object that was there before, which the restore cannot give back:
// it records nothing deletable, and cancelling an Overwrite restore removes no object.
func (r *RestoreRequestReconciler) reconcileRestoreFiles(ctx context.Context, s *restoreScope) (stepResult, error) {
	rr, st := s.rr, s.status()
	dl := rr.Spec.DocumentLibrary
	if dl == nil || rr.Spec.VerifyOnly || st.IsConditionTrue(backupv1alpha1.ConditionDocumentLibraryRestored) {
		return stepDone, nil
	}
	rec := recordOf(rr)
	job, running := r.jobs.Get(rr.UID)
	if !running {
		var err error
		if job, err = r.startRestoreCopy(ctx, s, rec); err != nil {
			return stepResult{}, err
		}
	}

	finished, result, copyErr := job.Done()
	if !finished {
		p := job.Progress()
		st.DocumentLibrary.ObjectsRestored, st.DocumentLibrary.ObjectsSkipped, st.DocumentLibrary.BytesRestored = p.ObjectsCopied, p.ObjectsSkipped, p.BytesCopied
		return stepResult{requeueAfter: r.Options.ProgressInterval}, nil
	}
	if copyErr != nil {
		r.jobs.Forget(rr.UID) // the next pass starts the copy again
		r.observeCall("CopyObjectStorage", copyErr)
		return stepResult{}, fmt.Errorf("restore document library: %w", copyErr)
	}
	return r.finishRestoreCopy(ctx, s, rec, result.Copy)
}

// startRestoreCopy claims the restore record, marks the document library as being
// restored and starts the background copy job.
func (r *RestoreRequestReconciler) startRestoreCopy(ctx context.Context, s *restoreScope, rec restoreRecord) (*copyjob.Job, error) {
	rr, st := s.rr, s.status()
	dl := rr.Spec.DocumentLibrary
	if err := r.claimRecord(ctx, s, rec); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("copying %d objects of backup %s to s3://%s/%s (existing objects: %s)",
		st.Source.Objects, st.Source.BackupID, dl.TargetBucket, dl.TargetKeyPrefix(), existingPolicy(dl))
	st.SetCondition(backupv1alpha1.ConditionDocumentLibraryRestored, metav1.ConditionFalse, backupv1alpha1.ReasonRestoringFiles, msg, s.now)
	if st.DocumentLibrary == nil {
		st.DocumentLibrary = &backupv1alpha1.DocumentLibraryRestoreStatus{ObjectsTotal: st.Source.Objects}
	}
	st.DocumentLibrary.RecordLocation = rec.location()
	job := r.jobs.Start(ctx, rr.UID, event.GenericEvent{Object: rr.DeepCopy()}, r.restoreCopyFunc(rr, s.prov, s.src, rec))
	s.after(func() {
		r.recorder().normal(rr, backupv1alpha1.ReasonRestoringFiles, "RestoreDocumentLibrary", "Document library restore: %s", msg)
	})
	return job, nil
}

// finishRestoreCopy stores the result of a copy job that succeeded: every object of
// the backup must be restored or skipped, or the restore fails.
func (r *RestoreRequestReconciler) finishRestoreCopy(ctx context.Context, s *restoreScope, rec restoreRecord, res *provider.ObjectStorageCopyResult) (stepResult, error) {
	rr, st := s.rr, s.status()
	dl := rr.Spec.DocumentLibrary
	st.DocumentLibrary.ObjectsRestored, st.DocumentLibrary.ObjectsSkipped, st.DocumentLibrary.BytesRestored = res.ObjectsCopied, res.ObjectsSkipped, res.BytesCopied
	if done := res.ObjectsCopied + res.ObjectsSkipped; done != st.Source.Objects {
		r.jobs.Forget(rr.UID)
		r.observeCall("CopyObjectStorage", nil)
		return stepResult{}, failWith(backupv1alpha1.ReasonCopyFailed,
			"the backup holds %d objects but the copy restored %d and skipped %d (%d listed by the inventory are missing from the backup; verify it with spec.verifyOnly)",
			st.Source.Objects, res.ObjectsCopied, res.ObjectsSkipped, res.ObjectsVanished)
	}
	if policy := existingPolicy(dl); policy != backupv1alpha1.ExistingObjectsOverwrite {
		// A run resumed after a restart sees what earlier runs wrote as already there;
		// the record, kept across runs, says what this restore wrote in all of them.
		restored, bytes, err := r.recordTotals(ctx, s.prov, rec)
		if err != nil {
			return stepResult{}, err
		}
		st.DocumentLibrary.ObjectsRestored, st.DocumentLibrary.BytesRestored = restored, bytes
		st.DocumentLibrary.ObjectsSkipped = st.Source.Objects - restored
	}
	msg := fmt.Sprintf("%d objects of the backup at s3://%s/%s: %d restored (%s), %d already there and left as they were",
		st.Source.Objects, dl.TargetBucket, dl.TargetKeyPrefix(), st.DocumentLibrary.ObjectsRestored,
		manifest.HumanBytes(st.DocumentLibrary.BytesRestored), st.DocumentLibrary.ObjectsSkipped)
	st.SetCondition(backupv1alpha1.ConditionDocumentLibraryRestored, metav1.ConditionTrue, backupv1alpha1.ReasonFilesRestored, msg, s.now)
	restored, restoredBytes := st.DocumentLibrary.ObjectsRestored, st.DocumentLibrary.BytesRestored
	s.after(func() {
		// The finished job is kept until its result is stored: a pass whose status write
		// conflicts must find it again, not copy a second time and count only that run.
		r.jobs.Forget(rr.UID)
		r.observeCall("CopyObjectStorage", nil)
		if r.Metrics != nil {
			// What status says this restore wrote, in all its runs.
			r.Metrics.Restored(rr, restored, restoredBytes)
		}
		r.recorder().normal(rr, backupv1alpha1.ReasonFilesRestored, "RestoreDocumentLibrary", "Document library restored: %s", msg)
	})
	return stepDone, nil
}

func existingPolicy(dl *backupv1alpha1.DocumentLibraryRestoreSpec) backupv1alpha1.ExistingObjectsPolicy {
	if dl.ExistingObjects == "" {
		return backupv1alpha1.ExistingObjectsRefuse
	}
	return dl.ExistingObjects
}

// restoreCopyFunc captures what the copy job needs. The source objects come from the
// backup's inventory, verified part by part as they are read; each key is copied to
// targetPrefix + its key relative to the backup's data/ prefix (its original key
// relative to the source prefix of the backup).
func (r *RestoreRequestReconciler) restoreCopyFunc(rr *backupv1alpha1.RestoreRequest, prov provider.Provider, src *loadedSource, rec restoreRecord) copyjob.Func {
	dl := rr.Spec.DocumentLibrary
	policy := existingPolicy(dl)
	req := provider.ObjectStorageCopyRequest{
		SourceBucket:       src.dataBucket(),
		SourcePrefix:       src.objectsPrefix(),
		DestinationBucket:  string(dl.TargetBucket),
		DestinationPrefix:  dl.TargetKeyPrefix(),
		Concurrency:        r.Options.CopyConcurrency,
		MultipartThreshold: r.Options.MultipartThreshold,
		Existing:           provider.SkipExisting,
	}
	if policy == backupv1alpha1.ExistingObjectsOverwrite {
		req.Existing = provider.Overwrite
	}
	run := layout.RunID(r.Clock.Now())
	clk := r.Clock
	return func(ctx context.Context, progress func(provider.CopyProgress)) (*copyjob.Result, error) {
		var objErr error
		req.Objects = r.restoreCopyItems(ctx, prov, src, &objErr)
		req.Progress = progress
		var inv *inventory.Writer
		// The record outlives a cancelled copy: what was written must be recorded.
		invCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), inventoryFlushTimeout)
		defer cancel()
		if policy != backupv1alpha1.ExistingObjectsOverwrite {
			inv = inventory.NewWriter(prov, rec.bucket, rec.prefix, run, clk)
			req.Stored = func(o provider.StoredObject) {
				if !o.Copied {
					return // there before this run: possibly not ours, never recorded as deletable
				}
				inv.Add(invCtx, inventory.FromStored(o, ""))
			}
		}
		res, copyErr := prov.CopyObjectStorage(ctx, req)
		var summary inventory.Summary
		var invErr error
		if inv != nil {
			summary, invErr = inv.Close(invCtx)
		}
		if res == nil {
			res = &provider.ObjectStorageCopyResult{}
		}
		var f *failure
		if errors.As(objErr, &f) {
			copyErr = objErr // the inventory did not verify: a verdict, not a transient error
		}
		return &copyjob.Result{Copy: res, Inventory: summary}, errors.Join(copyErr, invErr)
	}
}

// restoreCopyItems lists what the copy job copies: each inventory entry's object in
// the backup, or for an incremental backup its object in the repository. The first
// error it yields is also left in *objErr, so the job can tell an inventory that did
// not verify (a verdict) from a failed copy.
func (r *RestoreRequestReconciler) restoreCopyItems(ctx context.Context, prov provider.Provider, src *loadedSource, objErr *error) iter.Seq2[provider.CopyItem, error] {
	// stored is where the backup's objects are: StoredObjectKey of each entry.
	stored := src.manifest.DocumentLibrary
	return func(yield func(provider.CopyItem, error) bool) {
		for e, err := range src.inventoryEntries(ctx, r, prov) {
			if err != nil {
				*objErr = err
				yield(provider.CopyItem{}, err)
				return
			}
			item := provider.CopyItem{Source: provider.ObjectMetadata{Key: stored.StoredObjectKey(e.StoredKey), Size: e.Size, ETag: e.ETag}}
			if stored.Incremental() {
				if item, err = repository.RestoreItem(stored.RepositoryPrefix, stored.SourcePrefix, e); err != nil {
					*objErr = failWith(backupv1alpha1.ReasonChecksumMismatch, "%v; the backup is not trusted", err)
					yield(provider.CopyItem{}, *objErr)
					return
				}
			}
			if !yield(item, nil) {
				return
			}
		}
	}
}

// restoreRecord is where a restore keeps the record of what it wrote: a claim-like
// record (claim.json naming the RestoreRequest) and inventory parts listing every
// target key it wrote (StoredKey: the key in the target bucket; SourceKey: the
// backup's key), under <projectId>/.restores/<namespace>/<name>-<uid>/ in the backup's
// bucket. The location derives from the restore alone, so cancelling finds it even
// when status.documentLibrary.recordLocation was never stored. Parts accumulate
// across runs (one run per controller start).
type restoreRecord struct {
	bucket, prefix string
	// target is the bucket the recorded keys are in, targetPrefix the prefix every one
	// of them begins with (the restore writes nothing else).
	target, targetPrefix string
}

func recordOf(rr *backupv1alpha1.RestoreRequest) restoreRecord {
	var rec restoreRecord
	if src := rr.Status.Source; src != nil {
		rec.bucket, _, _ = provider.ParseObjectURL(src.ManifestLocation)
		rec.prefix = fmt.Sprintf("%s%s/%s-%s/", restoresPrefix(src.ProjectID), rr.Namespace, rr.Name, rr.UID)
	}
	if dl := rr.Spec.DocumentLibrary; dl != nil {
		rec.target, rec.targetPrefix = string(dl.TargetBucket), dl.TargetKeyPrefix()
	}
	return rec
}

func (rec restoreRecord) location() string { return fmt.Sprintf("s3://%s/%s", rec.bucket, rec.prefix) }

// claimRecord writes the record's claim once; a claim of another restore at the
// same place (never expected: the place contains the UID) is a refusal.
func (r *RestoreRequestReconciler) claimRecord(ctx context.Context, s *restoreScope, rec restoreRecord) error {
	rr := s.rr
	claim, err := artifact.ReadClaim(ctx, s.prov, rec.bucket, rec.prefix)
	r.observeCall("DownloadObject", err)
	if err != nil {
		return fmt.Errorf("read restore record %s: %w", rec.location(), err)
	}
	if claim != nil {
		if claim.UID != string(rr.UID) {
			return failWith(backupv1alpha1.ReasonDestinationInUse, "the restore record %s belongs to %s/%s", rec.location(), claim.Namespace, claim.Name)
		}
		return nil
	}
	data, err := (&layout.Claim{
		Version: layout.ClaimVersion, BackupID: rr.Status.Source.BackupID, UID: string(rr.UID), Namespace: rr.Namespace, Name: rr.Name,
		ProjectID: rr.Status.Source.ProjectID, Environment: rr.Status.Source.Environment, ClaimedAt: s.now.UTC(),
	}).Marshal()
	if err != nil {
		return err
	}
	err = s.prov.UploadObject(ctx, rec.bucket, layout.ClaimKey(rec.prefix), data)
	r.observeCall("UploadObject", err)
	if err != nil {
		return fmt.Errorf("write restore record %s: %w", rec.location(), err)
	}
	return nil
}

// recordTotals counts the objects and bytes the record lists: what this restore wrote,
// in every run.
func (r *RestoreRequestReconciler) recordTotals(ctx context.Context, prov provider.Provider, rec restoreRecord) (objects, bytes int64, err error) {
	err = r.recordedEntries(ctx, prov, rec, func(_ string, entries []inventory.Entry) error {
		for _, e := range entries {
			objects++
			bytes += e.Size
		}
		return nil
	})
	return objects, bytes, err
}

// recordedEntries calls fn with each inventory part of the record and the entries it
// lists (StoredKey: the key the restore wrote in the target bucket).
func (r *RestoreRequestReconciler) recordedEntries(ctx context.Context, prov provider.Provider, rec restoreRecord, fn func(partKey string, entries []inventory.Entry) error) error {
	parts, err := prov.ListObjects(ctx, rec.bucket, layout.InventoryPrefix(rec.prefix))
	r.observeCall("ListObjects", err)
	if err != nil {
		return fmt.Errorf("list the restore record %s: %w", rec.location(), err)
	}
	for _, p := range parts {
		if !layout.IsPartKey(strings.TrimPrefix(p.Key, rec.prefix)) {
			continue
		}
		data, err := provider.ReadSmallObject(ctx, prov, rec.bucket, p.Key)
		if provider.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read restore record part: %w", err)
		}
		var entries []inventory.Entry
		var foreign error
		if _, err := inventory.Read(data, func(e inventory.Entry) error {
			// Refused, not skipped: a key the restore cannot have written is an error
			// someone must see, and the part's objects are kept.
			if !strings.HasPrefix(e.StoredKey, rec.targetPrefix) {
				foreign = fmt.Errorf("restore record part s3://%s/%s lists s3://%s/%s, which is not under the target prefix %q, so the objects it lists are kept",
					rec.bucket, p.Key, rec.target, e.StoredKey, rec.targetPrefix)
				return foreign
			}
			entries = append(entries, e)
			return nil
		}); foreign != nil {
			return foreign
		} else if err != nil {
			return fmt.Errorf("restore record part s3://%s/%s is unreadable, so its objects are kept: %w", rec.bucket, p.Key, err)
		}
		if err := fn(p.Key, entries); err != nil {
			return err
		}
	}
	return nil
}
