package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// Source protection: a backup cannot expire or be deleted while a restore reads it.
// Retention and the cleanup finalizer of a BackupRequest wait (condition
// ArtifactsRemoved False, reason InUseByRestore, naming the restores, and an event)
// while a non-terminal RestoreRequest names it by backupRequestName or resolved it
// (status.source.backupId); the restore's end wakes the BackupRequest through a watch.

// restoresReading returns the non-terminal RestoreRequests reading br, as namespace/name.
func (r *BackupRequestReconciler) restoresReading(ctx context.Context, br *backupv1alpha1.BackupRequest) ([]string, error) {
	var byName, byID backupv1alpha1.RestoreRequestList
	if err := r.List(ctx, &byName, client.InNamespace(br.Namespace), client.MatchingFields{restoreSourceRequestIndex: br.Name}); err != nil {
		return nil, fmt.Errorf("list restores of backup request %s: %w", br.Name, err)
	}
	if err := r.List(ctx, &byID, client.MatchingFields{restoreSourceBackupIndex: backupID(br)}); err != nil {
		return nil, fmt.Errorf("list restores of backup %s: %w", backupID(br), err)
	}
	// A restore from a manifest URL that has not resolved its source yet names this
	// backup only by the manifest's location.
	var byManifest backupv1alpha1.RestoreRequestList
	if m := br.Status.Manifest; m != nil && m.Location != "" {
		if err := r.List(ctx, &byManifest, client.MatchingFields{restoreSourceManifestIndex: m.Location}); err != nil {
			return nil, fmt.Errorf("list restores of manifest %s: %w", m.Location, err)
		}
	}
	seen := map[types.UID]bool{}
	var names []string
	for _, rr := range append(append(byName.Items, byID.Items...), byManifest.Items...) {
		if seen[rr.UID] || rr.Status.Phase.IsTerminal() {
			continue
		}
		// A restore naming a BackupRequest of the same name that was re-created reads
		// another backup.
		if src := rr.Status.Source; src != nil && src.BackupID != backupID(br) {
			continue
		}
		seen[rr.UID] = true
		names = append(names, rr.Namespace+"/"+rr.Name)
	}
	return names, nil
}

// restoreEndedHandler maps a RestoreRequest to the BackupRequest it reads: by name, or
// for a restore from a manifest URL the BackupRequest whose manifest that is.
func (r *BackupRequestReconciler) restoreEndedHandler() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		rr, ok := o.(*backupv1alpha1.RestoreRequest)
		if !ok {
			return nil
		}
		if name := rr.Spec.Source.BackupRequestName; name != "" {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: rr.Namespace, Name: name}}}
		}
		location := rr.Spec.Source.Manifest
		var list backupv1alpha1.BackupRequestList
		if err := r.List(ctx, &list, client.MatchingFields{manifestIndex: location}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "find the backup a restore read", "manifest", location)
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(list.Items))
		for i := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
		return reqs
	})
}

// restoreEnded passes a RestoreRequest reaching a terminal phase or going away.
type restoreEnded struct{ predicate.Funcs }

func (restoreEnded) Create(event.CreateEvent) bool   { return false }
func (restoreEnded) Generic(event.GenericEvent) bool { return false }
func (restoreEnded) Delete(event.DeleteEvent) bool   { return true }

func (restoreEnded) Update(e event.UpdateEvent) bool {
	oldRR, okOld := e.ObjectOld.(*backupv1alpha1.RestoreRequest)
	newRR, okNew := e.ObjectNew.(*backupv1alpha1.RestoreRequest)
	return okOld && okNew && !oldRR.Status.Phase.IsTerminal() && newRR.Status.Phase.IsTerminal()
}
