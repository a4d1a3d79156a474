// Command manager runs the LC2 Backup Controller.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/liferay/lc2-backup-controller/internal/setup"
)

var setupLog = ctrl.Log.WithName("setup")

func main() {
	cfg, zapOpts, err := setup.LoadConfig(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(zapOpts)))
	if err := run(ctrl.SetupSignalHandler(), cfg); err != nil {
		setupLog.Error(err, "controller stopped")
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg *setup.Config) error {
	mgr, err := ctrl.NewManager(setup.RESTConfig(ctrl.GetConfigOrDie(), cfg), setup.ManagerOptions(cfg))
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if _, err := setup.Setup(ctx, mgr, cfg, setup.Deps{}); err != nil {
		return err
	}
	setupLog.Info("starting manager", "maxConcurrentBackupsPerProject", cfg.Controller.MaxConcurrentBackupsPerProject,
		"archival", cfg.Archival != nil, "leaderElection", cfg.LeaderElect)
	return mgr.Start(ctx)
}
