package controller

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// addFinalizer adds the finalizer name to obj (updated in place) unless it is there,
// with a merge patch guarded by the resourceVersion, so it is not added to an object
// someone else changed since it was read. added says whether it wrote.
func addFinalizer[O client.Object](ctx context.Context, c client.Writer, obj O, name string) (added bool, err error) {
	if controllerutil.ContainsFinalizer(obj, name) {
		return false, nil
	}
	original := obj.DeepCopyObject().(O)
	controllerutil.AddFinalizer(obj, name)
	if err := c.Patch(ctx, obj, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{})); err != nil {
		return false, fmt.Errorf("add finalizer %s: %w", name, err)
	}
	return true, nil
}

// removeFinalizer removes the finalizer name from obj (updated in place), letting the
// object go. Unguarded: the object is being deleted, and a finalizer's removal must
// not wait for anyone else's writes. An object already gone is nothing to do.
func removeFinalizer[O client.Object](ctx context.Context, c client.Writer, obj O, name string) error {
	original := obj.DeepCopyObject().(O)
	controllerutil.RemoveFinalizer(obj, name)
	if err := client.IgnoreNotFound(c.Patch(ctx, obj, client.MergeFrom(original))); err != nil {
		return fmt.Errorf("remove finalizer %s: %w", name, err)
	}
	return nil
}

// retained reports whether the user asked (deletion-policy: retain) to keep the cloud
// artefacts of a backup, or what a restore created.
func retained(obj metav1.Object) bool {
	return strings.EqualFold(obj.GetAnnotations()[backupv1alpha1.DeletionPolicyAnnotation], "retain")
}
