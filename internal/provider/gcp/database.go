package gcp

import (
	"context"
	"errors"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// noDatabaseMessage says why every database method fails and what to use instead.
const noDatabaseMessage = "the gcp provider has no database snapshots: back the database up with a dump (spec.database.type: dump)"

// notSupported is the KindNotSupported error of a database method.
func notSupported(op, resource string) error {
	return provider.NewError(provider.KindNotSupported, op, resource, errors.New(noDatabaseMessage)).WithMessage(noDatabaseMessage)
}

// CreateDatabaseSnapshot is not supported: see noDatabaseMessage.
func (p *Provider) CreateDatabaseSnapshot(_ context.Context, req provider.CreateSnapshotRequest) (*provider.DatabaseSnapshotResult, error) {
	return nil, notSupported("CreateDatabaseSnapshot", req.InstanceID)
}

// GetDatabaseSnapshotStatus is not supported: see noDatabaseMessage.
func (p *Provider) GetDatabaseSnapshotStatus(_ context.Context, snapshotID string) (*provider.SnapshotStatus, error) {
	return nil, notSupported("GetDatabaseSnapshotStatus", snapshotID)
}

// DeleteDatabaseSnapshot is not supported: see noDatabaseMessage.
func (p *Provider) DeleteDatabaseSnapshot(_ context.Context, snapshotID string) error {
	return notSupported("DeleteDatabaseSnapshot", snapshotID)
}

// DatabaseInstanceTags is not supported: see noDatabaseMessage.
func (p *Provider) DatabaseInstanceTags(_ context.Context, instanceID string) (map[string]string, error) {
	return nil, notSupported("DatabaseInstanceTags", instanceID)
}

// DescribeDatabaseInstance is not supported: see noDatabaseMessage.
func (p *Provider) DescribeDatabaseInstance(_ context.Context, instanceID string) (*provider.DatabaseInstance, error) {
	return nil, notSupported("DescribeDatabaseInstance", instanceID)
}

// RestoreDatabaseInstance is not supported: see noDatabaseMessage.
func (p *Provider) RestoreDatabaseInstance(_ context.Context, req provider.RestoreDatabaseRequest) (*provider.DatabaseInstance, error) {
	return nil, notSupported("RestoreDatabaseInstance", req.TargetInstanceID)
}

// DeleteDatabaseInstance is not supported: see noDatabaseMessage.
func (p *Provider) DeleteDatabaseInstance(_ context.Context, instanceID string, _ provider.BackupOwner) error {
	return notSupported("DeleteDatabaseInstance", instanceID)
}
