package controller

import (
	"context"
	"fmt"
	"maps"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// reconcileRestoreDatabase restores the backup's snapshot into the new instance and
// waits, polling with a growing delay (never a hot loop), until it is available. It
// owns the DatabaseRestored condition and status.database.
//
// Restart safety: the instance identifier is the spec's and the provider tags the
// instance with this restore as owner, so a restore resumed after a crash adopts the
// instance it started (Adopted) instead of starting a second one; an instance of that
// name owned by anyone else is a conflict and never touched.
func (r *RestoreRequestReconciler) reconcileRestoreDatabase(ctx context.Context, s *restoreScope) (stepResult, error) {
	rr, st := s.rr, s.status()
	db := rr.Spec.Database
	if db == nil || db.TargetInstanceID == "" || rr.Spec.VerifyOnly || st.IsConditionTrue(backupv1alpha1.ConditionDatabaseRestored) {
		return stepDone, nil
	}
	if st.Database == nil || !st.Database.Created {
		return r.startDatabaseRestore(ctx, s)
	}
	return r.pollDatabaseRestore(ctx, s)
}

// startDatabaseRestore asks the cloud to restore the snapshot into the target
// instance (or adopts the one a run before a restart started).
func (r *RestoreRequestReconciler) startDatabaseRestore(ctx context.Context, s *restoreScope) (stepResult, error) {
	rr, st := s.rr, s.status()
	db := rr.Spec.Database
	req := provider.RestoreDatabaseRequest{
		SnapshotID: st.Source.SnapshotID, TargetInstanceID: db.TargetInstanceID,
		Settings: r.instanceSettings(s), Owner: restoreOwner(rr),
	}
	inst, err := s.prov.RestoreDatabaseInstance(ctx, req)
	r.observeCall("RestoreDatabaseInstance", err)
	if err != nil {
		return stepResult{}, fmt.Errorf("restore snapshot %s into instance %s: %w", req.SnapshotID, db.TargetInstanceID, err)
	}
	// Created as soon as the call returned (adopted or new): from now on
	// cancelling the restore deletes this instance.
	st.Database = &backupv1alpha1.DatabaseRestoreStatus{
		InstanceID: inst.InstanceID, InstanceARN: inst.InstanceARN, Status: inst.RawStatus, Created: true,
	}
	verb := "started"
	if inst.Adopted {
		verb = "adopted (started before a restart)"
	}
	msg := fmt.Sprintf("instance %s %s from snapshot %s", db.TargetInstanceID, verb, req.SnapshotID)
	st.SetCondition(backupv1alpha1.ConditionDatabaseRestored, metav1.ConditionFalse, backupv1alpha1.ReasonRestoringDatabase, msg, s.now)
	s.after(func() {
		r.recorder().normal(rr, backupv1alpha1.ReasonRestoringDatabase, "RestoreDatabase", "Database restore: %s", msg)
	})
	return stepResult{requeueAfter: r.restorePollDelay(0)}, nil
}

// pollDatabaseRestore checks the instance being restored until it is available or
// has failed, polling less often the longer it takes.
func (r *RestoreRequestReconciler) pollDatabaseRestore(ctx context.Context, s *restoreScope) (stepResult, error) {
	rr, st := s.rr, s.status()
	db := rr.Spec.Database
	inst, err := s.prov.DescribeDatabaseInstance(ctx, db.TargetInstanceID)
	r.observeCall("DescribeDatabaseInstance", err)
	if provider.IsNotFound(err) {
		return stepResult{}, failWith(backupv1alpha1.ReasonDatabaseFailed, "instance %s disappeared while it was being restored", db.TargetInstanceID)
	}
	if err != nil {
		return stepResult{}, fmt.Errorf("check instance %s: %w", db.TargetInstanceID, err)
	}
	st.Database.Status = inst.RawStatus
	if inst.InstanceARN != "" {
		st.Database.InstanceARN = inst.InstanceARN
	}
	switch inst.State {
	case provider.DatabaseInstanceAvailable:
		st.Database.Endpoint = inst.Endpoint
		msg := fmt.Sprintf("instance %s is available at %s", db.TargetInstanceID, inst.Endpoint)
		st.SetCondition(backupv1alpha1.ConditionDatabaseRestored, metav1.ConditionTrue, backupv1alpha1.ReasonDatabaseAvailable, msg, s.now)
		st.SetCondition(backupv1alpha1.ConditionSearchReindexRequired, metav1.ConditionTrue, backupv1alpha1.ReasonDatabaseRestoredWithoutIndex,
			backupv1alpha1.SearchReindexMessage, s.now)
		s.after(func() {
			r.recorder().normal(rr, backupv1alpha1.ReasonDatabaseAvailable, "RestoreDatabase", "Database restored: %s", msg)
		})
		return stepDone, nil
	case provider.DatabaseInstanceFailed:
		return stepResult{}, failWith(backupv1alpha1.ReasonDatabaseFailed,
			"instance %s failed while being restored (status %s); delete this RestoreRequest to remove it", db.TargetInstanceID, inst.RawStatus)
	}
	waited := s.now.Sub(st.Condition(backupv1alpha1.ConditionDatabaseRestored).LastTransitionTime.Time)
	return stepResult{requeueAfter: r.restorePollDelay(waited)}, nil
}

// instanceSettings are the source instance's recorded settings with the spec's
// overrides; publiclyAccessible is false unless the spec sets it.
func (r *RestoreRequestReconciler) instanceSettings(s *restoreScope) provider.DatabaseInstanceSettings {
	var set provider.DatabaseInstanceSettings
	if rec := recordedInstance(s.src); rec != nil {
		set = provider.DatabaseInstanceSettings{
			InstanceClass: rec.InstanceClass, StorageType: rec.StorageType, AllocatedStorageGiB: rec.AllocatedStorageGiB, Iops: rec.Iops,
			ParameterGroup: rec.ParameterGroup, OptionGroup: rec.OptionGroup, SubnetGroup: rec.SubnetGroup,
			SecurityGroupIDs: append([]string(nil), rec.SecurityGroupIDs...), Port: rec.Port, MultiAZ: rec.MultiAZ,
			Tags: maps.Clone(rec.Tags),
		}
	}
	// A default option group ("default:<engine>-<version>") is the one RDS gives a
	// restored instance anyway; naming it can only go wrong (the snapshot's engine
	// version may have another default, and emulators do not know it).
	if strings.HasPrefix(set.OptionGroup, "default:") {
		set.OptionGroup = ""
	}
	db := s.rr.Spec.Database
	if db.InstanceClass != "" {
		set.InstanceClass = db.InstanceClass
	}
	if db.SubnetGroupName != "" {
		set.SubnetGroup = db.SubnetGroupName
	}
	if len(db.SecurityGroupIDs) > 0 {
		set.SecurityGroupIDs = append([]string(nil), db.SecurityGroupIDs...)
	}
	if db.MultiAZ != nil {
		set.MultiAZ = *db.MultiAZ
	}
	set.PubliclyAccessible = db.PubliclyAccessible != nil && *db.PubliclyAccessible
	return set
}

// recordedInstance is what the backup recorded about its source instance: the
// manifest's database.sourceInstance (verified with the manifest, and there for a
// restore from a manifest URL too), else the BackupRequest's status.
//
// The resources those settings name (subnet group, security groups, parameter and
// option groups, tags) carry no ownership this controller can check. Only a manifest a
// BackupRequest of the project vouches for (its recorded checksum, checked when the
// source was resolved) may choose them: a manifest read from a URL alone could have
// been written by anyone with write access to the project's bucket, naming another
// project's network. From such a manifest only the sizing is taken; the spec names the
// network (spec.database.subnetGroupName, securityGroupIds).
func recordedInstance(src *loadedSource) *backupv1alpha1.DatabaseInstanceSettings {
	if db := src.manifest.Database; db != nil && db.SourceInstance != nil {
		si := db.SourceInstance
		rec := &backupv1alpha1.DatabaseInstanceSettings{
			InstanceClass: si.InstanceClass, StorageType: si.StorageType, AllocatedStorageGiB: si.AllocatedStorageGiB, Iops: si.Iops,
			Port: si.Port, MultiAZ: si.MultiAZ, PubliclyAccessible: si.PubliclyAccessible,
		}
		if src.br != nil {
			rec.ParameterGroup, rec.OptionGroup, rec.SubnetGroup = si.ParameterGroup, si.OptionGroup, si.SubnetGroup
			rec.SecurityGroupIDs, rec.Tags = si.SecurityGroupIDs, si.Tags
		}
		return rec
	}
	if src.br != nil && src.br.Status.Database != nil && src.br.Status.Database.SourceInstance != nil {
		return src.br.Status.Database.SourceInstance
	}
	return nil
}
