package aws

import (
	"context"
	"errors"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// DescribeDatabaseInstance is not implemented yet.
func (p *Provider) DescribeDatabaseInstance(ctx context.Context, instanceID string) (*provider.DatabaseInstance, error) {
	return nil, provider.NewError(provider.KindInvalidInput, "describe instance", instanceID, errors.New("not implemented"))
}

// RestoreDatabaseInstance is not implemented yet.
func (p *Provider) RestoreDatabaseInstance(ctx context.Context, req provider.RestoreDatabaseRequest) (*provider.DatabaseInstance, error) {
	return nil, provider.NewError(provider.KindInvalidInput, "restore instance", req.TargetInstanceID, errors.New("not implemented"))
}

// DeleteDatabaseInstance is not implemented yet.
func (p *Provider) DeleteDatabaseInstance(ctx context.Context, instanceID string, owner provider.BackupOwner) error {
	return provider.NewError(provider.KindInvalidInput, "delete instance", instanceID, errors.New("not implemented"))
}
