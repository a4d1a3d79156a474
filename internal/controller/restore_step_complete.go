package controller

import (
	"context"
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// reconcileRestoreCompletion ends the restore in Succeeded once every requested part
// is done, then frees the slot and announces it (after the status is stored).
func (r *RestoreRequestReconciler) reconcileRestoreCompletion(ctx context.Context, s *restoreScope) (stepResult, error) {
	rr, st := s.rr, s.status()
	var parts []string
	if rr.Spec.VerifyOnly {
		parts = append(parts, "backup verified")
	}
	switch db := st.Database; {
	case rr.Spec.Database == nil || db == nil:
	case db.Dump != nil && db.InstanceID != "":
		parts = append(parts, "dump loaded into the new instance "+db.InstanceID+" at "+db.Endpoint)
	case db.Dump != nil:
		parts = append(parts, "dump loaded into the database of Secret "+rr.Spec.Database.ConnectionSecretRef.Name)
	default:
		parts = append(parts, "database at "+db.Endpoint+" (instance "+db.InstanceID+")")
	}
	if rr.Spec.DocumentLibrary != nil {
		parts = append(parts, "document library at s3://"+string(rr.Spec.DocumentLibrary.TargetBucket)+"/"+rr.Spec.DocumentLibrary.TargetKeyPrefix())
	}
	summary := "restore succeeded: " + strings.Join(parts, "; ")
	if rr.Spec.VerifyOnly {
		summary = "verification succeeded: the backup is intact"
	}
	st.SetAsSucceeded(summary, metav1Now(r.Clock))
	s.after(func() {
		r.forgetRestore(ctx, rr, s.project)
		ctrl.LoggerFrom(ctx).Info("restore succeeded", "summary", summary)
		r.recorder().normal(rr, backupv1alpha1.ReasonSucceeded, "Complete", "%s", summary)
		r.recordRestoreEnd(rr)
	})
	return stepDone, nil
}
