package controller

import (
	"context"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The one way every reconciler writes status. A pass (core_pass.go) changes the
// status in memory and stores it once, as a merge patch against the object it started
// from, guarded by the resourceVersion, so a concurrent writer (the archiver, a
// metadata edit) is never overwritten. On a conflict the live object is re-read
// around the cache and the pass's changes are rebased onto it (rebaseStatus): what
// the pass did (a copy finished, artefacts removed) is recorded, not redone by a
// later pass that could no longer say the same. The few writes outside a pass
// (taking a slot, waiting, failing) are one-change passes (writeStatus).

// statusStore is where a reconciler's status writes go: the status writer, and the
// reader (the API server, not the cache) that re-reads an object after a conflict.
type statusStore struct {
	reader client.Reader
	writer client.StatusWriter
}

// storeOf is the status store of a reconciler with client c and API reader reader.
func storeOf(c client.StatusClient, reader client.Reader) statusStore {
	return statusStore{reader: reader, writer: c.Status()}
}

// writeStatus applies mutate to obj and stores obj's status the way a pass does;
// obj is updated in place with the stored object. statusOf is the kind's (see newPass).
func writeStatus[O client.Object](ctx context.Context, store statusStore, obj O, statusOf func(O) any, mutate func(O)) error {
	p := newPass(obj, statusOf)
	mutate(obj)
	return p.storeIfChanged(ctx, store, obj, nil)
}

// storeStatus writes obj's status against base (see above), then makes the stored
// object the new base. obj is updated in place with the stored object.
func (p *pass[O]) storeStatus(ctx context.Context, store statusStore, obj O) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		err := store.writer.Patch(ctx, obj, client.MergeFromWithOptions(p.base, client.MergeFromWithOptimisticLock{}))
		if !apierrors.IsConflict(err) {
			return err
		}
		if rerr := p.rebase(ctx, store.reader, obj); rerr != nil {
			return rerr
		}
		return err // retried: the rebased changes are written against the live object
	})
	if err != nil {
		return fmt.Errorf("patch status of %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	p.base = obj.DeepCopyObject().(O)
	return nil
}

// rebase re-reads obj live and applies to it the status changes the pass made
// (obj's status against base's); the live object becomes the base.
func (p *pass[O]) rebase(ctx context.Context, reader client.Reader, obj O) error {
	ours := obj.DeepCopyObject().(O)
	// Decoding into obj would keep fields the live object omits: start from zero.
	target := reflect.ValueOf(obj).Elem()
	target.Set(reflect.Zero(target.Type()))
	if err := reader.Get(ctx, client.ObjectKeyFromObject(ours), obj); err != nil {
		return err
	}
	live := obj.DeepCopyObject().(O)
	rebaseStatus(p.statusOf(p.base), p.statusOf(ours), p.statusOf(obj))
	p.base = live
	return nil
}

// rebaseStatus sets on live (a pointer to a status struct) every field that ours
// changed against base, leaving the fields only someone else changed as they are.
// Conditions merge by type: a condition ours set or removed is set or removed on
// live, the other writer's conditions stay.
func rebaseStatus(base, ours, live any) {
	b, o, l := reflect.ValueOf(base).Elem(), reflect.ValueOf(ours).Elem(), reflect.ValueOf(live).Elem()
	for i := range o.NumField() {
		if equality.Semantic.DeepEqual(b.Field(i).Interface(), o.Field(i).Interface()) {
			continue
		}
		if conditions, ok := o.Field(i).Interface().([]metav1.Condition); ok {
			rebaseConditions(b.Field(i).Interface().([]metav1.Condition), conditions, l.Field(i).Addr().Interface().(*[]metav1.Condition))
			continue
		}
		l.Field(i).Set(o.Field(i))
	}
}

func rebaseConditions(base, ours []metav1.Condition, live *[]metav1.Condition) {
	for _, c := range ours {
		if was := meta.FindStatusCondition(base, c.Type); was != nil && equality.Semantic.DeepEqual(*was, c) {
			continue
		}
		if at := meta.FindStatusCondition(*live, c.Type); at != nil {
			*at = c
		} else {
			*live = append(*live, c)
		}
	}
	for _, c := range base {
		if meta.FindStatusCondition(ours, c.Type) == nil {
			meta.RemoveStatusCondition(live, c.Type)
		}
	}
}
