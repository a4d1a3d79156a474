package fake

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// DescribeDatabaseInstance implements provider.Provider. A restored instance becomes
// Available (and gets its endpoint) once InstanceReadyAfter has passed.
func (p *Provider) DescribeDatabaseInstance(ctx context.Context, instanceID string) (*provider.DatabaseInstance, error) {
	if err := p.enter(ctx, "DescribeDatabaseInstance"); err != nil {
		return nil, err
	}
	if instanceID == "" {
		return nil, fakeError(provider.KindInvalidInput, "DescribeDBInstances", instanceID, "database instance id is required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	inst, ok := p.instances[instanceID]
	if !ok && !p.RequireInstances {
		// Like CreateDatabaseSnapshot, tests without ownership checks back up any
		// instance id: it looks like one SetInstanceTags would register, untagged.
		return &provider.DatabaseInstance{
			InstanceID: instanceID, InstanceARN: "arn:fake:rds:db:" + instanceID, State: provider.DatabaseInstanceAvailable,
			RawStatus: "available", Engine: "postgres", EngineVersion: "15.4", Endpoint: instanceID + ".fake.rds:5432",
			Settings: DefaultInstanceSettings(),
		}, nil
	}
	if !ok {
		return nil, fakeError(provider.KindNotFound, "DescribeDBInstances", instanceID, fmt.Sprintf("database instance %s not found", instanceID))
	}
	p.settle(inst)
	return cloneInstance(inst.info), nil
}

// settle moves a restored instance to Available once its time has come; p.mu is held.
func (p *Provider) settle(inst *instance) {
	if inst.info.State == provider.DatabaseInstanceCreating && p.Clock.Now().Sub(inst.created) >= p.InstanceReadyAfter {
		inst.info.State, inst.info.RawStatus = provider.DatabaseInstanceAvailable, "available"
		inst.info.Endpoint = fmt.Sprintf("%s.fake.rds:%d", inst.info.InstanceID, inst.info.Settings.Port)
	}
}

// RestoreDatabaseInstance implements provider.Provider with the AWS provider's rules:
// the snapshot must exist and be available, an existing target is adopted only when
// its owner tags name req.Owner, and zero settings fall back to what RDS would use
// (the snapshot's storage, the default groups) while MultiAZ and PubliclyAccessible
// are always the request's.
func (p *Provider) RestoreDatabaseInstance(ctx context.Context, req provider.RestoreDatabaseRequest) (*provider.DatabaseInstance, error) {
	if err := p.enter(ctx, "RestoreDatabaseInstance"); err != nil {
		return nil, err
	}
	const op = "RestoreDBInstanceFromDBSnapshot"
	if req.SnapshotID == "" || req.TargetInstanceID == "" || req.Owner.Namespace == "" || req.Owner.Name == "" || req.Owner.UID == "" {
		return nil, fakeError(provider.KindInvalidInput, op, req.TargetInstanceID,
			"snapshot id, target instance id and owner namespace, name and uid are required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if inst, ok := p.instances[req.TargetInstanceID]; ok {
		return p.adopt(op, inst, req.Owner)
	}
	snap, ok := p.snapshots[req.SnapshotID]
	if !ok {
		return nil, fakeError(provider.KindNotFound, op, req.SnapshotID, "database snapshot "+req.SnapshotID+" not found")
	}
	if snap.status.State == provider.SnapshotCreating && p.Clock.Now().Sub(snap.created) >= p.SnapshotReadyAfter {
		snap.status.State, snap.status.RawStatus, snap.status.PercentProgress = provider.SnapshotAvailable, "available", 100
	}
	if snap.status.State != provider.SnapshotAvailable {
		return nil, fakeError(provider.KindInvalidState, op, req.SnapshotID, fmt.Sprintf(
			"database snapshot %s is not in a state that allows %s (it is %s)", req.SnapshotID, op, snap.status.RawStatus))
	}

	settings := DefaultInstanceSettings()
	settings.AllocatedStorageGiB = int32(snap.status.SizeBytes >> 30)
	if source, ok := p.instances[snap.status.InstanceID]; ok {
		// RDS takes the class and storage from the snapshot, which has the source's.
		settings.InstanceClass = source.info.Settings.InstanceClass
		settings.StorageType = source.info.Settings.StorageType
		settings.Iops = source.info.Settings.Iops
	}
	s := req.Settings
	settings.InstanceClass = firstNonEmpty(s.InstanceClass, settings.InstanceClass)
	settings.StorageType = firstNonEmpty(s.StorageType, settings.StorageType)
	settings.ParameterGroup = firstNonEmpty(s.ParameterGroup, settings.ParameterGroup)
	settings.OptionGroup = firstNonEmpty(s.OptionGroup, settings.OptionGroup)
	settings.SubnetGroup = firstNonEmpty(s.SubnetGroup, settings.SubnetGroup)
	if s.AllocatedStorageGiB != 0 {
		if s.AllocatedStorageGiB < settings.AllocatedStorageGiB {
			return nil, fakeError(provider.KindInvalidInput, op, req.TargetInstanceID, fmt.Sprintf(
				"AWS refused %s on database instance %s as invalid (the allocated storage can't be less than the snapshot's)", op, req.TargetInstanceID))
		}
		settings.AllocatedStorageGiB = s.AllocatedStorageGiB
	}
	if s.Iops != 0 {
		settings.Iops = s.Iops
	}
	if s.Port != 0 {
		settings.Port = s.Port
	}
	if len(s.SecurityGroupIDs) > 0 {
		settings.SecurityGroupIDs = slices.Clone(s.SecurityGroupIDs)
	}
	settings.MultiAZ, settings.PubliclyAccessible = s.MultiAZ, s.PubliclyAccessible
	settings.Tags = provider.RestoredInstanceTags(s.Tags, req.Owner)

	inst := &instance{created: p.Clock.Now(), info: provider.DatabaseInstance{
		InstanceID: req.TargetInstanceID, InstanceARN: "arn:fake:rds:db:" + req.TargetInstanceID,
		State: provider.DatabaseInstanceCreating, RawStatus: "creating",
		Engine: snap.status.Engine, EngineVersion: snap.status.EngineVersion,
		Settings: settings, Owner: provider.OwnerFromTags(settings.Tags),
		IAMAuthentication: req.IAMAuthentication,
	}}
	p.instances[req.TargetInstanceID] = inst
	return cloneInstance(inst.info), nil
}

// CreateDatabaseInstance implements provider.Provider with the AWS provider's rules:
// an existing target is adopted only when its owner tags name req.Owner; zero
// settings fall back to the defaults, MultiAZ and PubliclyAccessible are always the
// request's. The new instance is Creating until InstanceReadyAfter has passed.
func (p *Provider) CreateDatabaseInstance(ctx context.Context, req provider.CreateDatabaseRequest) (*provider.DatabaseInstance, error) {
	if err := p.enter(ctx, "CreateDatabaseInstance"); err != nil {
		return nil, err
	}
	const op = "CreateDBInstance"
	if req.TargetInstanceID == "" || req.Engine == "" || req.MasterUser == "" || req.MasterPassword == "" ||
		req.Owner.Namespace == "" || req.Owner.Name == "" || req.Owner.UID == "" {
		return nil, fakeError(provider.KindInvalidInput, op, req.TargetInstanceID,
			"target instance id, engine, master user and password, and owner namespace, name and uid are required")
	}
	if req.Settings.InstanceClass == "" || req.Settings.AllocatedStorageGiB <= 0 {
		return nil, fakeError(provider.KindInvalidInput, op, req.TargetInstanceID, "a new instance needs an instance class and its allocated storage")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if inst, ok := p.instances[req.TargetInstanceID]; ok {
		return p.adopt(op, inst, req.Owner)
	}
	settings := DefaultInstanceSettings()
	settings.ParameterGroup, settings.OptionGroup = "", "" // the engine's defaults
	if req.Engine != "postgres" {
		settings.Port = 3306
	}
	s := req.Settings
	settings.InstanceClass = s.InstanceClass
	settings.AllocatedStorageGiB = s.AllocatedStorageGiB
	settings.StorageType = firstNonEmpty(s.StorageType, settings.StorageType)
	settings.ParameterGroup = s.ParameterGroup
	settings.OptionGroup = s.OptionGroup
	settings.SubnetGroup = s.SubnetGroup
	settings.Iops = s.Iops
	if s.Port != 0 {
		settings.Port = s.Port
	}
	settings.SecurityGroupIDs = slices.Clone(s.SecurityGroupIDs)
	settings.MultiAZ, settings.PubliclyAccessible = s.MultiAZ, s.PubliclyAccessible
	settings.Tags = provider.RestoredInstanceTags(s.Tags, req.Owner)

	inst := &instance{created: p.Clock.Now(),
		info: provider.DatabaseInstance{
			InstanceID: req.TargetInstanceID, InstanceARN: "arn:fake:rds:db:" + req.TargetInstanceID,
			State: provider.DatabaseInstanceCreating, RawStatus: "creating",
			Engine: req.Engine, EngineVersion: req.EngineVersion,
			Settings: settings, Owner: provider.OwnerFromTags(settings.Tags),
		}}
	p.instances[req.TargetInstanceID] = inst
	return cloneInstance(inst.info), nil
}

// DeleteDatabaseInstance implements provider.Provider: only an instance whose owner
// tags name owner is deleted; a missing one counts as deleted.
func (p *Provider) DeleteDatabaseInstance(ctx context.Context, instanceID string, owner provider.BackupOwner) error {
	if err := p.enter(ctx, "DeleteDatabaseInstance"); err != nil {
		return err
	}
	const op = "DeleteDBInstance"
	if instanceID == "" || owner.Namespace == "" || owner.Name == "" || owner.UID == "" {
		return fakeError(provider.KindInvalidInput, op, instanceID, "instance id and owner namespace, name and uid are required")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	inst, ok := p.instances[instanceID]
	if !ok {
		return nil
	}
	if !provider.SameOwner(inst.info.Owner, owner) {
		return fakeError(provider.KindConflict, op, instanceID, provider.NotOwnedInstanceMessage(instanceID, inst.info.Owner, owner)+": not deleting it")
	}
	delete(p.instances, instanceID)
	return nil
}

// ListDatabaseInstances implements provider.Provider, in identifier order.
func (p *Provider) ListDatabaseInstances(ctx context.Context, idPrefix string) ([]provider.DatabaseInstance, error) {
	if err := p.enter(ctx, "ListDatabaseInstances"); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []provider.DatabaseInstance
	for id, inst := range p.instances {
		if strings.HasPrefix(id, idPrefix) {
			out = append(out, *cloneInstance(inst.info))
		}
	}
	slices.SortFunc(out, func(a, b provider.DatabaseInstance) int { return strings.Compare(a.InstanceID, b.InstanceID) })
	return out, nil
}

// cloneInstance copies an instance description so callers cannot change the fake's state.
func cloneInstance(info provider.DatabaseInstance) *provider.DatabaseInstance {
	info.Settings.Tags = cloneTags(info.Settings.Tags)
	info.Settings.SecurityGroupIDs = slices.Clone(info.Settings.SecurityGroupIDs)
	return &info
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// adopt returns the existing instance inst when its owner tags name owner (a retried
// restore or create); anyone else's is a conflict, never touched. p.mu is held.
func (p *Provider) adopt(op string, inst *instance, owner provider.BackupOwner) (*provider.DatabaseInstance, error) {
	if !provider.SameOwner(inst.info.Owner, owner) {
		return nil, fakeError(provider.KindConflict, op, inst.info.InstanceID,
			provider.NotOwnedInstanceMessage(inst.info.InstanceID, inst.info.Owner, owner)+": choose another target instance id")
	}
	p.settle(inst)
	adopted := cloneInstance(inst.info)
	adopted.Adopted = true
	return adopted, nil
}
