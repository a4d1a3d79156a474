package controller

import (
	"context"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// lastWrites keeps each BackupRequest as this controller last wrote it, until the
// informer cache catches up. Under load the cache lags seconds behind the API server;
// a pass acting on a cached object older than our own last write would repeat a
// finished step (call the cloud again, emit its event again, briefly turn a True
// condition back to False) and then lose its status write to a conflict. Such a pass
// uses the object as written instead, without another API call.
type lastWrites struct {
	mu      sync.Mutex
	written map[types.NamespacedName]*backupv1alpha1.BackupRequest
	// sent is, per object, the phase of the status write in flight and the
	// resourceVersion it was written against: its watch event can arrive before the
	// write's response is recorded.
	sent map[types.NamespacedName]sentWrite
}

type sentWrite struct {
	uid   types.UID
	from  string
	phase backupv1alpha1.BackupPhase
}

func newLastWrites() *lastWrites {
	return &lastWrites{written: map[types.NamespacedName]*backupv1alpha1.BackupRequest{}, sent: map[types.NamespacedName]sentWrite{}}
}

// sending notes that br's status is about to be written, with the phase it has now,
// against the resourceVersion it has now (the write's optimistic lock).
func (w *lastWrites) sending(br *backupv1alpha1.BackupRequest) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sent[client.ObjectKeyFromObject(br)] = sentWrite{uid: br.UID, from: br.ResourceVersion, phase: br.Status.Phase}
}

// record keeps br as the API server returned it from our write.
func (w *lastWrites) record(br *backupv1alpha1.BackupRequest) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.written[client.ObjectKeyFromObject(br)] = br.DeepCopy()
}

// forget drops what is known of key (the object is gone).
func (w *lastWrites) forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.written, key)
	delete(w.sent, key)
}

// wrote reports whether the change from oldBR to newBR is our own write: newBR is
// exactly our last recorded write (same object, same resourceVersion), or the write
// in flight went from oldBR's resourceVersion to newBR's phase. A watch event
// carrying it reports a change this controller's own pass made, and that pass already
// said when to look again.
func (w *lastWrites) wrote(oldBR, newBR *backupv1alpha1.BackupRequest) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := client.ObjectKeyFromObject(newBR)
	if sent, found := w.sent[key]; found && sent.uid == newBR.UID && sent.from == oldBR.ResourceVersion && sent.phase == newBR.Status.Phase {
		return true
	}
	written, found := w.written[key]
	return found && written.UID == newBR.UID && written.ResourceVersion == newBR.ResourceVersion
}

// newer returns our last write of cached when it is newer than the cached object,
// and nil once the cache has caught up (the entry is then dropped). ok is false when
// the resourceVersions cannot be compared, and the caller must read the object live.
func (w *lastWrites) newer(cached *backupv1alpha1.BackupRequest) (mine *backupv1alpha1.BackupRequest, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := client.ObjectKeyFromObject(cached)
	written, found := w.written[key]
	if !found {
		return nil, true
	}
	if written.UID != cached.UID {
		delete(w.written, key) // deleted and created again under the same name
		return nil, true
	}
	cmp, err := resourceversion.CompareResourceVersion(cached.ResourceVersion, written.ResourceVersion)
	switch {
	case err != nil:
		delete(w.written, key)
		return nil, false
	case cmp >= 0:
		delete(w.written, key)
		return nil, true
	}
	return written.DeepCopy(), true
}

// getBackupRequest reads key from the cache, or takes this controller's own last
// write of it when the cache has not caught up with that write yet.
func (r *BackupRequestReconciler) getBackupRequest(ctx context.Context, key types.NamespacedName, br *backupv1alpha1.BackupRequest) error {
	if err := r.Get(ctx, key, br); err != nil {
		if apierrors.IsNotFound(err) {
			r.writes.forget(key)
		}
		return err
	}
	mine, ok := r.writes.newer(br)
	switch {
	case mine != nil:
		*br = *mine
	case !ok:
		return r.APIReader.Get(ctx, key, br)
	}
	return nil
}
