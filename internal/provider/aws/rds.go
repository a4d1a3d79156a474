package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// CreateDatabaseSnapshot starts a manual snapshot of req.InstanceID named
// SnapshotIdentifier(req.Owner) and tagged with the owner. When the snapshot already
// exists (a retry, or a controller restarted after the call) and carries the same
// owner tags and instance, it is adopted; otherwise the call is a KindConflict error.
func (p *Provider) CreateDatabaseSnapshot(ctx context.Context, req provider.CreateSnapshotRequest) (*provider.DatabaseSnapshotResult, error) {
	if req.InstanceID == "" || req.Owner.Namespace == "" || req.Owner.Name == "" || req.Owner.UID == "" {
		return nil, invalidInput("CreateDBSnapshot", req.InstanceID, "instance id and owner namespace, name and uid are required")
	}
	id := SnapshotIdentifier(req.Owner)
	out, err := p.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{
		DBInstanceIdentifier: &req.InstanceID,
		DBSnapshotIdentifier: &id,
		Tags:                 ownerTags(req.Owner),
	})
	if err == nil {
		return &provider.DatabaseSnapshotResult{
			SnapshotID:  id,
			SnapshotARN: awssdk.ToString(out.DBSnapshot.DBSnapshotArn),
			Status:      snapshotState(awssdk.ToString(out.DBSnapshot.Status)),
		}, nil
	}
	if kindOf(err) != provider.KindConflict {
		return nil, p.classify("CreateDBSnapshot", req.InstanceID+"/"+id, err)
	}
	return p.adoptSnapshot(ctx, id, req)
}

// adoptSnapshot decides whether the existing snapshot id is ours to continue with.
func (p *Provider) adoptSnapshot(ctx context.Context, id string, req provider.CreateSnapshotRequest) (*provider.DatabaseSnapshotResult, error) {
	existing, err := p.describeSnapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	if !sameOwner(existing.Owner, req.Owner) {
		return nil, conflict("CreateDBSnapshot", id, fmt.Sprintf(
			"database snapshot %s already exists and belongs to BackupRequest %s/%s (uid %q), not to %s/%s (uid %q)",
			id, existing.Owner.Namespace, existing.Owner.Name, existing.Owner.UID,
			req.Owner.Namespace, req.Owner.Name, req.Owner.UID))
	}
	if existing.InstanceID != req.InstanceID {
		return nil, conflict("CreateDBSnapshot", id, fmt.Sprintf(
			"database snapshot %s of this BackupRequest is of instance %s, not %s",
			id, existing.InstanceID, req.InstanceID))
	}
	return &provider.DatabaseSnapshotResult{
		SnapshotID:  id,
		SnapshotARN: existing.SnapshotARN,
		Status:      existing.State,
		Adopted:     true,
	}, nil
}

// GetDatabaseSnapshotStatus describes snapshot snapshotID; a missing one is KindNotFound.
func (p *Provider) GetDatabaseSnapshotStatus(ctx context.Context, snapshotID string) (*provider.SnapshotStatus, error) {
	if snapshotID == "" {
		return nil, invalidInput("DescribeDBSnapshots", snapshotID, "snapshot id is required")
	}
	return p.describeSnapshot(ctx, snapshotID)
}

func (p *Provider) describeSnapshot(ctx context.Context, id string) (*provider.SnapshotStatus, error) {
	out, err := p.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: &id})
	if err != nil {
		return nil, p.classify("DescribeDBSnapshots", id, err)
	}
	if len(out.DBSnapshots) == 0 {
		return nil, p.notFound("DescribeDBSnapshots", id)
	}
	s := out.DBSnapshots[0]
	tags := s.TagList
	if len(tags) == 0 && s.DBSnapshotArn != nil {
		// Some emulators leave TagList out of DescribeDBSnapshots. Best effort: without
		// the permission or on error the owner reads as empty, which can only make an
		// adoption a conflict, never adopt someone else's snapshot.
		if listed, err := p.rds.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: s.DBSnapshotArn}); err == nil {
			tags = listed.TagList
		}
	}
	return snapshotStatus(s, tags), nil
}

func snapshotStatus(s rdstypes.DBSnapshot, tags []rdstypes.Tag) *provider.SnapshotStatus {
	raw := awssdk.ToString(s.Status)
	return &provider.SnapshotStatus{
		SnapshotID:      awssdk.ToString(s.DBSnapshotIdentifier),
		SnapshotARN:     awssdk.ToString(s.DBSnapshotArn),
		InstanceID:      awssdk.ToString(s.DBInstanceIdentifier),
		State:           snapshotState(raw),
		RawStatus:       raw,
		PercentProgress: awssdk.ToInt32(s.PercentProgress),
		SizeBytes:       int64(awssdk.ToInt32(s.AllocatedStorage)) << 30,
		Engine:          awssdk.ToString(s.Engine),
		EngineVersion:   awssdk.ToString(s.EngineVersion),
		CreatedAt:       s.SnapshotCreateTime,
		Owner:           ownerFromTags(tags),
	}
}

// snapshotState maps RDS DB snapshot statuses to neutral states. Statuses RDS may add
// later map to SnapshotUnknown, which callers treat as "keep polling".
func snapshotState(status string) provider.SnapshotState {
	switch status {
	case "creating", "pending", "copying", "backing-up", "modifying", "upgrading":
		return provider.SnapshotCreating
	case "available":
		return provider.SnapshotAvailable
	case "failed", "incompatible-restore", "incompatible-parameters", "incompatible-network",
		"incompatible-option-group", "incompatible-credentials", "storage-full", "inaccessible-encryption-credentials":
		return provider.SnapshotFailed
	case "deleting", "deleted":
		return provider.SnapshotDeleting
	}
	return provider.SnapshotUnknown
}

// DeleteDatabaseSnapshot deletes snapshotID; a snapshot already gone counts as deleted.
// A snapshot still being created cannot be deleted yet: that is KindInvalidState.
func (p *Provider) DeleteDatabaseSnapshot(ctx context.Context, snapshotID string) error {
	if snapshotID == "" {
		return invalidInput("DeleteDBSnapshot", snapshotID, "snapshot id is required")
	}
	_, err := p.rds.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: &snapshotID})
	if err != nil && kindOf(err) == provider.KindNotFound {
		return nil
	}
	return p.classify("DeleteDBSnapshot", snapshotID, err)
}
