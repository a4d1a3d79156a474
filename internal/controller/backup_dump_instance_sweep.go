package controller

import (
	"context"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// dumpInstancePrefix begins every throw-away dump instance's identifier (dumpInstanceID).
const dumpInstancePrefix = "lc2-dump-"

// dumpInstanceSweep finds throw-away dump instances that no backup will delete: their
// BackupRequest is gone (removed without its finalizer, or replaced by another of the
// same name) or has ended, yet the instance is still there. Each is named after its
// backup and carries its owner tags, which is what the sweep goes by; an instance
// without those tags, or named after another backup than its tags name, is not one of
// them and is left alone. When in doubt (an error, a backup still running) it keeps
// the instance and looks again at the next sweep.
type dumpInstanceSweep struct{ r *BackupRequestReconciler }

// NeedLeaderElection makes only the leader sweep.
func (dumpInstanceSweep) NeedLeaderElection() bool { return true }

// Start sweeps every DumpInstanceSweepInterval until ctx ends, the first time at once.
func (w dumpInstanceSweep) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("dump-instance-sweep")
	ctx = ctrl.LoggerInto(ctx, log)
	for {
		for _, name := range w.r.Providers.Names() {
			prov, err := w.r.Providers.Get(name)
			if err != nil || !provider.CapabilitiesOf(prov).DatabaseSnapshots {
				continue
			}
			w.sweep(ctx, name, prov)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(w.r.Options.DumpInstanceSweepInterval):
		}
	}
}

// sweep deletes the leaked throw-away instances of one store.
func (w dumpInstanceSweep) sweep(ctx context.Context, store string, prov provider.Provider) {
	log := ctrl.LoggerFrom(ctx).WithValues("provider", store)
	instances, err := prov.ListDatabaseInstances(ctx, dumpInstancePrefix)
	w.r.observeCall("ListDatabaseInstances", err)
	if err != nil {
		log.Error(err, "list the throw-away dump instances; looking again at the next sweep")
		return
	}
	for _, inst := range instances {
		o := inst.Owner
		if o.UID == "" || inst.InstanceID != dumpInstancePrefix+o.UID || inst.State == provider.DatabaseInstanceDeleting {
			continue
		}
		br, leaked, err := w.leaked(ctx, o)
		if err != nil {
			log.Error(err, "look up the backup of a throw-away dump instance; keeping it", "instance", inst.InstanceID)
			continue
		}
		if !leaked {
			continue
		}
		err = prov.DeleteDatabaseInstance(ctx, inst.InstanceID, o)
		w.r.observeCall("DeleteDatabaseInstance", err)
		if err != nil {
			log.Error(err, "delete a leaked throw-away dump instance; looking again at the next sweep", "instance", inst.InstanceID)
			continue
		}
		if w.r.Metrics != nil {
			w.r.Metrics.DumpInstanceSwept(o)
		}
		log.Info("deleted a leaked throw-away dump instance", "instance", inst.InstanceID, "namespace", o.Namespace, "backup", o.Name)
		if br != nil {
			w.recordDeleted(ctx, br, inst.InstanceID)
		}
	}
}

// leaked reports whether the backup o names will not delete its instance: it is gone,
// another object has its name, or it ended (a backup that ended deleted its instance
// itself unless that failed). The backup, when it still exists, is returned.
func (w dumpInstanceSweep) leaked(ctx context.Context, o provider.BackupOwner) (*backupv1alpha1.BackupRequest, bool, error) {
	br := &backupv1alpha1.BackupRequest{}
	err := w.r.APIReader.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, br)
	switch {
	case apierrors.IsNotFound(err):
		return nil, true, nil
	case err != nil:
		return nil, false, err
	case string(br.UID) != o.UID:
		return nil, true, nil
	case !br.DeletionTimestamp.IsZero():
		return nil, false, nil // its finalizer deletes it
	}
	return br, br.Status.Phase.IsTerminal(), nil
}

// recordDeleted marks the instance deleted in its ended backup's status and says so.
func (w dumpInstanceSweep) recordDeleted(ctx context.Context, br *backupv1alpha1.BackupRequest, id string) {
	err := w.r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
		if st.Database != nil && st.Database.DumpInstance != nil && st.Database.DumpInstance.InstanceID == id {
			st.Database.DumpInstance.Deleted = true
		}
	})
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "record the deleted throw-away dump instance", "instance", id)
	}
	w.r.recorder().normal(br, backupv1alpha1.ReasonDumpInstanceDeleted, "SweepDumpInstance",
		"Dump source: deleted the leaked throw-away instance %s, which outlived the backup's %s", id, strings.ToLower(string(br.Status.Phase)))
}
