package controller

import (
	"context"
	"fmt"

	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// patchStatus applies mutate to br's status and writes it with a merge patch guarded
// by the resourceVersion, so a concurrent writer (the archiver) is never overwritten.
// On a conflict it re-reads the object from the API server and applies mutate again.
// br is updated in place with the stored object.
func (r *BackupRequestReconciler) patchStatus(ctx context.Context, br *backupv1alpha1.BackupRequest, mutate func(*backupv1alpha1.BackupRequestStatus)) error {
	first := true
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(br), br); err != nil {
				return err
			}
		}
		first = false
		original := br.DeepCopy()
		// Conditions set by mutate carry the generation they were computed from.
		br.Status.ObservedGeneration = br.Generation
		mutate(&br.Status)
		return r.Status().Patch(ctx, br, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{}))
	})
	if err != nil {
		return fmt.Errorf("patch status of %s/%s: %w", br.Namespace, br.Name, err)
	}
	r.writes.record(br)
	return nil
}
