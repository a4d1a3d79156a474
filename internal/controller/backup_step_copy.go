package controller

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sigs.k8s.io/controller-runtime/pkg/event"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/copyjob"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// reconcileCopy runs the document-library copy as a background job and refreshes
// status.documentLibrary every ProgressInterval until the job ends. After a restart
// the job is simply started again: the provider skips objects already copied, and
// resumes the multi-call copies under way from the tokens status recorded. It
// owns the DocumentLibraryCopied condition and status.documentLibrary. What differs
// by mode is asked of the backup's copyStrategy.
func (r *BackupRequestReconciler) reconcileCopy(ctx context.Context, s *backupScope) (stepResult, error) {
	br, st := s.br, s.status()
	if br.Spec.DocumentLibrary == nil || st.IsConditionTrue(backupv1alpha1.ConditionDocumentLibraryCopied) {
		return stepDone, nil
	}
	strategy := r.strategyFor(br)
	job, running := r.jobs.Get(br.UID)
	if !running {
		waiting, err := strategy.reserve(ctx)
		if err != nil {
			return stepResult{}, err
		}
		if waiting != "" {
			st.SetCondition(backupv1alpha1.ConditionDocumentLibraryCopied, metav1.ConditionFalse, backupv1alpha1.ReasonWaitingForRepository, waiting, s.now)
			return stepResult{requeueAfter: r.Options.ProgressInterval}, nil
		}
		job = r.startCopy(ctx, s, strategy)
	}
	finished, result, copyErr := job.Done()
	if !finished {
		recordCopyProgress(st, job.Progress())
		return stepResult{requeueAfter: r.Options.ProgressInterval}, nil
	}
	if err := strategy.release(ctx); err != nil {
		return stepResult{}, err
	}
	if err := r.checkCopy(br, result, copyErr); err != nil {
		return stepResult{}, err
	}
	r.recordCopied(s, strategy, result)
	return stepDone, nil
}

// startCopy starts the copy job, saying where it copies to.
func (r *BackupRequestReconciler) startCopy(ctx context.Context, s *backupScope, strategy copyStrategy) *copyjob.Job {
	br, dl := s.br, s.br.Spec.DocumentLibrary
	s.status().SetCondition(backupv1alpha1.ConditionDocumentLibraryCopied, metav1.ConditionFalse, backupv1alpha1.ReasonCopying,
		fmt.Sprintf("copying s3://%s/%s to s3://%s/%s", dl.SourceBucket, dl.SourceKeyPrefix(), dl.DestinationBucket, strategy.target()), s.now)
	job := r.jobs.Start(ctx, br.UID, event.GenericEvent{Object: br.DeepCopy()}, r.copyFunc(br, s.prov))
	s.after(func() {
		r.recorder().normal(br, backupv1alpha1.ReasonCopying, "CopyDocumentLibrary", "Copying document library from s3://%s/%s", dl.SourceBucket, dl.SourceKeyPrefix())
	})
	return job
}

// recordCopyProgress puts a running copy's counts in status, and the store's resume
// tokens of the objects under way (in key order), which a restarted copy hands back.
func recordCopyProgress(st *backupv1alpha1.BackupRequestStatus, p provider.CopyProgress) {
	counts := backupv1alpha1.DocumentLibraryBackupStatus{
		ObjectsTotal: p.ObjectsTotal, ObjectsCopied: p.ObjectsCopied, ObjectsSkipped: p.ObjectsSkipped, BytesCopied: p.BytesCopied,
		ObjectsReferenced: p.ObjectsReferenced, BytesReferenced: p.BytesReferenced,
	}
	// Nothing counted yet (the job just started) is not worth a write.
	started := p.ObjectsTotal > 0 || p.ObjectsCopied > 0 || p.ObjectsSkipped > 0 || p.BytesCopied > 0 ||
		p.ObjectsReferenced > 0 || p.BytesReferenced > 0 || len(p.ResumeTokens) > 0
	if st.DocumentLibrary == nil && !started {
		return
	}
	for _, key := range slices.Sorted(maps.Keys(p.ResumeTokens)) {
		counts.ResumeTokens = append(counts.ResumeTokens, backupv1alpha1.CopyResumeToken{Key: key, Token: p.ResumeTokens[key]})
	}
	st.DocumentLibrary = &counts
}

// resumeTokensOf are the resume tokens the last progress write of br's copy recorded,
// by destination key: what a copy started again after a restart resumes from.
func resumeTokensOf(br *backupv1alpha1.BackupRequest) map[string]string {
	dl := br.Status.DocumentLibrary
	if dl == nil || len(dl.ResumeTokens) == 0 {
		return nil
	}
	tokens := make(map[string]string, len(dl.ResumeTokens))
	for _, t := range dl.ResumeTokens {
		tokens[t.Key] = t.Token
	}
	return tokens
}

// checkCopy refuses a finished copy that failed, or whose inventory does not list
// what it stored; the job is forgotten so the next pass starts the copy again.
func (r *BackupRequestReconciler) checkCopy(br *backupv1alpha1.BackupRequest, result *copyjob.Result, copyErr error) error {
	dl := br.Spec.DocumentLibrary
	if copyErr != nil {
		r.jobs.Forget(br.UID) // the next pass starts the copy again
		r.observeCall("CopyObjectStorage", copyErr)
		return fmt.Errorf("copy document library: %w", copyErr)
	}
	res, inv := result.Copy, result.Inventory
	if stored := res.ObjectsCopied + res.ObjectsSkipped + result.ObjectsReferenced; inv.Objects != stored {
		r.jobs.Forget(br.UID)
		mismatch := failWith(backupv1alpha1.ReasonCopyFailed,
			"the inventory lists %d objects but the copy stored %d; the backup is not trusted", inv.Objects, stored)
		// copyErr is nil here: the call is counted as the failure it is.
		r.observeCall("CopyObjectStorage", provider.NewError(provider.KindInvalidState, "CopyObjectStorage",
			string(dl.SourceBucket)+"/"+dl.SourceKeyPrefix(), mismatch))
		return mismatch
	}
	return nil
}

// recordCopied records a finished, checked copy: status.documentLibrary, the
// DocumentLibraryCopied condition, and after the status write the metrics and event.
func (r *BackupRequestReconciler) recordCopied(s *backupScope, strategy copyStrategy, result *copyjob.Result) {
	br, st := s.br, s.status()
	res, inv := result.Copy, result.Inventory
	// Totals are what the inventory lists: exactly what the backup holds.
	st.DocumentLibrary = &backupv1alpha1.DocumentLibraryBackupStatus{
		ObjectsTotal: inv.Objects, ObjectsCopied: res.ObjectsCopied, ObjectsSkipped: res.ObjectsSkipped,
		ObjectsExcluded: res.ObjectsExcluded, BytesCopied: res.BytesCopied, TotalSizeBytes: inv.Bytes,
		ObjectsReferenced: result.ObjectsReferenced, BytesReferenced: result.BytesReferenced,
		InventoryRun: inv.Run, Consistency: backupv1alpha1.ConsistencyLive,
	}
	msg := strategy.describeCopy(st.DocumentLibrary, result)
	if res.ObjectsVanished > 0 {
		msg += fmt.Sprintf(", %d deleted from the source while the copy ran", res.ObjectsVanished)
	}
	if t := result.PointInTime; t != nil {
		st.DocumentLibrary.Consistency, st.DocumentLibrary.PointInTime = backupv1alpha1.ConsistencyPointInTime, &metav1.Time{Time: *t}
		msg += "; every file as it was at " + t.UTC().Format(time.RFC3339)
	} else {
		msg += "; the source bucket is not versioned, so the files are as they were during the copy (not point-in-time)"
	}
	st.SetCondition(backupv1alpha1.ConditionDocumentLibraryCopied, metav1.ConditionTrue, backupv1alpha1.ReasonCopied, msg, s.now)
	s.after(func() {
		// The finished job is kept until its result is stored: a pass whose status write
		// conflicts must find it again, not copy a second time and count only that run.
		r.jobs.Forget(br.UID)
		r.observeCall("CopyObjectStorage", nil)
		if r.Metrics != nil {
			r.Metrics.Copied(br, res.ObjectsCopied, res.BytesCopied)
			if result.ObjectsReferenced > 0 {
				r.Metrics.Referenced(br, result.ObjectsReferenced, result.BytesReferenced)
			}
		}
		r.recorder().normal(br, backupv1alpha1.ReasonCopied, "CopyDocumentLibrary", "Document library copied: %d objects, %s",
			inv.Objects, manifest.HumanBytes(inv.Bytes))
	})
}

// copyFunc captures what the job needs, so it does not share the reconciler's object.
// The job writes the run's inventory as the copy goes, and flushes it even when the
// copy fails or is cancelled: cleanup deletes only what an inventory lists. When the
// source bucket is versioned the copy reads the versions current at the backup's
// point in time (pointInTime), in both modes; how it stores them is the strategy's.
func (r *BackupRequestReconciler) copyFunc(br *backupv1alpha1.BackupRequest, prov provider.Provider) copyjob.Func {
	br = br.DeepCopy()
	dl := br.Spec.DocumentLibrary
	strategy := r.strategyFor(br)
	bucket, prefix := string(dl.DestinationBucket), dl.DestinationKeyPrefix()
	started := r.Clock.Now()
	run := layout.RunID(started)
	clk := r.Clock
	return func(ctx context.Context, progress func(provider.CopyProgress)) (*copyjob.Result, error) {
		// The inventory outlives a cancelled copy: what was written must be recorded.
		invCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), inventoryFlushTimeout)
		defer cancel()
		asOf, err := r.pointInTime(ctx, br, prov, started)
		if err != nil {
			return nil, err
		}
		excluder, err := provider.NewExcluder(dl.ExcludePatterns, dl.ExcludeGeneratedFiles)
		if err != nil {
			return nil, err
		}
		inv := inventory.NewWriter(prov, bucket, prefix, run, clk)
		result := &copyjob.Result{PointInTime: asOf}
		// excluded counts the objects the exclusions left out before the provider's
		// copy saw them; the provider counts those it left out itself.
		excluded, copyErr := strategy.copy(ctx, copyRun{
			prov: prov, prefix: prefix, asOf: asOf, excluder: excluder, progress: progress, resumeTokens: resumeTokensOf(br),
			record: func(e inventory.Entry) { inv.Add(invCtx, e) },
		}, result)
		if result.Copy == nil {
			result.Copy = &provider.ObjectStorageCopyResult{}
		}
		result.Copy.ObjectsExcluded += excluded
		summary, invErr := inv.Close(invCtx)
		result.Inventory = summary
		return result, errors.Join(copyErr, invErr)
	}
}

// copyItems is the copy list of a Full backup of a versioned source: each object as
// it was at the point in time, in key order so the destination listing is still
// walked in step.
func copyItems(objects iter.Seq2[provider.ObjectMetadata, error]) iter.Seq2[provider.CopyItem, error] {
	return func(yield func(provider.CopyItem, error) bool) {
		for o, err := range objects {
			if !yield(provider.CopyItem{Source: o}, err) || err != nil {
				return
			}
		}
	}
}

// pointInTime is the moment a versioned source is read as of: the database
// snapshot's creation time, so the files are those the snapshot references, or the
// copy's start for a files-only backup. It is nil when the source bucket is not
// versioned: the copy then reads the live bucket.
func (r *BackupRequestReconciler) pointInTime(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider, started time.Time) (*time.Time, error) {
	source := string(br.Spec.DocumentLibrary.SourceBucket)
	versioned, err := prov.BucketVersioning(ctx, source)
	r.observeCall("BucketVersioning", err)
	if err != nil {
		return nil, fmt.Errorf("read the versioning of s3://%s: %w", source, err)
	}
	if !versioned {
		return nil, nil
	}
	if db := br.Status.Database; br.Spec.Database != nil && db != nil && db.SnapshotID != "" {
		snap, err := prov.GetDatabaseSnapshotStatus(ctx, db.SnapshotID)
		r.observeCall("GetDatabaseSnapshotStatus", err)
		if err != nil {
			return nil, fmt.Errorf("read the creation time of snapshot %s: %w", db.SnapshotID, err)
		}
		if snap.CreatedAt != nil {
			t := snap.CreatedAt.UTC()
			return &t, nil
		}
	}
	t := started.UTC()
	return &t, nil
}
