package controller

import (
	"context"
	"fmt"

	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// patchStatusRetrying applies mutate to obj and writes obj's status with a merge patch
// guarded by the resourceVersion, so a concurrent writer (the archiver) is never
// overwritten. On a conflict it re-reads the object through reader (the API server,
// not the cache) and applies mutate again. obj is updated in place with the stored
// object. For writes that cannot be redone by a later pass; a pass's own steps use
// the pass's close, which fails on a conflict instead.
func patchStatusRetrying[O client.Object](ctx context.Context, reader client.Reader, w client.StatusWriter, obj O, mutate func(O)) error {
	first := true
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			if err := reader.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				return err
			}
		}
		first = false
		original := obj.DeepCopyObject().(O)
		mutate(obj)
		return w.Patch(ctx, obj, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{}))
	})
	if err != nil {
		return fmt.Errorf("patch status of %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}
