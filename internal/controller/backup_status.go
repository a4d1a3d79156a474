package controller

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// patchStatus is writeStatus for a BackupRequest's status, for the writes outside a
// pass (taking a slot, waiting, failing): mutate's conditions carry the generation,
// and the write is recorded (freshness).
func (r *BackupRequestReconciler) patchStatus(ctx context.Context, br *backupv1alpha1.BackupRequest, mutate func(*backupv1alpha1.BackupRequestStatus)) error {
	if err := writeStatus(ctx, r.statusStore(), br, backupStatusOf, func(br *backupv1alpha1.BackupRequest) {
		// Conditions set by mutate carry the generation they were computed from.
		br.Status.ObservedGeneration = br.Generation
		mutate(&br.Status)
	}); err != nil {
		return err
	}
	r.writes.record(br)
	return nil
}

// statusStore is where BackupRequest status goes: every write is noted as sent
// before it leaves (lastWrites.sending), so transitionHandler knows the phase change
// for this controller's own even when its watch event beats the write's response.
func (r *BackupRequestReconciler) statusStore() statusStore {
	return statusStore{reader: r.APIReader, writer: sendingStatusWriter{SubResourceWriter: r.Status(), writes: r.writes}}
}

type sendingStatusWriter struct {
	client.SubResourceWriter
	writes *lastWrites
}

func (w sendingStatusWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if br, ok := obj.(*backupv1alpha1.BackupRequest); ok {
		w.writes.sending(br)
	}
	return w.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}
