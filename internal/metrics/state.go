package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// StateCollector computes the gauges from the BackupRequests in the informer cache at
// each scrape. Derived this way they are right after a restart, never drift from what
// `kubectl get br` shows, and a project whose backups are all gone disappears.
type StateCollector struct {
	reader client.Reader

	inProgress   *prometheus.Desc
	queueDepth   *prometheus.Desc
	lastSuccess  *prometheus.Desc
	databaseSize *prometheus.Desc
	dlSize       *prometheus.Desc
	byPhase      *prometheus.Desc
}

// NewStateCollector reads BackupRequests through reader (the manager's cached client).
func NewStateCollector(reader client.Reader) *StateCollector {
	return &StateCollector{
		reader: reader,
		inProgress: prometheus.NewDesc("backups_in_progress",
			"BackupRequests of a project currently InProgress.", []string{"project_id"}, nil),
		queueDepth: prometheus.NewDesc("semaphore_queue_depth",
			"BackupRequests of a project waiting for a slot (phase Pending).", []string{"project_id"}, nil),
		lastSuccess: prometheus.NewDesc("backup_last_success_timestamp_seconds",
			"Completion time of the latest successful backup (Unix seconds).", []string{"project_id", "environment"}, nil),
		databaseSize: prometheus.NewDesc("backup_database_size_bytes",
			"Database snapshot size of the latest successful backup.", []string{"project_id", "environment"}, nil),
		dlSize: prometheus.NewDesc("backup_dl_size_bytes",
			"Document-library size of the latest successful backup.", []string{"project_id", "environment"}, nil),
		byPhase: prometheus.NewDesc("backup_requests",
			"BackupRequests that exist, by project and phase.", []string{"project_id", "phase"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.inProgress, c.queueDepth, c.lastSuccess, c.databaseSize, c.dlSize, c.byPhase} {
		ch <- d
	}
}

type projectEnv struct{ project, env string }

// Collect implements prometheus.Collector.
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list backupv1alpha1.BackupRequestList
	if err := c.reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(c.inProgress, err)
		return
	}
	running, waiting := map[string]int{}, map[string]int{}
	phases := map[[2]string]int{}
	latest := map[projectEnv]*backupv1alpha1.BackupRequest{}
	for i := range list.Items {
		br := &list.Items[i]
		p := br.Spec.ProjectID
		phase := br.Status.Phase
		if phase == "" {
			phase = backupv1alpha1.PhasePending
		}
		// Every project with a BackupRequest reports both gauges, zero included.
		running[p] += 0
		waiting[p] += 0
		switch phase {
		case backupv1alpha1.PhaseInProgress:
			running[p]++
		case backupv1alpha1.PhasePending:
			waiting[p]++
		case backupv1alpha1.PhaseSucceeded:
			key := projectEnv{p, br.Spec.Environment}
			if cur := latest[key]; cur == nil || completedAfter(br, cur) {
				latest[key] = br
			}
		}
		phases[[2]string{p, string(phase)}]++
	}
	for p, n := range running {
		ch <- prometheus.MustNewConstMetric(c.inProgress, prometheus.GaugeValue, float64(n), p)
	}
	for p, n := range waiting {
		ch <- prometheus.MustNewConstMetric(c.queueDepth, prometheus.GaugeValue, float64(n), p)
	}
	for k, n := range phases {
		ch <- prometheus.MustNewConstMetric(c.byPhase, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	for k, br := range latest {
		if br.Status.CompletionTime != nil {
			ch <- prometheus.MustNewConstMetric(c.lastSuccess, prometheus.GaugeValue, float64(br.Status.CompletionTime.Unix()), k.project, k.env)
		}
		if br.Status.Database != nil {
			ch <- prometheus.MustNewConstMetric(c.databaseSize, prometheus.GaugeValue, float64(br.Status.Database.SizeBytes), k.project, k.env)
		}
		if br.Status.DocumentLibrary != nil {
			ch <- prometheus.MustNewConstMetric(c.dlSize, prometheus.GaugeValue, float64(br.Status.DocumentLibrary.TotalSizeBytes), k.project, k.env)
		}
	}
}

func completedAfter(a, b *backupv1alpha1.BackupRequest) bool {
	if a.Status.CompletionTime == nil {
		return false
	}
	if b.Status.CompletionTime == nil {
		return true
	}
	return a.Status.CompletionTime.After(b.Status.CompletionTime.Time)
}
