package archiver

import (
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/manager"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/liferay/lc2-backup-controller/internal/database"
)

// Setup wires archival into the controller from the environment: with
// ENABLE_ARCHIVAL=false it returns (nil, nil) and the nil Archiver's Enqueue does
// nothing; otherwise it opens the database from DATABASE_URL or DB_* variables
// (ConfigFromEnv), builds an Archiver on the manager's client with metrics in
// controller-runtime's registry, and adds it to mgr. opts may adjust the
// remaining Options (queue size, workers, resync interval...); nil for defaults.
//
// It does not connect: a database that is down at start is retried by the
// Archiver, and the controller runs meanwhile.
func Setup(mgr manager.Manager, opts *Options) (*Archiver, error) {
	enabled, err := EnabledFromEnv()
	if err != nil {
		return nil, err
	}
	if !enabled {
		mgr.GetLogger().Info("backup archival disabled", "env", EnvEnableArchival)
		return nil, nil
	}
	cfg, err := database.ConfigFromEnv()
	if err != nil {
		return nil, fmt.Errorf("backup history database: %w", err)
	}
	db, err := database.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("backup history database: %w", err)
	}
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.Client, o.APIReader, o.Store = mgr.GetClient(), mgr.GetAPIReader(), db
	if o.Registerer == nil {
		o.Registerer = crmetrics.Registry
	}
	a, err := New(o)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := mgr.Add(a); err != nil {
		db.Close()
		return nil, fmt.Errorf("add archiver to manager: %w", err)
	}
	mgr.GetLogger().Info("backup archival enabled", "database", cfg)
	return a, nil
}
