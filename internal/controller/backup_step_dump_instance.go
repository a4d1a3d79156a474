package controller

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// A Snapshot-source dump (the default with an instanceId) reads a throw-away instance
// restored from the snapshot this backup just took, not production: the dump is then
// exactly as consistent as the snapshot, and production carries no load. The instance
// is named after the backup and tagged with it as owner, so a pass retried after a
// crash adopts it, and only this backup can delete it. It is deleted as soon as the
// dump ended, and on every other ending (failure, deletion, expiry) that finds it
// still there.

// snapshotSourced is a dump read from a throw-away instance restored from the backup's snapshot.
func snapshotSourced(br *backupv1alpha1.BackupRequest) bool {
	return isDump(br) && br.Spec.Database.DumpSourceOrDefault() == backupv1alpha1.DumpSourceSnapshot
}

// dumpInstanceID is the throw-away instance's identifier: RDS rules (a letter first,
// at most 63, no "--") hold for any UID.
func dumpInstanceID(br *backupv1alpha1.BackupRequest) string { return "lc2-dump-" + string(br.UID) }

// reconcileDumpInstance restores the snapshot into the throw-away instance and waits,
// polling with a growing delay, until it is available. It owns status.database.dumpInstance
// and, while it works, the DatabaseDumped condition (False).
func (r *BackupRequestReconciler) reconcileDumpInstance(ctx context.Context, s *backupScope) (stepResult, error) {
	br, st := s.br, s.status()
	if !snapshotSourced(br) || st.IsConditionTrue(backupv1alpha1.ConditionDatabaseDumped) {
		return stepDone, nil
	}
	if inst := st.Database.DumpInstance; inst != nil && inst.Endpoint != "" {
		return stepDone, nil
	}
	if inst := st.Database.DumpInstance; inst == nil || !inst.Created {
		return r.startDumpInstance(ctx, s)
	}
	return r.pollDumpInstance(ctx, s)
}

// startDumpInstance starts the restore of the snapshot into the throw-away instance
// (or adopts the one a pass before a restart started), with the source instance's
// recorded network and sizing, never publicly accessible.
func (r *BackupRequestReconciler) startDumpInstance(ctx context.Context, s *backupScope) (stepResult, error) {
	br, st := s.br, s.status()
	id := dumpInstanceID(br)
	// A snapshot does not carry IAM authentication: an IAM dump turns it on, or the
	// dumper's token would be refused.
	req := provider.RestoreDatabaseRequest{SnapshotID: st.Database.SnapshotID, TargetInstanceID: id, Owner: owner(br),
		IAMAuthentication: br.Spec.Database.Dump.IAMAuthentication()}
	if rec := st.Database.SourceInstance; rec != nil {
		req.Settings = provider.DatabaseInstanceSettings{
			InstanceClass: rec.InstanceClass, StorageType: rec.StorageType, AllocatedStorageGiB: rec.AllocatedStorageGiB, Iops: rec.Iops,
			SubnetGroup: rec.SubnetGroup, SecurityGroupIDs: append([]string(nil), rec.SecurityGroupIDs...), Port: rec.Port,
		}
	}
	inst, err := s.prov.RestoreDatabaseInstance(ctx, req)
	r.observeCall("RestoreDatabaseInstance", err)
	if err != nil {
		// An instance quota refusal waits in the queue like the snapshot quota's.
		return stepResult{}, fmt.Errorf("restore snapshot %s into the throw-away instance %s for the dump: %w", req.SnapshotID, id, err)
	}
	st.EndQuotaWait(s.now)
	// Created as soon as the call returned: from now on every ending deletes it.
	st.Database.DumpInstance = &backupv1alpha1.DumpInstanceStatus{InstanceID: id, Status: inst.RawStatus, Created: true}
	verb := "being restored"
	if inst.Adopted {
		verb = "adopted (started before a restart)"
	}
	msg := fmt.Sprintf("snapshot %s %s into the throw-away instance %s, which the dump reads", req.SnapshotID, verb, id)
	st.SetCondition(backupv1alpha1.ConditionDatabaseDumped, metav1.ConditionFalse, backupv1alpha1.ReasonRestoringDumpInstance, msg, s.now)
	s.after(func() {
		ctrl.LoggerFrom(ctx).Info("throw-away dump instance started", "instance", id, "adopted", inst.Adopted)
		r.recorder().normal(br, backupv1alpha1.ReasonRestoringDumpInstance, "RestoreDumpInstance", "Dump source: %s", msg)
	})
	return stepResult{requeueAfter: r.Options.SnapshotPollInitial}, nil
}

// pollDumpInstance waits for the throw-away instance to be available and records the
// endpoint the dumper reads.
func (r *BackupRequestReconciler) pollDumpInstance(ctx context.Context, s *backupScope) (stepResult, error) {
	st := s.status()
	di := st.Database.DumpInstance
	inst, err := s.prov.DescribeDatabaseInstance(ctx, di.InstanceID)
	r.observeCall("DescribeDatabaseInstance", err)
	if provider.IsNotFound(err) {
		di.Deleted = true // nothing left to delete
		return stepResult{}, failWith(backupv1alpha1.ReasonDumpFailed, "the throw-away instance %s disappeared while the snapshot was restored into it", di.InstanceID)
	}
	if err != nil {
		return stepResult{}, fmt.Errorf("check the throw-away instance %s: %w", di.InstanceID, err)
	}
	di.Status = inst.RawStatus
	switch inst.State {
	case provider.DatabaseInstanceAvailable:
		di.Endpoint = r.Options.dumperEndpoint(di.InstanceID, inst.Endpoint)
		msg := fmt.Sprintf("the throw-away instance %s is available at %s; dumping it", di.InstanceID, di.Endpoint)
		st.SetCondition(backupv1alpha1.ConditionDatabaseDumped, metav1.ConditionFalse, backupv1alpha1.ReasonRestoringDumpInstance, msg, s.now)
		return stepDone, nil
	case provider.DatabaseInstanceFailed:
		return stepResult{}, failWith(backupv1alpha1.ReasonDumpFailed, "the throw-away instance %s failed while the snapshot was restored into it (status %s)", di.InstanceID, inst.RawStatus)
	}
	waited := s.now.Sub(st.Condition(backupv1alpha1.ConditionDatabaseDumped).LastTransitionTime.Time)
	return stepResult{requeueAfter: min(max(waited, r.Options.SnapshotPollInitial), r.Options.SnapshotPollMax)}, nil
}

// dumpInstanceEndpoint is the endpoint a Snapshot-source dump reads ("" otherwise).
func (r *BackupRequestReconciler) dumpInstanceEndpoint(br *backupv1alpha1.BackupRequest) string {
	if db := br.Status.Database; snapshotSourced(br) && db != nil && db.DumpInstance != nil {
		return db.DumpInstance.Endpoint
	}
	return ""
}

// reconcileDumpInstanceRemoval deletes the throw-away instance once the dump is
// verified: nothing else reads it.
func (r *BackupRequestReconciler) reconcileDumpInstanceRemoval(ctx context.Context, s *backupScope) (stepResult, error) {
	st := s.status()
	if !snapshotSourced(s.br) || !st.Database.DumpInstance.Pending() {
		return stepDone, nil
	}
	summary, err := r.removeDumpInstance(ctx, s.br, s.prov)
	if err != nil {
		return stepResult{}, err
	}
	st.Database.DumpInstance.Deleted = true
	s.after(func() {
		r.recorder().normal(s.br, backupv1alpha1.ReasonDumpInstanceDeleted, "DeleteDumpInstance", "Dump source: %s", summary)
	})
	return stepDone, nil
}

// removeDumpInstance deletes the backup's throw-away instance; the provider deletes
// it only when its owner tags name this backup, and a missing one counts as deleted.
func (r *BackupRequestReconciler) removeDumpInstance(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider) (string, error) {
	id := br.Status.Database.DumpInstance.InstanceID
	err := prov.DeleteDatabaseInstance(ctx, id, owner(br))
	r.observeCall("DeleteDatabaseInstance", err)
	if err != nil {
		return "", fmt.Errorf("delete the throw-away instance %s: %w", id, err)
	}
	return "deleted the throw-away instance " + id, nil
}

// reconcileSnapshotRelease deletes, for keepSnapshot: false, the snapshot a verified
// dump was taken from, once the copy no longer needs its creation time: the backup
// then holds no snapshot quota.
func (r *BackupRequestReconciler) reconcileSnapshotRelease(ctx context.Context, s *backupScope) (stepResult, error) {
	br, st := s.br, s.status()
	d := br.Spec.Database
	if !snapshotSourced(br) || d.Dump == nil || d.Dump.KeepSnapshot == nil || *d.Dump.KeepSnapshot || st.Database.SnapshotDeleted ||
		!st.IsConditionTrue(backupv1alpha1.ConditionDatabaseDumped) {
		return stepDone, nil
	}
	summary, removed, err := r.releaseSnapshot(ctx, br, s.prov, st.Database.SnapshotID)
	if err != nil {
		return stepResult{}, err
	}
	st.Database.SnapshotDeleted = removed
	s.after(func() {
		r.recorder().normal(br, backupv1alpha1.ReasonSnapshotReleased, "ReleaseSnapshot", "keepSnapshot: false: %s; the verified dump holds the database", summary)
	})
	return stepDone, nil
}

// failedDumpInstanceRemoved deletes the throw-away instance of a backup that fails,
// reporting whether it is gone. A failure to delete is logged and the instance stays
// recorded as pending: the backup's expiry or deletion removes it (removeEach).
func (r *BackupRequestReconciler) failedDumpInstanceRemoved(ctx context.Context, br *backupv1alpha1.BackupRequest) bool {
	if db := br.Status.Database; db == nil || !db.DumpInstance.Pending() {
		return false
	}
	prov, err := r.Providers.Get(string(br.Spec.Provider))
	if err == nil {
		var summary string
		if summary, err = r.removeDumpInstance(ctx, br, prov); err == nil {
			r.recorder().normal(br, backupv1alpha1.ReasonDumpInstanceDeleted, "DeleteDumpInstance", "Dump source: %s", summary)
			return true
		}
	}
	ctrl.LoggerFrom(ctx).Error(err, "delete the throw-away dump instance of a failed backup; its expiry or deletion removes it",
		"instance", br.Status.Database.DumpInstance.InstanceID)
	return false
}
