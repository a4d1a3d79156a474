package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// patchStatus applies mutate to br's status and writes it with a merge patch guarded
// by the resourceVersion, so a concurrent writer (the archiver) is never overwritten.
// On a conflict it re-reads the object from the API server and applies mutate again.
// br is updated in place with the stored object.
func (r *BackupRequestReconciler) patchStatus(ctx context.Context, br *backupv1alpha1.BackupRequest, mutate func(*backupv1alpha1.BackupRequestStatus)) error {
	first := true
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(br), br); err != nil {
				return err
			}
		}
		first = false
		original := br.DeepCopy()
		mutate(&br.Status)
		br.Status.ObservedGeneration = br.Generation
		return r.Status().Patch(ctx, br, client.MergeFromWithOptions(original, client.MergeFromWithOptimisticLock{}))
	})
	if err != nil {
		return fmt.Errorf("patch status of %s/%s: %w", br.Namespace, br.Name, err)
	}
	r.writes.record(br)
	return nil
}

// setCondition sets one condition on status, keeping lastTransitionTime when the status is unchanged.
func (r *BackupRequestReconciler) setCondition(st *backupv1alpha1.BackupRequestStatus, generation int64, condType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type:               condType,
		Status:             status,
		Reason:             reason,
		Message:            truncateMessage(message),
		ObservedGeneration: generation,
		LastTransitionTime: metav1.NewTime(r.Clock.Now()),
	})
}

// conditionTrue reports whether condType is True on br.
func conditionTrue(br *backupv1alpha1.BackupRequest, condType string) bool {
	return meta.IsStatusConditionTrue(br.Status.Conditions, condType)
}

// normalEvent and warningEvent record a Kubernetes Event on br.
func (r *BackupRequestReconciler) normalEvent(br *backupv1alpha1.BackupRequest, reason, action, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(br, nil, corev1.EventTypeNormal, reason, action, note, args...)
	}
}

func (r *BackupRequestReconciler) warningEvent(br *backupv1alpha1.BackupRequest, reason, action, note string, args ...any) {
	if r.Recorder != nil {
		r.Recorder.Eventf(br, nil, corev1.EventTypeWarning, reason, action, note, args...)
	}
}

// truncateMessage keeps condition messages within the API's 32768-byte limit.
func truncateMessage(msg string) string {
	const limit = 4096
	if len(msg) <= limit {
		return msg
	}
	return msg[:limit-3] + "..."
}
