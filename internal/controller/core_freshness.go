package controller

import (
	"context"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ownWrites keeps each object as this controller last wrote it, until the informer
// cache catches up. Under load the cache lags seconds behind the API server; a pass
// acting on a cached object older than our own last write would repeat a finished
// step (call the cloud again, emit its event and metric again, briefly turn a True
// condition back to False), and the status write's rebase would let it through. Such
// a pass uses the object as written instead, without another API call.
type ownWrites[O client.Object] struct {
	mu      sync.Mutex
	written map[types.NamespacedName]O
}

func newOwnWrites[O client.Object]() *ownWrites[O] {
	return &ownWrites[O]{written: map[types.NamespacedName]O{}}
}

// record keeps obj as the API server returned it from our write.
func (w *ownWrites[O]) record(obj O) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.written[client.ObjectKeyFromObject(obj)] = obj.DeepCopyObject().(O)
}

// forget drops what is known of key (the object is gone).
func (w *ownWrites[O]) forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.written, key)
}

// is reports whether obj is exactly our last recorded write (same object, same
// resourceVersion).
func (w *ownWrites[O]) is(obj O) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	written, found := w.written[client.ObjectKeyFromObject(obj)]
	return found && written.GetUID() == obj.GetUID() && written.GetResourceVersion() == obj.GetResourceVersion()
}

// newer returns our last write of cached when it is newer than the cached object,
// and found false once the cache has caught up (the entry is then dropped). ok is
// false when the resourceVersions cannot be compared, and the caller must read the
// object live.
func (w *ownWrites[O]) newer(cached O) (mine O, found, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := client.ObjectKeyFromObject(cached)
	written, known := w.written[key]
	if !known {
		return mine, false, true
	}
	if written.GetUID() != cached.GetUID() {
		delete(w.written, key) // deleted and created again under the same name
		return mine, false, true
	}
	cmp, err := resourceversion.CompareResourceVersion(cached.GetResourceVersion(), written.GetResourceVersion())
	switch {
	case err != nil:
		delete(w.written, key)
		return mine, false, false
	case cmp >= 0:
		delete(w.written, key)
		return mine, false, true
	}
	return written.DeepCopyObject().(O), true, true
}

// copyable is an API object that copies itself into another of its kind.
type copyable[O any] interface {
	client.Object
	DeepCopyInto(O)
}

// getFresh reads key from cache into obj, or takes this controller's own last write
// of it when the cache has not caught up with that write yet (live reads it when the
// two cannot be compared).
func getFresh[O copyable[O]](ctx context.Context, cache, live client.Reader, writes *ownWrites[O], key types.NamespacedName, obj O) error {
	if err := cache.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			writes.forget(key)
		}
		return err
	}
	mine, found, ok := writes.newer(obj)
	switch {
	case found:
		mine.DeepCopyInto(obj) // the caller's object is the one the pass goes on with
		return nil
	case !ok:
		return live.Get(ctx, key, obj)
	}
	return nil
}
