package controller

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/dump"
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
//
// A dump loaded into a new instance (spec.database.connectionSecretRef too) starts
// the instance empty instead (startInstanceCreate), with the same ownership, restart
// safety and polling; once it is available the step is done and the dump step loads
// the dump into it, owning DatabaseRestored from then on.
func (r *RestoreRequestReconciler) reconcileRestoreDatabase(ctx context.Context, s *restoreScope) (stepResult, error) {
	rr, st := s.rr, s.status()
	db := rr.Spec.Database
	if db == nil || db.TargetInstanceID == "" || rr.Spec.VerifyOnly || st.IsConditionTrue(backupv1alpha1.ConditionDatabaseRestored) {
		return stepDone, nil
	}
	creates := createsInstance(rr)
	if creates && st.Database != nil && st.Database.Endpoint != "" {
		return stepDone, nil // available: the dump step loads it
	}
	switch {
	case st.Database != nil && st.Database.Created:
		return r.pollDatabaseRestore(ctx, s)
	case creates:
		return r.startInstanceCreate(ctx, s)
	}
	return r.startDatabaseRestore(ctx, s)
}

// createsInstance is a restore that creates a new instance and loads the backup's
// dump into it: spec.database names both the instance and the Secret.
func createsInstance(rr *backupv1alpha1.RestoreRequest) bool {
	db := rr.Spec.Database
	return db != nil && db.TargetInstanceID != "" && db.ConnectionSecretRef != nil && !rr.Spec.VerifyOnly
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
		return stepResult{}, failWith(backupv1alpha1.ReasonDatabaseFailed, "instance %s disappeared while it was being %s", db.TargetInstanceID, restoredOrCreated(rr))
	}
	if err != nil {
		return stepResult{}, fmt.Errorf("check instance %s: %w", db.TargetInstanceID, err)
	}
	st.Database.Status = inst.RawStatus
	if inst.InstanceARN != "" {
		st.Database.InstanceARN = inst.InstanceARN
	}
	verb := restoredOrCreated(rr)
	switch inst.State {
	case provider.DatabaseInstanceAvailable:
		st.Database.Endpoint = inst.Endpoint
		if createsInstance(rr) {
			msg := fmt.Sprintf("instance %s is available at %s, empty; loading the dump into it", db.TargetInstanceID, inst.Endpoint)
			st.SetCondition(backupv1alpha1.ConditionDatabaseRestored, metav1.ConditionFalse, backupv1alpha1.ReasonRestoringDatabase, msg, s.now)
			return stepDone, nil
		}
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
			"instance %s failed while being %s (status %s); delete this RestoreRequest to remove it", db.TargetInstanceID, verb, inst.RawStatus)
	}
	waited := s.now.Sub(st.Condition(backupv1alpha1.ConditionDatabaseRestored).LastTransitionTime.Time)
	return stepResult{requeueAfter: r.restorePollDelay(waited)}, nil
}

// restoredOrCreated says what happens to the new instance before it is available.
func restoredOrCreated(rr *backupv1alpha1.RestoreRequest) string {
	if createsInstance(rr) {
		return "created"
	}
	return "restored"
}

// startInstanceCreate asks the cloud for the new, empty instance a dump is loaded
// into (or adopts the one a run before a restart started): the dump's engine and
// major version, the backup's recorded settings with the spec's overrides
// (newInstanceSettings), and the master user, password and database of the Secret.
// The password is read here only to be passed to the create call, the one way the
// cloud takes it; it goes nowhere else.
func (r *RestoreRequestReconciler) startInstanceCreate(ctx context.Context, s *restoreScope) (stepResult, error) {
	rr, st := s.rr, s.status()
	db := rr.Spec.Database
	d := s.src.manifest.Database
	user, password, database, err := r.masterCredentials(ctx, rr)
	if err != nil {
		return stepResult{}, err
	}
	req := provider.CreateDatabaseRequest{
		TargetInstanceID: db.TargetInstanceID, Engine: d.Dump.Engine, EngineVersion: engineMajorVersion(d.Dump.Engine, d.EngineVersion, d.Dump.ServerVersion),
		Settings: r.newInstanceSettings(s), MasterUser: user, MasterPassword: password, DatabaseName: database, Owner: restoreOwner(rr),
	}
	inst, err := s.prov.CreateDatabaseInstance(ctx, req)
	r.observeCall("CreateDatabaseInstance", err)
	if err != nil {
		return stepResult{}, fmt.Errorf("create instance %s for the dump load: %w", db.TargetInstanceID, err)
	}
	// Created as soon as the call returned (adopted or new), as for a snapshot restore.
	st.Database = &backupv1alpha1.DatabaseRestoreStatus{
		InstanceID: inst.InstanceID, InstanceARN: inst.InstanceARN, Status: inst.RawStatus, Created: true,
	}
	verb := "started"
	if inst.Adopted {
		verb = "adopted (started before a restart)"
	}
	version := req.EngineVersion
	if version == "" {
		version = "the default version"
	}
	msg := fmt.Sprintf("instance %s %s empty (%s %s, %s, %d GiB) for the dump %s", db.TargetInstanceID, verb, req.Engine, version,
		req.Settings.InstanceClass, req.Settings.AllocatedStorageGiB, s.src.dumpLocation())
	st.SetCondition(backupv1alpha1.ConditionDatabaseRestored, metav1.ConditionFalse, backupv1alpha1.ReasonRestoringDatabase, msg, s.now)
	s.after(func() {
		r.recorder().normal(rr, backupv1alpha1.ReasonRestoringDatabase, "RestoreDatabase", "Database restore: %s", msg)
	})
	return stepResult{requeueAfter: r.restorePollDelay(0)}, nil
}

// masterCredentials reads the new instance's master user, password and database
// from the Secret of spec.database.connectionSecretRef (around the cache: Secrets are
// not watched). Validation checked the keys; a Secret changed since is a failure that
// names the Secret and the key, never a value.
func (r *RestoreRequestReconciler) masterCredentials(ctx context.Context, rr *backupv1alpha1.RestoreRequest) (user string, password provider.Password, database string, err error) {
	secret, err := readConnectionSecret(ctx, r.APIReader, rr.Namespace, rr.Spec.Database.ConnectionSecretRef.Name, "spec.database.connectionSecretRef", masterKeys, false)
	if err != nil {
		return "", "", "", err
	}
	data := secret.Data
	return string(data[dump.SecretKeyUser]), provider.Password(data[dump.SecretKeyPassword]), string(data[dump.SecretKeyDatabase]), nil
}

// newInstanceStorageFloorGiB is the least storage a new instance gets (RDS's minimum
// for gp2 and gp3), and newInstanceStorageFactor how many times the dump's size it
// gets by default: a loaded database with its indexes is several times its
// compressed dump.
const (
	newInstanceStorageFloorGiB = 20
	newInstanceStorageFactor   = 3
)

// newInstanceSettings are the settings of the new instance a dump is loaded into:
// instanceSettings (the recorded source instance with the spec's overrides), with
// the storage of spec.database.allocatedStorageGiB or else the larger of three times
// the dump's size, 20 GiB and the recorded source's.
func (r *RestoreRequestReconciler) newInstanceSettings(s *restoreScope) provider.DatabaseInstanceSettings {
	set := r.instanceSettings(s)
	if size := s.rr.Spec.Database.AllocatedStorageGiB; size != nil {
		set.AllocatedStorageGiB = *size
		return set
	}
	const gib = int64(1) << 30
	dumpGiB := (s.src.manifest.Database.Dump.SizeBytes + gib - 1) / gib
	set.AllocatedStorageGiB = max(set.AllocatedStorageGiB, int32(min(dumpGiB*newInstanceStorageFactor, 65536)), newInstanceStorageFloorGiB)
	return set
}

// engineMajorVersion is the major version a new instance of engine is created with:
// of the source instance's recorded version (a Snapshot-source dump's), else of the
// version the dumped server reported ("16.4 (Debian 16.4-1)" is 16; MySQL "8.0.36"
// is 8.0; "10.11.6-MariaDB-1" is 10.11). "" when neither parses: the cloud's default.
func engineMajorVersion(engine string, versions ...string) string {
	for _, v := range versions {
		v = strings.TrimSpace(v)
		end := strings.IndexFunc(v, func(c rune) bool { return c != '.' && (c < '0' || c > '9') })
		if end >= 0 {
			v = v[:end]
		}
		parts := strings.Split(v, ".")
		if len(parts) == 0 || parts[0] == "" {
			continue
		}
		major, err := strconv.Atoi(parts[0])
		if err != nil {
			continue
		}
		// PostgreSQL numbers its majors 10, 11, …; before 10 (and MySQL and MariaDB
		// always) the major is two numbers.
		if engine == dump.EnginePostgres && major >= 10 {
			return parts[0]
		}
		if len(parts) > 1 && parts[1] != "" {
			return parts[0] + "." + parts[1]
		}
	}
	return ""
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
