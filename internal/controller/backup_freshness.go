package controller

import (
	"context"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// lastWrites is the BackupRequest controller's record of its own writes (ownWrites),
// plus the status write in flight: its watch event can arrive before the write's
// response is recorded.
type lastWrites struct {
	*ownWrites[*backupv1alpha1.BackupRequest]
	mu sync.Mutex
	// sent is, per object, the phase of the status write in flight and the
	// resourceVersion it was written against.
	sent map[types.NamespacedName]sentWrite
}

type sentWrite struct {
	uid   types.UID
	from  string
	phase backupv1alpha1.BackupPhase
}

func newLastWrites() *lastWrites {
	return &lastWrites{ownWrites: newOwnWrites[*backupv1alpha1.BackupRequest](), sent: map[types.NamespacedName]sentWrite{}}
}

// sending notes that br's status is about to be written, with the phase it has now,
// against the resourceVersion it has now (the write's optimistic lock).
func (w *lastWrites) sending(br *backupv1alpha1.BackupRequest) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sent[client.ObjectKeyFromObject(br)] = sentWrite{uid: br.UID, from: br.ResourceVersion, phase: br.Status.Phase}
}

// forget drops what is known of key (the object is gone).
func (w *lastWrites) forget(key types.NamespacedName) {
	w.ownWrites.forget(key)
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.sent, key)
}

// wrote reports whether the change from oldBR to newBR is our own write: newBR is
// exactly our last recorded write (same object, same resourceVersion), or the write
// in flight went from oldBR's resourceVersion to newBR's phase. A watch event
// carrying it reports a change this controller's own pass made, and that pass already
// said when to look again.
func (w *lastWrites) wrote(oldBR, newBR *backupv1alpha1.BackupRequest) bool {
	w.mu.Lock()
	sent, found := w.sent[client.ObjectKeyFromObject(newBR)]
	w.mu.Unlock()
	if found && sent.uid == newBR.UID && sent.from == oldBR.ResourceVersion && sent.phase == newBR.Status.Phase {
		return true
	}
	return w.is(newBR)
}

// getBackupRequest reads key from the cache, or takes this controller's own last
// write of it when the cache has not caught up with that write yet.
func (r *BackupRequestReconciler) getBackupRequest(ctx context.Context, key types.NamespacedName, br *backupv1alpha1.BackupRequest) error {
	if err := getFresh(ctx, r.Client, r.APIReader, r.writes.ownWrites, key, br); err != nil {
		if apierrors.IsNotFound(err) {
			r.writes.forget(key)
		}
		return err
	}
	return nil
}
