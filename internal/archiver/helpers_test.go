package archiver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	backupv1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/database"
)

// patience bounds the waits for outcomes that must happen; it only runs out when a
// test fails, so it is long enough for a machine busy with other tests.
const patience = time.Minute

var uidSeq atomic.Int64

func newScheme(t testing.TB) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := backupv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := corev1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func newFakeClient(t testing.TB, objs ...client.Object) client.WithWatch {
	return fake.NewClientBuilder().WithScheme(newScheme(t)).
		WithStatusSubresource(&backupv1.BackupRequest{}, &backupv1.RestoreRequest{}).WithObjects(objs...).Build()
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
	// A stopped server refuses connections at once; the timeout only matters for a
	// server that is up but slow to accept, which a busy machine can be.
	db, err := database.Open(database.Config{URL: u, ConnectTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close database client: %v", err)
		}
	})
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
		case <-time.After(patience):
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

// waitFor polls cond until it holds, failing the test after patience.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitNotArchived reads key into obj until the conditions of obj (conditions) hold
// Archived=False, and returns that condition; it fails the test after patience.
func waitNotArchived(t testing.TB, c client.Client, key client.ObjectKey, obj client.Object, conditions func() []metav1.Condition) *metav1.Condition {
	t.Helper()
	waitFor(t, "Archived=False", func() bool {
		if err := c.Get(context.Background(), key, obj); err != nil {
			t.Fatal(err)
		}
		return meta.IsStatusConditionFalse(conditions(), ConditionArchived)
	})
	return meta.FindStatusCondition(conditions(), ConditionArchived)
}

// countLists returns c with a counter of the List calls made through it, counted
// when they start: the archiver lists only in resync, one resync after another.
func countLists(c client.WithWatch) (client.WithWatch, *atomic.Int64) {
	var n atomic.Int64
	return interceptor.NewClient(c, interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			n.Add(1)
			return c.List(ctx, list, opts...)
		},
	}), &n
}

// countingStore passes every call to a Store and counts the upserts of each UID, and
// how many of them failed.
type countingStore struct {
	Store
	mu                 sync.Mutex
	upserts, failedUps map[string]int
}

func newCountingStore(s Store) *countingStore {
	return &countingStore{Store: s, upserts: map[string]int{}, failedUps: map[string]int{}}
}

func (s *countingStore) UpsertBackupRecordChanged(ctx context.Context, r *database.BackupRecord) (bool, error) {
	changed, err := s.Store.UpsertBackupRecordChanged(ctx, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upserts[r.UID]++
	if err != nil {
		s.failedUps[r.UID]++
	}
	return changed, err
}

func (s *countingStore) UpsertRestoreRecordChanged(ctx context.Context, r *database.RestoreRecord) (bool, error) {
	changed, err := s.Store.UpsertRestoreRecordChanged(ctx, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upserts[r.UID]++
	if err != nil {
		s.failedUps[r.UID]++
	}
	return changed, err
}

func (s *countingStore) attempts(uid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upserts[uid]
}

func (s *countingStore) failures(uid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failedUps[uid]
}

// stuckStore is a database that never answers an upsert: each one announces itself on
// entered and waits until its context ends.
type stuckStore struct{ entered chan string }

func newStuckStore() *stuckStore { return &stuckStore{entered: make(chan string, 1024)} }

func (s *stuckStore) Migrate(context.Context) error { return nil }

func (s *stuckStore) UpsertBackupRecordChanged(ctx context.Context, r *database.BackupRecord) (bool, error) {
	s.entered <- r.UID
	<-ctx.Done()
	return false, ctx.Err()
}

func (s *stuckStore) MarkBackupForDeletion(context.Context, string, string, time.Time) error {
	return errors.New("stuckStore: MarkBackupForDeletion not expected")
}

func (s *stuckStore) MarkBackupDeleted(context.Context, string, time.Time) error {
	return errors.New("stuckStore: MarkBackupDeleted not expected")
}

func (s *stuckStore) UpsertRestoreRecordChanged(ctx context.Context, r *database.RestoreRecord) (bool, error) {
	s.entered <- r.UID
	<-ctx.Done()
	return false, ctx.Err()
}

func (s *stuckStore) FindCompletedRestore(ctx context.Context, _ database.RestoreKey) (*database.RestoreRecord, error) {
	<-ctx.Done()
	return nil, ctx.Err()
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

func rowPhase(t testing.TB, db *sql.DB, name string) string {
	t.Helper()
	var p string
	err := db.QueryRow(`SELECT phase FROM backup_requests WHERE name = $1`, name).Scan(&p)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return p
}

func rowCount(t testing.TB, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM backup_requests`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// queryStrings returns the single text column of every row of query q.
func queryStrings(t testing.TB, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}
