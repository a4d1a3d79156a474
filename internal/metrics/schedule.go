package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// scheduleLabels name a BackupSchedule: bounded by the number of schedules (one or a
// few per project environment).
var scheduleLabels = []string{"namespace", "schedule", "project_id", "environment"}

// scheduleMetrics are the BackupSchedule metrics. With the expected interval beside the
// last success, "no successful backup within 1.5× the interval" is an alert without a
// hand-written threshold (docs/operations.md).
type scheduleMetrics struct {
	next        *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
	interval    *prometheus.GaugeVec
	missed      *prometheus.CounterVec
}

func newScheduleMetrics() *scheduleMetrics {
	return &scheduleMetrics{
		next: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "backup_schedule_next_run_timestamp_seconds", Help: "Next slot of a BackupSchedule (Unix time); absent while suspended.",
		}, scheduleLabels),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "backup_schedule_last_success_timestamp_seconds", Help: "Completion of the newest successful backup of a BackupSchedule (Unix time).",
		}, scheduleLabels),
		interval: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "backup_schedule_expected_interval_seconds", Help: "Longest interval between two slots of a BackupSchedule over the coming year.",
		}, scheduleLabels),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_schedule_missed_runs_total", Help: "Slots of a BackupSchedule not run because the controller reached them too late.",
		}, scheduleLabels),
	}
}

func (m *scheduleMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.next, m.lastSuccess, m.interval, m.missed}
}

func scheduleLabelValues(s *backupv1alpha1.BackupSchedule) []string {
	return []string{s.Namespace, s.Name, s.Spec.Template.ProjectID, s.Spec.Template.Environment}
}

// ScheduleObserved sets a schedule's gauges.
func (r *Recorder) ScheduleObserved(s *backupv1alpha1.BackupSchedule, next, lastSuccess *time.Time, interval time.Duration) {
	lv := scheduleLabelValues(s)
	if next != nil {
		r.schedules.next.WithLabelValues(lv...).Set(float64(next.Unix()))
	} else {
		r.schedules.next.DeleteLabelValues(lv...)
	}
	if lastSuccess != nil {
		r.schedules.lastSuccess.WithLabelValues(lv...).Set(float64(lastSuccess.Unix()))
	}
	if interval > 0 {
		r.schedules.interval.WithLabelValues(lv...).Set(interval.Seconds())
	}
	r.schedules.missed.WithLabelValues(lv...).Add(0)
}

// ScheduleMissed adds n missed runs.
func (r *Recorder) ScheduleMissed(s *backupv1alpha1.BackupSchedule, n int64) {
	r.schedules.missed.WithLabelValues(scheduleLabelValues(s)...).Add(float64(n))
}

// ScheduleForgotten drops the series of a deleted schedule.
func (r *Recorder) ScheduleForgotten(namespace, name string) {
	match := prometheus.Labels{"namespace": namespace, "schedule": name}
	for _, v := range []interface {
		DeletePartialMatch(prometheus.Labels) int
	}{r.schedules.next, r.schedules.lastSuccess, r.schedules.interval, r.schedules.missed} {
		v.DeletePartialMatch(match)
	}
}
