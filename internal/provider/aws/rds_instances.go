package aws

import (
	"context"
	"net"
	"strconv"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// gp3MinProvisionedGiB is the allocated storage below which RDS for PostgreSQL (and
// MySQL, MariaDB) gives gp3 a fixed baseline and refuses an explicit Iops, although
// DescribeDBInstances reports the baseline (3,000) as the instance's Iops.
const gp3MinProvisionedGiB = 400

// DescribeDatabaseInstance describes an RDS instance: state, endpoint and the settings
// a restore needs to recreate it. A missing instance is KindNotFound.
func (p *Provider) DescribeDatabaseInstance(ctx context.Context, instanceID string) (*provider.DatabaseInstance, error) {
	if instanceID == "" {
		return nil, invalidInput("DescribeDBInstances", instanceID, "database instance id is required")
	}
	return p.describeInstance(ctx, instanceID)
}

// describeInstance is DescribeDBInstances of one instance, with its tags (from TagList,
// or ListTagsForResource where the description leaves TagList out).
func (p *Provider) describeInstance(ctx context.Context, instanceID string) (*provider.DatabaseInstance, error) {
	out, err := p.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: &instanceID})
	if err != nil {
		return nil, p.classify("DescribeDBInstances", instanceID, err)
	}
	if len(out.DBInstances) == 0 {
		return nil, p.notFound("DescribeDBInstances", instanceID)
	}
	inst := out.DBInstances[0]
	tags := inst.TagList
	// The SDK decodes an empty <TagList/> to an empty slice: only a description
	// without the element (older servers, some emulators) needs the second call.
	if tags == nil && inst.DBInstanceArn != nil {
		listed, err := p.rds.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: inst.DBInstanceArn})
		if err != nil {
			return nil, p.classify("ListTagsForResource", instanceID, err)
		}
		tags = listed.TagList
	}
	return databaseInstance(inst, tagMap(tags)), nil
}

// ListDatabaseInstances lists, page by page, the instances whose identifier begins
// with idPrefix, with their tags.
func (p *Provider) ListDatabaseInstances(ctx context.Context, idPrefix string) ([]provider.DatabaseInstance, error) {
	const op = "DescribeDBInstances"
	var out []provider.DatabaseInstance
	pages := rds.NewDescribeDBInstancesPaginator(p.rds, &rds.DescribeDBInstancesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, p.classify(op, idPrefix+"*", err)
		}
		for _, inst := range page.DBInstances {
			id := awssdk.ToString(inst.DBInstanceIdentifier)
			if !strings.HasPrefix(id, idPrefix) {
				continue
			}
			tags := inst.TagList
			if tags == nil && inst.DBInstanceArn != nil {
				listed, err := p.rds.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: inst.DBInstanceArn})
				if err != nil {
					return nil, p.classify("ListTagsForResource", id, err)
				}
				tags = listed.TagList
			}
			out = append(out, *databaseInstance(inst, tagMap(tags)))
		}
	}
	return out, nil
}

func databaseInstance(inst rdstypes.DBInstance, tags map[string]string) *provider.DatabaseInstance {
	raw := awssdk.ToString(inst.DBInstanceStatus)
	s := provider.DatabaseInstanceSettings{
		InstanceClass:       awssdk.ToString(inst.DBInstanceClass),
		StorageType:         awssdk.ToString(inst.StorageType),
		AllocatedStorageGiB: awssdk.ToInt32(inst.AllocatedStorage),
		Iops:                awssdk.ToInt32(inst.Iops),
		Port:                awssdk.ToInt32(inst.DbInstancePort),
		MultiAZ:             awssdk.ToBool(inst.MultiAZ),
		PubliclyAccessible:  awssdk.ToBool(inst.PubliclyAccessible),
		Tags:                tags,
	}
	if len(inst.DBParameterGroups) > 0 {
		s.ParameterGroup = awssdk.ToString(inst.DBParameterGroups[0].DBParameterGroupName)
	}
	if len(inst.OptionGroupMemberships) > 0 {
		s.OptionGroup = awssdk.ToString(inst.OptionGroupMemberships[0].OptionGroupName)
	}
	if inst.DBSubnetGroup != nil {
		s.SubnetGroup = awssdk.ToString(inst.DBSubnetGroup.DBSubnetGroupName)
	}
	for _, sg := range inst.VpcSecurityGroups {
		if id := awssdk.ToString(sg.VpcSecurityGroupId); id != "" {
			s.SecurityGroupIDs = append(s.SecurityGroupIDs, id)
		}
	}
	d := &provider.DatabaseInstance{
		InstanceID:    awssdk.ToString(inst.DBInstanceIdentifier),
		InstanceARN:   awssdk.ToString(inst.DBInstanceArn),
		State:         instanceState(raw),
		RawStatus:     raw,
		Engine:        awssdk.ToString(inst.Engine),
		EngineVersion: awssdk.ToString(inst.EngineVersion),
		Settings:      s,
		Owner:         provider.OwnerFromTags(tags),

		IAMAuthentication: awssdk.ToBool(inst.IAMDatabaseAuthenticationEnabled),
	}
	if e := inst.Endpoint; e != nil && awssdk.ToString(e.Address) != "" {
		port := awssdk.ToInt32(e.Port)
		if port == 0 {
			port = s.Port
		}
		d.Endpoint = net.JoinHostPort(awssdk.ToString(e.Address), strconv.Itoa(int(port)))
		if s.Port == 0 {
			d.Settings.Port = port
		}
	}
	return d
}

// instanceState maps RDS DB instance statuses to neutral states: only "available" is
// Available (as AWS's own db-instance-available waiter has it); the statuses an
// instance passes through on its way there are Creating; statuses it does not leave
// by itself are Failed. Statuses RDS may add later (and stopped, stopping) map to
// Unknown, which callers treat as "keep polling".
func instanceState(status string) provider.DatabaseInstanceState {
	switch status {
	case "available":
		return provider.DatabaseInstanceAvailable
	case "creating", "backing-up", "modifying", "rebooting", "renaming", "resetting-master-credentials",
		"starting", "upgrading", "maintenance", "moving-to-vpc", "converting-to-vpc",
		"storage-initialization", "storage-optimization":
		return provider.DatabaseInstanceCreating
	case "failed", "incompatible-restore", "incompatible-parameters", "incompatible-network",
		"incompatible-option-group", "incompatible-credentials", "storage-full", "restore-error",
		"insufficient-capacity", "inaccessible-encryption-credentials":
		return provider.DatabaseInstanceFailed
	case "deleting":
		return provider.DatabaseInstanceDeleting
	}
	if strings.HasPrefix(status, "configuring-") {
		return provider.DatabaseInstanceCreating // configuring-enhanced-monitoring, -iam-database-auth, -log-exports
	}
	return provider.DatabaseInstanceUnknown
}

// RestoreDatabaseInstance starts req.TargetInstanceID from snapshot req.SnapshotID with
// RestoreDBInstanceFromDBSnapshot, passing every non-zero setting explicitly (RDS
// would otherwise fall back to the default parameter group and security group) and
// PubliclyAccessible and MultiAZ always, tagged with the recorded tags and the owner.
//
// An existing instance is never touched: it is adopted (Adopted=true) when its owner
// tags name req.Owner (a retry, or a controller restarted after the call) and is a
// KindConflict error otherwise. It is described before the restore is asked for, so
// a retry adopts its instance even after the snapshot is gone, and again when RDS
// answers DBInstanceAlreadyExists (another caller won the race).
func (p *Provider) RestoreDatabaseInstance(ctx context.Context, req provider.RestoreDatabaseRequest) (*provider.DatabaseInstance, error) {
	const op = "RestoreDBInstanceFromDBSnapshot"
	if req.SnapshotID == "" || req.TargetInstanceID == "" || req.Owner.Namespace == "" || req.Owner.Name == "" || req.Owner.UID == "" {
		return nil, invalidInput(op, req.TargetInstanceID, "snapshot id, target instance id and owner namespace, name and uid are required")
	}
	return p.startOwned(ctx, op, req.TargetInstanceID+"/"+req.SnapshotID, req.TargetInstanceID, req.Owner, req.Settings.Tags,
		func() (*rdstypes.DBInstance, error) {
			out, err := p.rds.RestoreDBInstanceFromDBSnapshot(ctx, restoreInput(req))
			if err != nil {
				return nil, err
			}
			return out.DBInstance, nil
		})
}

// startOwned starts the instance id with start unless it exists: an existing one is
// adopted when its owner tags name owner and is a KindConflict error otherwise, both
// before start and when RDS answers DBInstanceAlreadyExists (another caller won the
// race). A started instance carries tags and the owner's tags; resource names the
// request in errors.
func (p *Provider) startOwned(ctx context.Context, op, resource, id string, owner provider.BackupOwner, tags map[string]string,
	start func() (*rdstypes.DBInstance, error)) (*provider.DatabaseInstance, error) {
	if existing, err := p.adoptInstance(ctx, op, id, owner); err == nil || !provider.IsNotFound(err) {
		return existing, err
	}
	inst, err := start()
	if err == nil {
		return databaseInstance(*inst, provider.RestoredInstanceTags(tags, owner)), nil
	}
	if code := errorCode(err); code == "DBInstanceAlreadyExists" || code == "DBInstanceAlreadyExistsFault" {
		return p.adoptInstance(ctx, op, id, owner)
	}
	return nil, p.classify(op, resource, err)
}

// adoptInstance describes the target instance id and returns it when its owner tags
// name owner; a missing instance is KindNotFound, anyone else's KindConflict.
func (p *Provider) adoptInstance(ctx context.Context, op, id string, owner provider.BackupOwner) (*provider.DatabaseInstance, error) {
	existing, err := p.describeInstance(ctx, id)
	if err != nil {
		return nil, err
	}
	if !sameOwner(existing.Owner, owner) {
		return nil, conflict(op, id, provider.NotOwnedInstanceMessage(id, existing.Owner, owner)+": choose another target instance id")
	}
	existing.Adopted = true
	return existing, nil
}

// CreateDatabaseInstance starts the new, empty instance req.TargetInstanceID with
// CreateDBInstance: the request's engine and major version, master user, password and
// initial database, every non-zero setting explicitly, PubliclyAccessible and MultiAZ
// always, storage encrypted with the account's default key, tagged with the recorded
// tags and the owner.
//
// An existing instance is never touched: it is adopted (Adopted=true) when its owner
// tags name req.Owner and is a KindConflict error otherwise, described before the
// create is asked for and again when RDS answers DBInstanceAlreadyExists. The
// password is sent only in the create call; no error names it (RDS's own messages
// do not repeat it, and the resource named is the instance id).
func (p *Provider) CreateDatabaseInstance(ctx context.Context, req provider.CreateDatabaseRequest) (*provider.DatabaseInstance, error) {
	const op = "CreateDBInstance"
	if req.TargetInstanceID == "" || req.Engine == "" || req.MasterUser == "" || req.MasterPassword == "" ||
		req.Owner.Namespace == "" || req.Owner.Name == "" || req.Owner.UID == "" {
		return nil, invalidInput(op, req.TargetInstanceID, "target instance id, engine, master user and password, and owner namespace, name and uid are required")
	}
	if req.Settings.InstanceClass == "" || req.Settings.AllocatedStorageGiB <= 0 {
		return nil, invalidInput(op, req.TargetInstanceID, "a new instance needs an instance class and its allocated storage")
	}
	return p.startOwned(ctx, op, req.TargetInstanceID, req.TargetInstanceID, req.Owner, req.Settings.Tags,
		func() (*rdstypes.DBInstance, error) {
			out, err := p.rds.CreateDBInstance(ctx, createInput(req))
			if err != nil {
				return nil, err
			}
			return out.DBInstance, nil
		})
}

// createInput is the CreateDBInstance request of req.
func createInput(req provider.CreateDatabaseRequest) *rds.CreateDBInstanceInput {
	s := req.Settings
	o := optionalSettings(s)
	in := &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: &req.TargetInstanceID,
		Engine:               &req.Engine,
		EngineVersion:        optionalString(req.EngineVersion),
		DBInstanceClass:      &s.InstanceClass,
		AllocatedStorage:     awssdk.Int32(s.AllocatedStorageGiB),
		MasterUsername:       &req.MasterUser,
		MasterUserPassword:   awssdk.String(req.MasterPassword.Reveal()),
		DBName:               optionalString(req.DatabaseName),
		// Always explicit, as for a restore; and encrypted, as a copy of production
		// data must be (CreateDBInstance's default is unencrypted).
		PubliclyAccessible:   awssdk.Bool(s.PubliclyAccessible),
		MultiAZ:              awssdk.Bool(s.MultiAZ),
		StorageEncrypted:     awssdk.Bool(true),
		Tags:                 rdsTags(provider.RestoredInstanceTags(s.Tags, req.Owner)),
		StorageType:          o.storageType,
		DBParameterGroupName: o.parameterGroup,
		OptionGroupName:      o.optionGroup,
		DBSubnetGroupName:    o.subnetGroup,
		Iops:                 o.iops,
		Port:                 o.port,
		VpcSecurityGroupIds:  o.securityGroupIDs,
	}
	return in
}

// instanceOptions are the settings a new instance gets only when they are set: nil
// (or empty) leaves RDS's default.
type instanceOptions struct {
	storageType, parameterGroup, optionGroup, subnetGroup *string
	iops, port                                            *int32
	securityGroupIDs                                      []string
}

// optionalSettings are s's optional settings, for a create and a restore alike: an
// Iops only where the storage provisions one.
func optionalSettings(s provider.DatabaseInstanceSettings) instanceOptions {
	o := instanceOptions{
		storageType: optionalString(s.StorageType), parameterGroup: optionalString(s.ParameterGroup),
		optionGroup: optionalString(s.OptionGroup), subnetGroup: optionalString(s.SubnetGroup),
	}
	if s.Iops > 0 && provisionsIops(s.StorageType, s.AllocatedStorageGiB) {
		o.iops = awssdk.Int32(s.Iops)
	}
	if s.Port > 0 {
		o.port = awssdk.Int32(s.Port)
	}
	if len(s.SecurityGroupIDs) > 0 {
		o.securityGroupIDs = s.SecurityGroupIDs
	}
	return o
}

// optionalString is nil for "": the request leaves the field to RDS.
func optionalString(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// restoreInput is the RestoreDBInstanceFromDBSnapshot request of req.
func restoreInput(req provider.RestoreDatabaseRequest) *rds.RestoreDBInstanceFromDBSnapshotInput {
	s := req.Settings
	in := &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: &req.TargetInstanceID,
		DBSnapshotIdentifier: &req.SnapshotID,
		// Always explicit: a restore must never become reachable from the internet, or
		// lose its standby, because a default differs from what was asked.
		PubliclyAccessible: awssdk.Bool(s.PubliclyAccessible),
		MultiAZ:            awssdk.Bool(s.MultiAZ),
		Tags:               rdsTags(provider.RestoredInstanceTags(s.Tags, req.Owner)),
	}
	if req.IAMAuthentication {
		in.EnableIAMDatabaseAuthentication = awssdk.Bool(true)
	}
	o := optionalSettings(s)
	in.DBInstanceClass = optionalString(s.InstanceClass)
	in.StorageType, in.DBParameterGroupName, in.OptionGroupName, in.DBSubnetGroupName = o.storageType, o.parameterGroup, o.optionGroup, o.subnetGroup
	in.Iops, in.Port, in.VpcSecurityGroupIds = o.iops, o.port, o.securityGroupIDs
	if s.AllocatedStorageGiB > 0 {
		in.AllocatedStorage = awssdk.Int32(s.AllocatedStorageGiB)
	}
	return in
}

// provisionsIops reports whether RDS accepts an explicit Iops for this storage: io1 and
// io2 always, gp3 only from gp3MinProvisionedGiB (below it the baseline is fixed and
// an Iops is refused), gp2 and magnetic never.
func provisionsIops(storageType string, allocatedGiB int32) bool {
	switch storageType {
	case "io1", "io2":
		return true
	case "gp3":
		return allocatedGiB >= gp3MinProvisionedGiB
	}
	return false
}

// DeleteDatabaseInstance deletes instanceID, without a final snapshot and with its
// automated backups, when its owner tags name owner: a RestoreRequest removes only the
// instance it started. A missing (or already deleting) instance counts as deleted;
// anyone else's is a KindConflict error and is not touched.
func (p *Provider) DeleteDatabaseInstance(ctx context.Context, instanceID string, owner provider.BackupOwner) error {
	const op = "DeleteDBInstance"
	if instanceID == "" || owner.Namespace == "" || owner.Name == "" || owner.UID == "" {
		return invalidInput(op, instanceID, "instance id and owner namespace, name and uid are required")
	}
	existing, err := p.describeInstance(ctx, instanceID)
	if provider.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !sameOwner(existing.Owner, owner) {
		return conflict(op, instanceID, provider.NotOwnedInstanceMessage(instanceID, existing.Owner, owner)+": not deleting it")
	}
	if existing.State == provider.DatabaseInstanceDeleting {
		return nil
	}
	_, err = p.rds.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{
		DBInstanceIdentifier:   &instanceID,
		SkipFinalSnapshot:      awssdk.Bool(true),
		DeleteAutomatedBackups: awssdk.Bool(true),
	})
	if err != nil && kindOf(err) == provider.KindNotFound {
		return nil
	}
	return p.classify(op, instanceID, err)
}
