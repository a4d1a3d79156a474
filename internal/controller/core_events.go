package controller

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// eventRecorder records Kubernetes Events on any of the controller's kinds, so the
// three reconcilers share one way of announcing. A nil recorder (unit tests that do
// not look at Events) records nothing.
type eventRecorder struct{ rec events.EventRecorder }

// event records an Event on obj, about related if set.
func (e eventRecorder) event(obj, related client.Object, eventType string, reason backupv1alpha1.Reason, action, note string, args ...any) {
	if e.rec == nil {
		return
	}
	// A nil client.Object is not a nil runtime.Object: pass a true nil.
	var rel runtime.Object
	if related != nil {
		rel = related
	}
	e.rec.Eventf(obj, rel, eventType, string(reason), action, note, args...)
}

// normal and warning record an Event of their type on obj.
func (e eventRecorder) normal(obj client.Object, reason backupv1alpha1.Reason, action, note string, args ...any) {
	e.event(obj, nil, corev1.EventTypeNormal, reason, action, note, args...)
}

func (e eventRecorder) warning(obj client.Object, reason backupv1alpha1.Reason, action, note string, args ...any) {
	e.event(obj, nil, corev1.EventTypeWarning, reason, action, note, args...)
}

func (r *BackupRequestReconciler) recorder() eventRecorder  { return eventRecorder{r.Recorder} }
func (r *RestoreRequestReconciler) recorder() eventRecorder { return eventRecorder{r.Recorder} }
func (r *BackupScheduleReconciler) recorder() eventRecorder { return eventRecorder{r.Recorder} }
