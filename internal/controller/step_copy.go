package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/event"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// reconcileCopy runs the document-library copy as a background job and refreshes
// status.documentLibrary every ProgressInterval until the job ends. After a restart
// the job is simply started again: the provider skips objects already copied.
func (r *BackupRequestReconciler) reconcileCopy(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider) (stepResult, error) {
	if br.Spec.DocumentLibrary == nil || conditionTrue(br, ConditionDocumentLibraryCopied) {
		return stepDone, nil
	}
	job, running := r.jobs.Get(br.UID)
	if !running {
		// The step before (the slot or the snapshot) normally marked the copy as
		// started in its own status write; write it here only when it did not.
		if c := meta.FindStatusCondition(br.Status.Conditions, ConditionDocumentLibraryCopied); c == nil || c.Reason != ReasonCopying {
			if err := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) { r.markCopying(st, br) }); err != nil {
				return stepResult{}, err
			}
		}
		job = r.jobs.Start(br.UID, event.GenericEvent{Object: br.DeepCopy()}, r.copyFunc(br, prov))
		r.normalEvent(br, ReasonCopying, "CopyDocumentLibrary", "Copying document library from s3://%s/%s",
			br.Spec.DocumentLibrary.SourceBucket, br.Spec.DocumentLibrary.SourcePrefix)
	}

	finished, result, copyErr := job.Done()
	if !finished {
		p := job.Progress()
		progress := &backupv1alpha1.DocumentLibraryBackupStatus{
			ObjectsTotal: p.ObjectsTotal, ObjectsCopied: p.ObjectsCopied, ObjectsSkipped: p.ObjectsSkipped, BytesCopied: p.BytesCopied,
		}
		// Nothing counted yet (the job just started) is not worth a write.
		nothingYet := br.Status.DocumentLibrary == nil && *progress == backupv1alpha1.DocumentLibraryBackupStatus{}
		if !nothingYet && (br.Status.DocumentLibrary == nil || *br.Status.DocumentLibrary != *progress) {
			if err := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) { st.DocumentLibrary = progress }); err != nil {
				return stepResult{}, err
			}
		}
		return stepResult{requeueAfter: r.Options.ProgressInterval}, nil
	}

	r.jobs.Forget(br.UID)
	r.observeCall("CopyObjectStorage", copyErr)
	if copyErr != nil {
		return stepResult{}, fmt.Errorf("copy document library: %w", copyErr)
	}
	err := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
		st.DocumentLibrary = &backupv1alpha1.DocumentLibraryBackupStatus{
			ObjectsTotal: result.ObjectsTotal, ObjectsCopied: result.ObjectsCopied, ObjectsSkipped: result.ObjectsSkipped,
			ObjectsExcluded: result.ObjectsExcluded, BytesCopied: result.BytesCopied, TotalSizeBytes: result.BytesTotal,
		}
		r.setCondition(st, br.Generation, ConditionDocumentLibraryCopied, "True", ReasonCopied,
			fmt.Sprintf("%d objects (%s) at the destination: %d copied, %d already there, %d excluded",
				result.ObjectsTotal, manifest.HumanBytes(result.BytesTotal), result.ObjectsCopied, result.ObjectsSkipped, result.ObjectsExcluded))
	})
	if err != nil {
		return stepResult{}, err
	}
	if r.Metrics != nil {
		r.Metrics.Copied(br, result.ObjectsCopied, result.BytesCopied)
	}
	r.normalEvent(br, ReasonCopied, "CopyDocumentLibrary", "Document library copied: %d objects, %s",
		result.ObjectsTotal, manifest.HumanBytes(result.BytesTotal))
	return stepDone, nil
}

// markCopying records that the document-library copy is starting. The step before
// the copy calls it in its own status write, which saves a write per backup.
func (r *BackupRequestReconciler) markCopying(st *backupv1alpha1.BackupRequestStatus, br *backupv1alpha1.BackupRequest) {
	dl := br.Spec.DocumentLibrary
	if dl == nil {
		return
	}
	r.setCondition(st, br.Generation, ConditionDocumentLibraryCopied, "False", ReasonCopying,
		fmt.Sprintf("copying s3://%s/%s to s3://%s/%s", dl.SourceBucket, dl.SourcePrefix, dl.DestinationBucket, destinationPrefix(dl)))
}

// copyFunc captures what the job needs, so it does not share the reconciler's object.
func (r *BackupRequestReconciler) copyFunc(br *backupv1alpha1.BackupRequest, prov provider.Provider) func(context.Context, func(provider.CopyProgress)) (*provider.ObjectStorageCopyResult, error) {
	dl := br.Spec.DocumentLibrary
	req := provider.ObjectStorageCopyRequest{
		SourceBucket:          string(dl.SourceBucket),
		SourcePrefix:          string(dl.SourcePrefix),
		DestinationBucket:     string(dl.DestinationBucket),
		DestinationPrefix:     destinationPrefix(dl),
		ExcludePatterns:       append([]string(nil), dl.ExcludePatterns...),
		ExcludeGeneratedFiles: dl.ExcludeGeneratedFiles,
		Concurrency:           r.Options.CopyConcurrency,
		MultipartThreshold:    r.Options.MultipartThreshold,
	}
	return func(ctx context.Context, progress func(provider.CopyProgress)) (*provider.ObjectStorageCopyResult, error) {
		req.Progress = progress
		return prov.CopyObjectStorage(ctx, req)
	}
}
