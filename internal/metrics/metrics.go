// Package metrics defines the controller's Prometheus metrics. Labels are bounded:
// project and environment, never a backup's name.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// Recorder holds the event-driven metrics (counters and the duration histogram) and
// implements controller.MetricsRecorder. Gauges come from StateCollector.
type Recorder struct {
	requestsTotal   *prometheus.CounterVec
	quotaWaits      *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	providerCalls   *prometheus.CounterVec
	providerErrors  *prometheus.CounterVec
	copiedObjects   *prometheus.CounterVec
	copiedBytes     *prometheus.CounterVec
	retentionDone   *prometheus.CounterVec
	retentionFailed *prometheus.CounterVec
	// referencedObjects/Bytes count what Incremental backups referenced without a copy;
	// sweptObjects/Bytes what sweeps removed from repositories.
	referencedObjects, referencedBytes *prometheus.CounterVec
	sweptObjects, sweptBytes           *prometheus.CounterVec
	// dumpBytes and dumpDuration describe verified database dumps.
	dumpBytes    *prometheus.CounterVec
	dumpDuration *prometheus.HistogramVec
	// dumpInstancesSwept counts leaked throw-away dump instances the sweep deleted.
	dumpInstancesSwept *prometheus.CounterVec

	restoresTotal   *prometheus.CounterVec
	restoreDuration *prometheus.HistogramVec
	restoredObjects *prometheus.CounterVec
	restoredBytes   *prometheus.CounterVec

	schedules *scheduleMetrics
}

// DurationBuckets span seconds to hours: a small database-only snapshot to a large copy.
var DurationBuckets = []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 21600}

// New creates the metrics and registers them with reg (controller-runtime's metrics.Registry in the manager).
func New(reg prometheus.Registerer) (*Recorder, error) {
	r := &Recorder{
		requestsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_requests_total", Help: "BackupRequests that reached a phase, by project, environment and state (started, succeeded, failed).",
		}, []string{"project_id", "environment", "state"}),
		quotaWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_quota_waits_total", Help: "Backups that began to wait because the cloud refused them for an account quota (Ready reason WaitingForQuota), by quota: snapshot, instance, storage, other.",
		}, []string{"project_id", "environment", "quota"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "backup_duration_seconds", Help: "Time from a backup's start to its completion.", Buckets: DurationBuckets,
		}, []string{"project_id", "environment"}),
		providerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_provider_api_calls_total", Help: "Provider operations called by the controller.",
		}, []string{"operation"}),
		providerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_provider_api_errors_total", Help: "Provider operations that failed, by error kind.",
		}, []string{"operation", "kind"}),
		copiedObjects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_copy_objects_total", Help: "Document-library objects copied.",
		}, []string{"project_id", "environment"}),
		copiedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_copy_bytes_total", Help: "Document-library bytes copied.",
		}, []string{"project_id", "environment"}),
		retentionDone: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_retention_deletions_total", Help: "Backups whose artefacts retention or deletion removed.",
		}, []string{"project_id", "environment"}),
		retentionFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_retention_failures_total", Help: "Failed attempts to remove a backup's artefacts (retried with backoff).",
		}, []string{"project_id", "environment"}),
		referencedObjects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_referenced_objects_total", Help: "Document-library objects Incremental backups found already stored in their repository and referenced without copying.",
		}, []string{"project_id", "environment"}),
		referencedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_referenced_bytes_total", Help: "Document-library bytes Incremental backups referenced without copying.",
		}, []string{"project_id", "environment"}),
		sweptObjects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_repository_swept_objects_total", Help: "Stored objects of Incremental repositories removed by sweeps because no backup referenced them.",
		}, []string{"project_id", "environment"}),
		sweptBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_repository_swept_bytes_total", Help: "Bytes of the stored objects sweeps removed.",
		}, []string{"project_id", "environment"}),
		dumpBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_database_dump_bytes_total", Help: "Bytes of verified database dumps stored (type: dump).",
		}, []string{"project_id", "environment"}),
		dumpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "backup_database_dump_duration_seconds", Help: "Time from a dump's start to its verified end, its full read included.", Buckets: DurationBuckets,
		}, []string{"project_id", "environment"}),
		dumpInstancesSwept: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_dump_instances_swept_total", Help: "Leaked throw-away dump instances (their backup gone or ended without deleting them) that the sweep deleted, by the project and environment their owner tags name.",
		}, []string{"project_id", "environment"}),
		restoresTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "restore_requests_total", Help: "RestoreRequests that reached a phase, by project, environment and state: started (its backup resolved), succeeded, failed (before resolution: project and environment unknown).",
		}, []string{"project_id", "environment", "state"}),
		restoreDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "restore_duration_seconds", Help: "Time from a restore's start to its completion.", Buckets: DurationBuckets,
		}, []string{"project_id", "environment"}),
		restoredObjects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "restore_objects_total", Help: "Document-library objects a restore wrote.",
		}, []string{"project_id", "environment"}),
		restoredBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "restore_bytes_total", Help: "Document-library bytes a restore wrote.",
		}, []string{"project_id", "environment"}),
		schedules: newScheduleMetrics(),
	}
	for _, c := range append([]prometheus.Collector{r.requestsTotal, r.quotaWaits, r.duration, r.providerCalls, r.providerErrors, r.copiedObjects, r.copiedBytes,
		r.retentionDone, r.retentionFailed, r.referencedObjects, r.referencedBytes, r.sweptObjects, r.sweptBytes, r.dumpBytes, r.dumpDuration, r.dumpInstancesSwept, r.restoresTotal, r.restoreDuration, r.restoredObjects, r.restoredBytes}, r.schedules.collectors()...) {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Started counts a backup taking a slot.
func (r *Recorder) Started(br *backupv1alpha1.BackupRequest) {
	r.requestsTotal.WithLabelValues(br.Spec.ProjectID, br.Spec.Environment, "started").Inc()
}

// WaitingForQuota counts a backup that began to wait for quota.
func (r *Recorder) WaitingForQuota(br *backupv1alpha1.BackupRequest, quota string) {
	r.quotaWaits.WithLabelValues(br.Spec.ProjectID, br.Spec.Environment, quota).Inc()
}

// Finished records a backup's outcome, duration and sizes.
func (r *Recorder) Finished(br *backupv1alpha1.BackupRequest) {
	p, e := br.Spec.ProjectID, br.Spec.Environment
	switch br.Status.Phase {
	case backupv1alpha1.PhaseSucceeded:
		r.requestsTotal.WithLabelValues(p, e, "succeeded").Inc()
		if br.Status.StartTime != nil && br.Status.CompletionTime != nil {
			r.duration.WithLabelValues(p, e).Observe(br.Status.CompletionTime.Sub(br.Status.StartTime.Time).Seconds())
		}
	case backupv1alpha1.PhaseFailed:
		r.requestsTotal.WithLabelValues(p, e, "failed").Inc()
	}
}

// Copied adds a copy's throughput.
func (r *Recorder) Copied(br *backupv1alpha1.BackupRequest, objects, bytes int64) {
	r.copiedObjects.WithLabelValues(br.Spec.ProjectID, br.Spec.Environment).Add(float64(objects))
	r.copiedBytes.WithLabelValues(br.Spec.ProjectID, br.Spec.Environment).Add(float64(bytes))
}

// Referenced adds what an Incremental backup referenced without copying.
func (r *Recorder) Referenced(br *backupv1alpha1.BackupRequest, objects, bytes int64) {
	r.referencedObjects.WithLabelValues(br.Spec.ProjectID, br.Spec.Environment).Add(float64(objects))
	r.referencedBytes.WithLabelValues(br.Spec.ProjectID, br.Spec.Environment).Add(float64(bytes))
}

// DumpInstanceSwept counts a leaked throw-away dump instance the sweep deleted.
func (r *Recorder) DumpInstanceSwept(owner provider.BackupOwner) {
	r.dumpInstancesSwept.WithLabelValues(owner.ProjectID, owner.Environment).Inc()
}

// Dumped records a verified dump's size and duration.
func (r *Recorder) Dumped(br *backupv1alpha1.BackupRequest, bytes int64, seconds float64) {
	r.dumpBytes.WithLabelValues(br.Spec.ProjectID, br.Spec.Environment).Add(float64(bytes))
	r.dumpDuration.WithLabelValues(br.Spec.ProjectID, br.Spec.Environment).Observe(seconds)
}

// Swept adds what a sweep of br's repository removed.
func (r *Recorder) Swept(br *backupv1alpha1.BackupRequest, objects, bytes int64) {
	r.sweptObjects.WithLabelValues(br.Spec.ProjectID, br.Spec.Environment).Add(float64(objects))
	r.sweptBytes.WithLabelValues(br.Spec.ProjectID, br.Spec.Environment).Add(float64(bytes))
}

// ProviderCall counts a provider call and, when err is set, its failure kind.
func (r *Recorder) ProviderCall(operation string, err error) {
	r.providerCalls.WithLabelValues(operation).Inc()
	if err != nil {
		r.providerErrors.WithLabelValues(operation, string(provider.KindOf(err))).Inc()
	}
}

// RetentionDeleted counts a backup whose artefacts were removed.
func (r *Recorder) RetentionDeleted(br *backupv1alpha1.BackupRequest) {
	r.retentionDone.WithLabelValues(br.Spec.ProjectID, br.Spec.Environment).Inc()
}

// RetentionFailed counts a failed attempt to remove a backup's artefacts.
func (r *Recorder) RetentionFailed(br *backupv1alpha1.BackupRequest) {
	r.retentionFailed.WithLabelValues(br.Spec.ProjectID, br.Spec.Environment).Inc()
}

// restoreLabels are a restore's project and environment: the resolved backup's, or
// "unknown" for a restore refused before its backup was resolved.
func restoreLabels(rr *backupv1alpha1.RestoreRequest) (project, environment string) {
	if src := rr.Status.Source; src != nil {
		return src.ProjectID, src.Environment
	}
	return "unknown", "unknown"
}

// RestoreStarted counts a restore whose backup is resolved, so that it is counted
// with the backup's project and environment, as its outcome will be.
func (r *Recorder) RestoreStarted(rr *backupv1alpha1.RestoreRequest) {
	p, e := restoreLabels(rr)
	r.restoresTotal.WithLabelValues(p, e, "started").Inc()
}

// RestoreFinished records a restore's outcome and duration.
func (r *Recorder) RestoreFinished(rr *backupv1alpha1.RestoreRequest) {
	p, e := restoreLabels(rr)
	switch rr.Status.Phase {
	case backupv1alpha1.RestorePhaseSucceeded:
		r.restoresTotal.WithLabelValues(p, e, "succeeded").Inc()
		if rr.Status.StartTime != nil && rr.Status.CompletionTime != nil {
			r.restoreDuration.WithLabelValues(p, e).Observe(rr.Status.CompletionTime.Sub(rr.Status.StartTime.Time).Seconds())
		}
	case backupv1alpha1.RestorePhaseFailed:
		r.restoresTotal.WithLabelValues(p, e, "failed").Inc()
	}
}

// Restored adds the objects and bytes a restore's copy wrote.
func (r *Recorder) Restored(rr *backupv1alpha1.RestoreRequest, objects, bytes int64) {
	p, e := restoreLabels(rr)
	r.restoredObjects.WithLabelValues(p, e).Add(float64(objects))
	r.restoredBytes.WithLabelValues(p, e).Add(float64(bytes))
}
