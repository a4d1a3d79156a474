package controller

import (
	"context"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// patchStatus is writeStatus for a BackupRequest's status, for the writes outside a
// pass (taking a slot, waiting, failing): mutate's conditions carry the generation,
// and the write is recorded (freshness).
func (r *BackupRequestReconciler) patchStatus(ctx context.Context, br *backupv1alpha1.BackupRequest, mutate func(*backupv1alpha1.BackupRequestStatus)) error {
	if err := writeStatus(ctx, storeOf(r, r.APIReader), br, backupStatusOf, func(br *backupv1alpha1.BackupRequest) {
		// Conditions set by mutate carry the generation they were computed from.
		br.Status.ObservedGeneration = br.Generation
		mutate(&br.Status)
	}); err != nil {
		return err
	}
	r.writes.record(br)
	return nil
}
