package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
// the job is simply started again: the provider skips objects already copied. It
// owns the DocumentLibraryCopied condition and status.documentLibrary.
func (r *BackupRequestReconciler) reconcileCopy(_ context.Context, s *backupScope) (stepResult, error) {
	br, st := s.br, s.status()
	dl := br.Spec.DocumentLibrary
	if dl == nil || st.IsConditionTrue(backupv1alpha1.ConditionDocumentLibraryCopied) {
		return stepDone, nil
	}
	job, running := r.jobs.Get(br.UID)
	if !running {
		st.SetCondition(backupv1alpha1.ConditionDocumentLibraryCopied, metav1.ConditionFalse, backupv1alpha1.ReasonCopying,
			fmt.Sprintf("copying s3://%s/%s to s3://%s/%s", dl.SourceBucket, dl.SourceKeyPrefix(), dl.DestinationBucket, layout.DataPrefix(dl.DestinationKeyPrefix())), s.now)
		job = r.jobs.Start(br.UID, event.GenericEvent{Object: br.DeepCopy()}, r.copyFunc(br, s.prov))
		s.after(func() {
			r.normalEvent(br, backupv1alpha1.ReasonCopying, "CopyDocumentLibrary", "Copying document library from s3://%s/%s", dl.SourceBucket, dl.SourceKeyPrefix())
		})
	}

	finished, result, copyErr := job.Done()
	if !finished {
		p := job.Progress()
		progress := &backupv1alpha1.DocumentLibraryBackupStatus{
			ObjectsTotal: p.ObjectsTotal, ObjectsCopied: p.ObjectsCopied, ObjectsSkipped: p.ObjectsSkipped, BytesCopied: p.BytesCopied,
		}
		// Nothing counted yet (the job just started) is not worth a write.
		if st.DocumentLibrary != nil || *progress != (backupv1alpha1.DocumentLibraryBackupStatus{}) {
			st.DocumentLibrary = progress
		}
		return stepResult{requeueAfter: r.Options.ProgressInterval}, nil
	}

	r.jobs.Forget(br.UID)
	r.observeCall("CopyObjectStorage", copyErr)
	if copyErr != nil {
		return stepResult{}, fmt.Errorf("copy document library: %w", copyErr)
	}
	res, inv := result.Copy, result.Inventory
	if stored := res.ObjectsCopied + res.ObjectsSkipped; inv.Objects != stored {
		return stepResult{}, failWith(backupv1alpha1.ReasonCopyFailed,
			"the inventory lists %d objects but the copy stored %d; the backup is not trusted", inv.Objects, stored)
	}
	// Totals are what the inventory lists: exactly what the backup holds.
	st.DocumentLibrary = &backupv1alpha1.DocumentLibraryBackupStatus{
		ObjectsTotal: inv.Objects, ObjectsCopied: res.ObjectsCopied, ObjectsSkipped: res.ObjectsSkipped,
		ObjectsExcluded: res.ObjectsExcluded, BytesCopied: res.BytesCopied, TotalSizeBytes: inv.Bytes,
		InventoryRun: inv.Run,
	}
	msg := fmt.Sprintf("%d objects (%s) at the destination: %d copied, %d already there, %d excluded",
		inv.Objects, manifest.HumanBytes(inv.Bytes), res.ObjectsCopied, res.ObjectsSkipped, res.ObjectsExcluded)
	if res.ObjectsVanished > 0 {
		msg += fmt.Sprintf(", %d deleted from the source while the copy ran", res.ObjectsVanished)
	}
	st.SetCondition(backupv1alpha1.ConditionDocumentLibraryCopied, metav1.ConditionTrue, backupv1alpha1.ReasonCopied, msg, s.now)
	s.after(func() {
		if r.Metrics != nil {
			r.Metrics.Copied(br, res.ObjectsCopied, res.BytesCopied)
		}
		r.normalEvent(br, backupv1alpha1.ReasonCopied, "CopyDocumentLibrary", "Document library copied: %d objects, %s",
			inv.Objects, manifest.HumanBytes(inv.Bytes))
	})
	return stepDone, nil
}

// copyFunc captures what the job needs, so it does not share the reconciler's object.
// The job writes the run's inventory as the copy goes, and flushes it even when the
// copy fails or is cancelled: cleanup deletes only what an inventory lists.
func (r *BackupRequestReconciler) copyFunc(br *backupv1alpha1.BackupRequest, prov provider.Provider) copyjob.Func {
	dl := br.Spec.DocumentLibrary
	bucket, prefix := string(dl.DestinationBucket), dl.DestinationKeyPrefix()
	req := provider.ObjectStorageCopyRequest{
		SourceBucket:          string(dl.SourceBucket),
		SourcePrefix:          dl.SourceKeyPrefix(),
		DestinationBucket:     bucket,
		DestinationPrefix:     layout.DataPrefix(prefix),
		ExcludePatterns:       append([]string(nil), dl.ExcludePatterns...),
		ExcludeGeneratedFiles: dl.ExcludeGeneratedFiles,
		Concurrency:           r.Options.CopyConcurrency,
		MultipartThreshold:    r.Options.MultipartThreshold,
	}
	run := layout.RunID(r.Clock.Now())
	clk := r.Clock
	return func(ctx context.Context, progress func(provider.CopyProgress)) (*copyjob.Result, error) {
		// The inventory outlives a cancelled copy: what was written must be recorded.
		invCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), inventoryFlushTimeout)
		defer cancel()
		inv := inventory.NewWriter(prov, bucket, prefix, run, clk)
		req.Progress = progress
		req.Stored = func(o provider.StoredObject) {
			inv.Add(invCtx, inventory.Entry{
				SourceKey: o.SourceKey, StoredKey: strings.TrimPrefix(o.Key, prefix), Size: o.Size,
				ETag: o.ETag, SourceETag: o.SourceETag, Checksum: o.Checksum,
			})
		}
		res, copyErr := prov.CopyObjectStorage(ctx, req)
		summary, invErr := inv.Close(invCtx)
		return &copyjob.Result{Copy: res, Inventory: summary}, errors.Join(copyErr, invErr)
	}
}

// inventoryFlushTimeout bounds the inventory writes of one copy run.
const inventoryFlushTimeout = 10 * time.Minute
