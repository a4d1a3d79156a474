package archiver

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Failure reasons of the archival failures counter.
const (
	failureConnection = "connection" // PostgreSQL unreachable or unavailable; retried
	failureDatabase   = "database"   // other database error; left to the next resync
	failureInvalid    = "invalid"    // the record cannot be stored; Archived=False
	failureCondition  = "condition"  // row committed but the Archived condition not set
)

type metrics struct {
	lag      prometheus.Histogram
	failures *prometheus.CounterVec
	pending  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "backup_archival_lag_seconds",
			Help: "Seconds from a BackupRequest's completionTime (Succeeded or Failed) to its committed backup-history row.",
			// 50ms to ~3.6h.
			Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 14),
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backup_archival_failures_total",
			Help: "Failed archival attempts by reason: connection, database, invalid, condition.",
		}, []string{"reason"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "backup_archival_pending",
			Help: "BackupRequests and RestoreRequests queued for archival, being archived or waiting for a retry.",
		}),
	}
	for _, r := range []string{failureConnection, failureDatabase, failureInvalid, failureCondition} {
		m.failures.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.lag = register(reg, m.lag, &err)
	m.failures = register(reg, m.failures, &err)
	m.pending = register(reg, m.pending, &err)
	return m, err
}

// register registers c, or returns the collector already registered under its
// name (a second Archiver in the same process shares the series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		if *errp == nil {
			*errp = err
		}
	}
	return c
}
