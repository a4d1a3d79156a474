package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ctrl "sigs.k8s.io/controller-runtime"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// owner is the provider's view of the BackupRequest, stored as tags.
func owner(br *backupv1alpha1.BackupRequest) provider.BackupOwner {
	return provider.BackupOwner{
		ProjectID: br.Spec.ProjectID, Environment: br.Spec.Environment,
		Namespace: br.Namespace, Name: br.Name, UID: string(br.UID),
	}
}

// reconcileSnapshot creates the database snapshot once (the provider names it
// deterministically, so a retry adopts it) and polls it until available. It owns
// the DatabaseSnapshotReady condition and status.database. A dump read directly from
// the database takes no snapshot.
func (r *BackupRequestReconciler) reconcileSnapshot(ctx context.Context, s *backupScope) (stepResult, error) {
	br := s.br
	if br.Spec.Database == nil || !br.Spec.Database.TakesSnapshot() || br.Status.IsConditionTrue(backupv1alpha1.ConditionDatabaseSnapshotReady) {
		return stepDone, nil
	}
	if br.Status.Database == nil || br.Status.Database.SnapshotID == "" {
		return r.createSnapshot(ctx, s)
	}
	return r.pollSnapshot(ctx, s)
}

// createSnapshot describes the source instance, then starts the snapshot, and records
// both in one status write: the instance's settings are what a restore needs to
// recreate it as it was. A failed describe is handled like a failed create (retried
// when transient, nothing written either way), so a backup never holds a snapshot
// without the settings of its instance.
func (r *BackupRequestReconciler) createSnapshot(ctx context.Context, s *backupScope) (stepResult, error) {
	br, instance := s.br, s.br.Spec.Database.InstanceID
	source, err := s.prov.DescribeDatabaseInstance(ctx, instance)
	r.observeCall("DescribeDatabaseInstance", err)
	if err != nil {
		return stepResult{}, fmt.Errorf("describe database instance %s: %w", instance, err)
	}
	res, err := s.prov.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: instance, Owner: owner(br)})
	r.observeCall("CreateDatabaseSnapshot", err)
	if err != nil {
		return stepResult{}, fmt.Errorf("create snapshot of database instance %s: %w", instance, err)
	}
	st := s.status()
	st.EndQuotaWait(s.now) // a refusal for the snapshot quota is over
	st.Database = &backupv1alpha1.DatabaseBackupStatus{SnapshotID: res.SnapshotID, SnapshotARN: res.SnapshotARN, Status: string(res.Status),
		SourceInstance: instanceSettings(source.Settings)}
	st.SetCondition(backupv1alpha1.ConditionDatabaseSnapshotReady, metav1.ConditionFalse, backupv1alpha1.ReasonSnapshotCreating,
		fmt.Sprintf("snapshot %s of instance %s is being created", res.SnapshotID, instance), s.now)
	s.after(func() {
		ctrl.LoggerFrom(ctx).Info("database snapshot started", "snapshot", res.SnapshotID, "adopted", res.Adopted)
		r.recorder().normal(br, backupv1alpha1.ReasonSnapshotCreating, "CreateSnapshot", "Creating snapshot %s of database instance %s", res.SnapshotID, instance)
	})
	return stepResult{requeueAfter: r.Options.SnapshotPollInitial}, nil
}

func (r *BackupRequestReconciler) pollSnapshot(ctx context.Context, s *backupScope) (stepResult, error) {
	br, st := s.br, s.status()
	id := st.Database.SnapshotID
	snap, err := s.prov.GetDatabaseSnapshotStatus(ctx, id)
	r.observeCall("GetDatabaseSnapshotStatus", err)
	if provider.IsNotFound(err) {
		return stepResult{}, failWith(backupv1alpha1.ReasonSnapshotMissing,
			"snapshot %s disappeared while it was being created; it may have been deleted outside the controller", id)
	}
	if err != nil {
		return stepResult{}, fmt.Errorf("get status of snapshot %s: %w", id, err)
	}
	switch snap.State {
	case provider.SnapshotAvailable:
		st.Database = snapshotStatus(snap, st.Database.SourceInstance)
		st.SetCondition(backupv1alpha1.ConditionDatabaseSnapshotReady, metav1.ConditionTrue, backupv1alpha1.ReasonSnapshotAvailable,
			fmt.Sprintf("snapshot %s is available (%s)", id, manifest.HumanBytes(snap.SizeBytes)), s.now)
		s.after(func() {
			r.recorder().normal(br, backupv1alpha1.ReasonSnapshotAvailable, "CreateSnapshot", "Snapshot %s is available", id)
		})
		return stepDone, nil
	case provider.SnapshotFailed, provider.SnapshotDeleting:
		return stepResult{}, failWith(backupv1alpha1.ReasonSnapshotFailed,
			"snapshot %s ended in state %q; check the database instance %s and its events", id, snap.RawStatus, br.Spec.Database.InstanceID)
	}
	// Still creating: record progress only when it moved, and look again later.
	if st.Database.PercentProgress != snap.PercentProgress || st.Database.Status != snap.RawStatus {
		st.Database = snapshotStatus(snap, st.Database.SourceInstance)
	}
	return stepResult{requeueAfter: r.snapshotPollAfter(br)}, nil
}

// snapshotPollAfter waits as long as the snapshot has been running (doubling the
// interval from SnapshotPollInitial), capped at SnapshotPollMax: never a hot loop,
// and no counter to lose in a restart.
func (r *BackupRequestReconciler) snapshotPollAfter(br *backupv1alpha1.BackupRequest) time.Duration {
	running := r.Options.SnapshotPollInitial
	if c := br.Status.Condition(backupv1alpha1.ConditionDatabaseSnapshotReady); c != nil {
		running = r.Clock.Since(c.LastTransitionTime.Time)
	}
	return min(max(running, r.Options.SnapshotPollInitial), r.Options.SnapshotPollMax)
}

// snapshotStatus is status.database for a snapshot, keeping the source instance's
// settings recorded when it was started.
func snapshotStatus(st *provider.SnapshotStatus, source *backupv1alpha1.DatabaseInstanceSettings) *backupv1alpha1.DatabaseBackupStatus {
	return &backupv1alpha1.DatabaseBackupStatus{
		SnapshotID: st.SnapshotID, SnapshotARN: st.SnapshotARN, Status: st.RawStatus,
		PercentProgress: st.PercentProgress, SizeBytes: st.SizeBytes,
		Engine: st.Engine, EngineVersion: st.EngineVersion, SourceInstance: source,
	}
}

// instanceSettings converts the provider's instance settings to the API's.
func instanceSettings(s provider.DatabaseInstanceSettings) *backupv1alpha1.DatabaseInstanceSettings {
	return &backupv1alpha1.DatabaseInstanceSettings{
		InstanceClass: s.InstanceClass, StorageType: s.StorageType, AllocatedStorageGiB: s.AllocatedStorageGiB, Iops: s.Iops,
		ParameterGroup: s.ParameterGroup, OptionGroup: s.OptionGroup, SubnetGroup: s.SubnetGroup,
		SecurityGroupIDs: slices.Clone(s.SecurityGroupIDs), Port: s.Port, MultiAZ: s.MultiAZ, PubliclyAccessible: s.PubliclyAccessible,
		Tags: maps.Clone(s.Tags),
	}
}
