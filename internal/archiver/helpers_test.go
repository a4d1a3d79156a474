package archiver

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	backupv1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/database"
)

var uidSeq atomic.Int64

func newScheme(t testing.TB) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := backupv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func newFakeClient(t testing.TB, objs ...client.Object) client.Client {
	return fake.NewClientBuilder().WithScheme(newScheme(t)).
		WithStatusSubresource(&backupv1.BackupRequest{}).WithObjects(objs...).Build()
}

// newBR returns a BackupRequest in phase, completed a second ago.
func newBR(ns, name string, phase backupv1.BackupPhase) *backupv1.BackupRequest {
	now := time.Now()
	days := int32(30)
	br := &backupv1.BackupRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			UID:               types.UID(fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", uidSeq.Add(1))),
			CreationTimestamp: metav1.NewTime(now.Add(-time.Minute))},
		Spec: backupv1.BackupRequestSpec{ProjectID: "retail", Environment: "prd", Provider: backupv1.ProviderAWS,
			Database:        &backupv1.DatabaseBackupSpec{Type: backupv1.DatabaseBackupSnapshot, InstanceID: "retail-prd-db"},
			DocumentLibrary: &backupv1.DocumentLibraryBackupSpec{SourceBucket: "src", DestinationBucket: "dst", DestinationPrefix: "retail/prd/" + backupv1.ObjectPrefix(name) + "/"},
			RetentionDays:   &days},
		Status: backupv1.BackupRequestStatus{Phase: phase, Message: "backup " + string(phase),
			StartTime: &metav1.Time{Time: now.Add(-50 * time.Second)}},
	}
	if phase.IsTerminal() {
		br.Status.CompletionTime = &metav1.Time{Time: now.Add(-time.Second)}
		br.Status.Database = &backupv1.DatabaseBackupStatus{SnapshotID: "snap-" + name, SizeBytes: 100}
		br.Status.DocumentLibrary = &backupv1.DocumentLibraryBackupStatus{ObjectsTotal: 3, TotalSizeBytes: 30}
		br.Status.Manifest = &backupv1.ManifestStatus{Location: "s3://dst/retail/prd/" + name + "/manifest.json", Checksum: "sha256:00"}
		br.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "BackupSucceeded",
			LastTransitionTime: metav1.Now()}}
	}
	return br
}

// newDB returns a migrated client on a fresh database.
func newDB(t testing.TB) *database.Client {
	t.Helper()
	u, err := testPG.NewDatabase(context.Background(), "arch")
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(database.Config{URL: u, ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// run starts a in the background and stops it at cleanup.
func run(t testing.TB, a *Archiver) {
	ctx, cancel := context.WithCancel(ctrl.LoggerInto(context.Background(), zap.New(zap.UseDevMode(true), zap.WriteTo(testWriter{t}))))
	done := make(chan error, 1)
	go func() { done <- a.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Start returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("archiver did not stop")
		}
	})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Log(string(p))
	}
	return len(p), nil
}

func archivedCount(t testing.TB, c client.Client) int {
	var list backupv1.BackupRequestList
	if err := c.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range list.Items {
		if IsArchived(&list.Items[i]) {
			n++
		}
	}
	return n
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func counterValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			return metricValue(m)
		}
	}
	return 0
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func rowPhase(t testing.TB, db interface {
	QueryRow(string, ...any) *sql.Row
}, name string) string {
	var p string
	db.QueryRow(`SELECT phase FROM backup_requests WHERE name = $1`, name).Scan(&p)
	return p
}
