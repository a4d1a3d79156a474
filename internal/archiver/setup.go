package archiver

import (
	"errors"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/manager"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/liferay/lc2-backup-controller/internal/database"
)

// Setup wires archival into the controller: it opens the history database db,
// builds an Archiver on the manager's client with metrics in opts.Registerer
// (controller-runtime's registry when nil), and adds it to mgr. opts may adjust the
// remaining Options (queue size, workers, resync interval...); nil for defaults.
//
// It does not connect: a database that is down at start is retried by the
// Archiver, and the controller runs meanwhile.
func Setup(mgr manager.Manager, db database.Config, opts *Options) (*Archiver, error) {
	store, err := database.Open(db)
	if err != nil {
		return nil, fmt.Errorf("backup history database: %w", err)
	}
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.Client, o.APIReader, o.Store = mgr.GetClient(), mgr.GetAPIReader(), store
	if o.Registerer == nil {
		o.Registerer = crmetrics.Registry
	}
	a, err := New(o)
	if err != nil {
		return nil, errors.Join(err, store.Close())
	}
	if err := mgr.Add(a); err != nil {
		return nil, errors.Join(fmt.Errorf("add archiver to manager: %w", err), store.Close())
	}
	mgr.GetLogger().Info("backup archival enabled", "database", db)
	return a, nil
}
