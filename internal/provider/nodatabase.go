package provider

import (
	"context"
	"errors"
)

// NoDatabaseService gives a store without a managed database service (gcp, azure,
// local) its database methods: each answers a permanent KindNotSupported error with
// Message, which says how to back the database up there instead (a dump). A provider
// embeds it at a shallower depth than any other source of those methods.
type NoDatabaseService struct {
	// Message is every database method's error message; empty: noDatabaseMessage.
	Message string
}

// noDatabaseMessage is the message of a NoDatabaseService without one of its own.
const noDatabaseMessage = "this store has no database snapshots: back the database up with a dump (spec.database.type: dump)"

func (n NoDatabaseService) notSupported(op, resource string) error {
	msg := n.Message
	if msg == "" {
		msg = noDatabaseMessage
	}
	return NewError(KindNotSupported, op, resource, errors.New(msg)).WithMessage(msg)
}

// CreateDatabaseSnapshot is not supported: see Message.
func (n NoDatabaseService) CreateDatabaseSnapshot(_ context.Context, req CreateSnapshotRequest) (*DatabaseSnapshotResult, error) {
	return nil, n.notSupported("CreateDatabaseSnapshot", req.InstanceID)
}

// GetDatabaseSnapshotStatus is not supported: see Message.
func (n NoDatabaseService) GetDatabaseSnapshotStatus(_ context.Context, snapshotID string) (*SnapshotStatus, error) {
	return nil, n.notSupported("GetDatabaseSnapshotStatus", snapshotID)
}

// DeleteDatabaseSnapshot is not supported: see Message.
func (n NoDatabaseService) DeleteDatabaseSnapshot(_ context.Context, snapshotID string) error {
	return n.notSupported("DeleteDatabaseSnapshot", snapshotID)
}

// DatabaseInstanceTags is not supported: see Message.
func (n NoDatabaseService) DatabaseInstanceTags(_ context.Context, instanceID string) (map[string]string, error) {
	return nil, n.notSupported("DatabaseInstanceTags", instanceID)
}

// DescribeDatabaseInstance is not supported: see Message.
func (n NoDatabaseService) DescribeDatabaseInstance(_ context.Context, instanceID string) (*DatabaseInstance, error) {
	return nil, n.notSupported("DescribeDatabaseInstance", instanceID)
}

// RestoreDatabaseInstance is not supported: see Message.
func (n NoDatabaseService) RestoreDatabaseInstance(_ context.Context, req RestoreDatabaseRequest) (*DatabaseInstance, error) {
	return nil, n.notSupported("RestoreDatabaseInstance", req.TargetInstanceID)
}

// CreateDatabaseInstance is not supported: see Message.
func (n NoDatabaseService) CreateDatabaseInstance(_ context.Context, req CreateDatabaseRequest) (*DatabaseInstance, error) {
	return nil, n.notSupported("CreateDatabaseInstance", req.TargetInstanceID)
}

// DeleteDatabaseInstance is not supported: see Message.
func (n NoDatabaseService) DeleteDatabaseInstance(_ context.Context, instanceID string, _ BackupOwner) error {
	return n.notSupported("DeleteDatabaseInstance", instanceID)
}

// ListDatabaseInstances is not supported: see Message.
func (n NoDatabaseService) ListDatabaseInstances(_ context.Context, idPrefix string) ([]DatabaseInstance, error) {
	return nil, n.notSupported("ListDatabaseInstances", idPrefix)
}
