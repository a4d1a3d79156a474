package repolock

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

const (
	bucket = "backups"
	prefix = "p1/.repository/prd/"
	ns     = "lc2-system"
)

var (
	backupA = Holder{Namespace: "ns-a", Name: "backup-a", UID: "uid-a"}
	backupB = Holder{Namespace: "ns-b", Name: "backup-b", UID: "uid-b"}
)

func newLocks(t *testing.T) (*Locks, client.Client, *clocktesting.FakeClock) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := coordinationv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).Build()
	clk := clocktesting.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	return &Locks{Reader: c, Client: c, Namespace: ns, Clock: clk}, c, clk
}

func lease(t *testing.T, c client.Client) *coordinationv1.Lease {
	t.Helper()
	l := &coordinationv1.Lease{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: LeaseName(bucket, prefix)}, l); err != nil {
		t.Fatal(err)
	}
	return l
}

func holders(t *testing.T, c client.Client) []Holder {
	t.Helper()
	var hs []Holder
	if raw := lease(t, c).Annotations[HoldersAnnotation]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &hs); err != nil {
			t.Fatal(err)
		}
	}
	return hs
}

func allAlive(context.Context, Holder) (bool, error) { return true, nil }

func mustShared(t *testing.T, l *Locks, h Holder) {
	t.Helper()
	ok, blocker, err := l.AcquireShared(context.Background(), bucket, prefix, h)
	if err != nil || !ok {
		t.Fatalf("AcquireShared(%s) = %v, %q, %v; want ok", h.Name, ok, blocker, err)
	}
}

func mustExclusive(t *testing.T, l *Locks, sweeper string) {
	t.Helper()
	ok, blocker, err := l.AcquireExclusive(context.Background(), bucket, prefix, sweeper, allAlive)
	if err != nil || !ok {
		t.Fatalf("AcquireExclusive(%s) = %v, %q, %v; want ok", sweeper, ok, blocker, err)
	}
}

func TestLeaseName(t *testing.T) {
	n := LeaseName(bucket, prefix)
	if n != LeaseName(bucket, prefix) || !strings.HasPrefix(n, "lc2-repository-") || len(n) != len("lc2-repository-")+20 {
		t.Errorf("LeaseName = %q", n)
	}
	if n == LeaseName(bucket, "p1/.repository/uat/") || n == LeaseName("other", prefix) {
		t.Error("two repositories share a Lease")
	}
}

func TestAcquireSharedIsIdempotentAndRecordsHolders(t *testing.T) {
	l, c, _ := newLocks(t)
	ctx := context.Background()
	mustShared(t, l, backupA)
	mustShared(t, l, backupA)
	mustShared(t, l, backupB)
	got := holders(t, c)
	if len(got) != 2 || got[0] != backupA || got[1] != backupB {
		t.Errorf("holders %+v, want [a b]", got)
	}
	if r := lease(t, c).Annotations[RepositoryAnnotation]; r != "s3://"+bucket+"/"+prefix {
		t.Errorf("repository annotation %q", r)
	}

	if err := l.ReleaseShared(ctx, bucket, prefix, backupA); err != nil {
		t.Fatal(err)
	}
	if err := l.ReleaseShared(ctx, bucket, prefix, backupA); err != nil {
		t.Fatalf("releasing a lock not held: %v", err)
	}
	if got := holders(t, c); len(got) != 1 || got[0] != backupB {
		t.Errorf("holders after release %+v, want [b]", got)
	}
}

func TestAcquireExclusiveWaitsForLiveSharedHolders(t *testing.T) {
	l, c, _ := newLocks(t)
	ctx := context.Background()
	mustShared(t, l, backupA)

	ok, blocker, err := l.AcquireExclusive(ctx, bucket, prefix, "sweep-1", allAlive)
	if err != nil || ok {
		t.Fatalf("AcquireExclusive with a live holder = %v, %v; want refused", ok, err)
	}
	if !strings.Contains(blocker, "ns-a/backup-a") {
		t.Errorf("blocker %q does not name the holder ns-a/backup-a", blocker)
	}
	if h := ptr.Deref(lease(t, c).Spec.HolderIdentity, ""); h != "" {
		t.Errorf("refused sweep recorded as holder %q", h)
	}

	if err := l.ReleaseShared(ctx, bucket, prefix, backupA); err != nil {
		t.Fatal(err)
	}
	mustExclusive(t, l, "sweep-1")
	if h := ptr.Deref(lease(t, c).Spec.HolderIdentity, ""); h != "sweep-1" {
		t.Errorf("holder identity %q, want sweep-1", h)
	}
}

func TestAcquireExclusiveDropsDeadHolders(t *testing.T) {
	l, c, _ := newLocks(t)
	ctx := context.Background()
	mustShared(t, l, backupA)
	mustShared(t, l, backupB)
	aliveOnlyB := func(_ context.Context, h Holder) (bool, error) { return h == backupB, nil }

	ok, blocker, err := l.AcquireExclusive(ctx, bucket, prefix, "sweep-1", aliveOnlyB)
	if err != nil || ok {
		t.Fatalf("AcquireExclusive with b alive = %v, %v; want refused", ok, err)
	}
	if !strings.Contains(blocker, "ns-b/backup-b") {
		t.Errorf("blocker %q does not name the live holder ns-b/backup-b", blocker)
	}
	if got := holders(t, c); len(got) != 1 || got[0] != backupB {
		t.Errorf("holders %+v, want the dead holder a dropped", got)
	}

	none := func(context.Context, Holder) (bool, error) { return false, nil }
	ok, blocker, err = l.AcquireExclusive(ctx, bucket, prefix, "sweep-1", none)
	if err != nil || !ok {
		t.Fatalf("AcquireExclusive with every holder dead = %v, %q, %v; want ok", ok, blocker, err)
	}
	if got := holders(t, c); len(got) != 0 {
		t.Errorf("holders %+v, want none", got)
	}
}

func TestAcquireExclusiveAliveError(t *testing.T) {
	l, c, _ := newLocks(t)
	mustShared(t, l, backupA)
	boom := errors.New("boom")
	ok, _, err := l.AcquireExclusive(context.Background(), bucket, prefix, "sweep-1",
		func(context.Context, Holder) (bool, error) { return false, boom })
	if ok || !errors.Is(err, boom) {
		t.Fatalf("AcquireExclusive = %v, %v; want refused with %v", ok, err, boom)
	}
	if got := holders(t, c); len(got) != 1 || got[0] != backupA {
		t.Errorf("holders %+v: a failed liveness check dropped a holder", got)
	}
}

func TestSweepBlocksSharedUntilReleased(t *testing.T) {
	l, c, _ := newLocks(t)
	ctx := context.Background()
	mustExclusive(t, l, "sweep-1")

	ok, blocker, err := l.AcquireShared(ctx, bucket, prefix, backupA)
	if err != nil || ok {
		t.Fatalf("AcquireShared during a sweep = %v, %v; want refused", ok, err)
	}
	if !strings.Contains(blocker, "sweep-1") {
		t.Errorf("blocker %q does not name the sweep", blocker)
	}
	if got := holders(t, c); len(got) != 0 {
		t.Errorf("refused backup recorded as holder: %+v", got)
	}

	// Releasing someone else's hold does nothing.
	if err := l.ReleaseExclusive(ctx, bucket, prefix, "sweep-2"); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := l.AcquireShared(ctx, bucket, prefix, backupA); ok {
		t.Fatal("another sweeper's release ended sweep-1's hold")
	}

	if err := l.ReleaseExclusive(ctx, bucket, prefix, "sweep-1"); err != nil {
		t.Fatal(err)
	}
	if h := lease(t, c).Spec.HolderIdentity; h != nil {
		t.Errorf("holder identity %q after release", *h)
	}
	mustShared(t, l, backupA)
}

func TestSweepHoldLapsesWithoutRenewal(t *testing.T) {
	l, _, clk := newLocks(t)
	ctx := context.Background()
	mustExclusive(t, l, "sweep-1")

	clk.Step(SweepLeaseDuration)
	if ok, _, _ := l.AcquireShared(ctx, bucket, prefix, backupA); ok {
		t.Fatal("AcquireShared succeeded while the sweep's hold is still within its duration")
	}
	clk.Step(time.Second)
	mustShared(t, l, backupA)
}

func TestSecondSweeperRefusedWhileFirstIsFresh(t *testing.T) {
	l, c, clk := newLocks(t)
	ctx := context.Background()
	mustExclusive(t, l, "sweep-1")
	acquired := lease(t, c).Spec.AcquireTime.Time

	clk.Step(SweepLeaseDuration - time.Second)
	ok, blocker, err := l.AcquireExclusive(ctx, bucket, prefix, "sweep-2", allAlive)
	if err != nil || ok {
		t.Fatalf("second sweeper = %v, %v; want refused", ok, err)
	}
	if !strings.Contains(blocker, "sweep-1") {
		t.Errorf("blocker %q does not name sweep-1", blocker)
	}

	// The same sweeper re-acquiring renews its hold.
	mustExclusive(t, l, "sweep-1")
	spec := lease(t, c).Spec
	if !spec.RenewTime.Time.Equal(clk.Now()) || !spec.AcquireTime.Time.Equal(acquired) {
		t.Errorf("renewal: renew %v acquire %v; want renew %v, acquire kept at %v", spec.RenewTime, spec.AcquireTime, clk.Now(), acquired)
	}
	clk.Step(SweepLeaseDuration - time.Second)
	if ok, _, _ := l.AcquireExclusive(ctx, bucket, prefix, "sweep-2", allAlive); ok {
		t.Fatal("second sweeper acquired a renewed hold")
	}
	if ok, _, _ := l.AcquireShared(ctx, bucket, prefix, backupA); ok {
		t.Fatal("backup acquired during a renewed sweep hold")
	}

	// Past the duration without renewal another sweeper takes over.
	clk.Step(2 * time.Second)
	mustExclusive(t, l, "sweep-2")
	if h := ptr.Deref(lease(t, c).Spec.HolderIdentity, ""); h != "sweep-2" {
		t.Errorf("holder identity %q, want sweep-2", h)
	}
}
