package azure

import (
	"context"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// noDatabaseMessage is what every database method answers: Azure Blob Storage has no
// database service, and the way to back up a database there is a logical dump.
const noDatabaseMessage = "the azure provider has no database snapshots; back up the database with a dump (spec.database.type: dump) instead"

// noDatabase is the KindNotSupported error of a database method.
func noDatabase(op, resource string) error {
	return provider.NewError(provider.KindNotSupported, op, resource, errNoDatabase).WithMessage(noDatabaseMessage)
}

// CreateDatabaseSnapshot is not supported: see noDatabaseMessage.
func (p *Provider) CreateDatabaseSnapshot(_ context.Context, req provider.CreateSnapshotRequest) (*provider.DatabaseSnapshotResult, error) {
	return nil, noDatabase("CreateDatabaseSnapshot", req.InstanceID)
}

// GetDatabaseSnapshotStatus is not supported: see noDatabaseMessage.
func (p *Provider) GetDatabaseSnapshotStatus(_ context.Context, snapshotID string) (*provider.SnapshotStatus, error) {
	return nil, noDatabase("GetDatabaseSnapshotStatus", snapshotID)
}

// DeleteDatabaseSnapshot is not supported: see noDatabaseMessage.
func (p *Provider) DeleteDatabaseSnapshot(_ context.Context, snapshotID string) error {
	return noDatabase("DeleteDatabaseSnapshot", snapshotID)
}

// DatabaseInstanceTags is not supported: see noDatabaseMessage.
func (p *Provider) DatabaseInstanceTags(_ context.Context, instanceID string) (map[string]string, error) {
	return nil, noDatabase("DatabaseInstanceTags", instanceID)
}

// DescribeDatabaseInstance is not supported: see noDatabaseMessage.
func (p *Provider) DescribeDatabaseInstance(_ context.Context, instanceID string) (*provider.DatabaseInstance, error) {
	return nil, noDatabase("DescribeDatabaseInstance", instanceID)
}

// RestoreDatabaseInstance is not supported: see noDatabaseMessage.
func (p *Provider) RestoreDatabaseInstance(_ context.Context, req provider.RestoreDatabaseRequest) (*provider.DatabaseInstance, error) {
	return nil, noDatabase("RestoreDatabaseInstance", req.TargetInstanceID)
}

// DeleteDatabaseInstance is not supported: see noDatabaseMessage.
func (p *Provider) DeleteDatabaseInstance(_ context.Context, instanceID string, _ provider.BackupOwner) error {
	return noDatabase("DeleteDatabaseInstance", instanceID)
}
