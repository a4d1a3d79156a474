package archival

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	backupv1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/archiver"
	"github.com/liferay/lc2-backup-controller/internal/database"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

const backups = 1000

// BenchmarkArchivalLag finishes 1,000 backups and measures, per backup, the time
// from its completion to its committed row (created_at in PostgreSQL, same clock).
// steady: one backup finishes every 10ms (100/s). burst: all 1,000 at once.
func BenchmarkArchivalLag(b *testing.B) {
	ctx := ctrl.LoggerInto(context.Background(), logr.Discard())
	pg, err := harness.StartPostgresWith(ctx, harness.PostgresOptions{Durable: true})
	if err != nil {
		b.Fatal(err)
	}
	defer pg.Stop()
	for _, tc := range []struct {
		name     string
		interval time.Duration
	}{{"steady-100-per-s", 10 * time.Millisecond}, {"burst-1000", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				lags := runOnce(ctx, b, pg, tc.interval)
				p50, p90, p99, maxLag := pct(lags, 50), pct(lags, 90), pct(lags, 99), lags[len(lags)-1]
				b.ReportMetric(p50.Seconds()*1000, "p50-ms")
				b.ReportMetric(p99.Seconds()*1000, "p99-ms")
				b.ReportMetric(maxLag.Seconds()*1000, "max-ms")
				b.Logf("%s: %d backups, archival lag p50 %v p90 %v p99 %v max %v", tc.name, len(lags),
					p50.Round(10*time.Microsecond), p90.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), maxLag.Round(10*time.Microsecond))
			}
		})
	}
}

func runOnce(ctx context.Context, b *testing.B, pg *harness.Postgres, interval time.Duration) []time.Duration {
	b.Helper()
	b.StopTimer()
	dbURL, err := pg.NewDatabase(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	db, err := database.Open(database.Config{URL: dbURL})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := db.Close(); err != nil {
			b.Errorf("close database client: %v", err)
		}
	})
	scheme := runtime.NewScheme()
	if err := backupv1.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	kc := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&backupv1.BackupRequest{}).Build()
	objs := make([]*backupv1.BackupRequest, backups)
	for i := range objs {
		objs[i] = inProgress(i)
		if err := kc.Create(ctx, objs[i]); err != nil {
			b.Fatal(err)
		}
	}
	workers, _ := strconv.Atoi(os.Getenv("BENCH_WORKERS")) // 0: the archiver's default
	a, err := archiver.New(archiver.Options{Client: kc, Store: db, Registerer: prometheus.NewRegistry(), Workers: workers})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctrl.LoggerInto(ctx, zap.New(zap.WriteTo(io.Discard))))
	done := make(chan error, 1)
	go func() { done <- a.Start(runCtx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("archiver: %v", err)
		}
	}()
	if err := waitRows(ctx, db, -1, time.Minute); err != nil { // schema migrated
		b.Fatal(err)
	}

	b.StartTimer()
	for i, br := range objs {
		finish(ctx, b, kc, br)
		a.Enqueue(br)
		if interval > 0 && i < len(objs)-1 {
			time.Sleep(interval)
		}
	}
	if err := waitRows(ctx, db, backups, 2*time.Minute); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()

	rows, err := db.DB().QueryContext(ctx, `SELECT EXTRACT(EPOCH FROM created_at - completion_time) FROM backup_requests ORDER BY 1`)
	if err != nil {
		b.Fatal(err)
	}
	var lags []time.Duration
	for rows.Next() {
		var s float64
		if err := rows.Scan(&s); err != nil {
			b.Fatal(err)
		}
		lags = append(lags, time.Duration(s*float64(time.Second)))
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	if err := rows.Close(); err != nil {
		b.Fatal(err)
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	return lags
}

func inProgress(i int) *backupv1.BackupRequest {
	now := time.Now()
	return &backupv1.BackupRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("proj-p%02d-prd", i%20), Name: fmt.Sprintf("backup-%04d", i),
			UID: types.UID(fmt.Sprintf("bbbbbbbb-0000-4000-8000-%012d", i))},
		Spec: backupv1.BackupRequestSpec{ProjectID: fmt.Sprintf("p%02d", i%20), Environment: "prd", Provider: backupv1.ProviderAWS,
			Database: &backupv1.DatabaseBackupSpec{Type: backupv1.DatabaseBackupSnapshot, InstanceID: "db"}},
		Status: backupv1.BackupRequestStatus{Phase: backupv1.PhaseInProgress, StartTime: &metav1.Time{Time: now.Add(-time.Minute)}},
	}
}

// finish moves br to Succeeded the way the reconciler does, with a completion
// time of full precision (the in-memory object the reconciler hands to Enqueue).
func finish(ctx context.Context, b *testing.B, kc client.Client, br *backupv1.BackupRequest) {
	br.Status.Phase = backupv1.PhaseSucceeded
	br.Status.Database = &backupv1.DatabaseBackupStatus{SnapshotID: "snap-" + br.Name, SizeBytes: 1 << 30}
	br.Status.CompletionTime = &metav1.Time{Time: time.Now()}
	if err := kc.Status().Update(ctx, br); err != nil {
		b.Fatal(err)
	}
	br.Status.CompletionTime = &metav1.Time{Time: time.Now()}
}

// waitRows waits until backup_requests holds want rows (-1: until the table exists).
func waitRows(ctx context.Context, db *database.Client, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var n int
		err := db.DB().QueryRowContext(ctx, `SELECT count(*) FROM backup_requests`).Scan(&n)
		if err == nil && (want < 0 || n == want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %d rows: have %d (%v)", want, n, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
