package fake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
)

// The test knobs the controller's unit tests and the reconcile benchmark rely on; the
// behaviour shared with the AWS provider is in the contract suite.

func TestFailWithAndCalls(t *testing.T) {
	ctx := context.Background()
	p := fake.New("b")
	boom := provider.NewError(provider.KindThrottled, "ListObjectsV2", "b", errors.New("SlowDown"))
	p.FailWith("ListObjectsUpTo", boom)
	if _, err := p.ListObjectsUpTo(ctx, "b", "", 1); !errors.Is(err, boom) {
		t.Fatalf("ListObjectsUpTo = %v, want the injected error", err)
	}
	if _, err := p.ListObjects(ctx, "b", ""); err != nil {
		t.Fatalf("ListObjects failed with ListObjectsUpTo's error: %v", err)
	}
	p.FailWith("ListObjectsUpTo", nil)
	if _, err := p.ListObjectsUpTo(ctx, "b", "", 1); err != nil {
		t.Fatalf("after clearing: %v", err)
	}
	if p.Calls("ListObjectsUpTo") != 2 || p.Calls("ListObjects") != 1 {
		t.Fatalf("calls ListObjectsUpTo=%d ListObjects=%d, want 2 and 1", p.Calls("ListObjectsUpTo"), p.Calls("ListObjects"))
	}
}

func TestSnapshotReadyAfterFollowsNow(t *testing.T) {
	ctx := context.Background()
	clk := clocktesting.NewFakePassiveClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	p := fake.New()
	p.Clock = clk
	p.SnapshotReadyAfter = time.Minute
	// Without RequireInstances any instance id can be snapshotted.
	res, err := p.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: "db",
		Owner: provider.BackupOwner{Namespace: "ns", Name: "n", UID: "u"}})
	if err != nil {
		t.Fatal(err)
	}
	if ids := p.Snapshots(); len(ids) != 1 || ids[0] != res.SnapshotID {
		t.Fatalf("Snapshots() = %v, want [%s]", ids, res.SnapshotID)
	}
	st, _ := p.GetDatabaseSnapshotStatus(ctx, res.SnapshotID)
	if st.State != provider.SnapshotCreating || !st.CreatedAt.Equal(clk.Now()) {
		t.Fatalf("status %+v, want Creating since %v", st, clk.Now())
	}
	clk.SetTime(clk.Now().Add(time.Minute))
	if st, _ := p.GetDatabaseSnapshotStatus(ctx, res.SnapshotID); st.State != provider.SnapshotAvailable || st.PercentProgress != 100 {
		t.Fatalf("after SnapshotReadyAfter: %+v, want Available", st)
	}
	p.SetSnapshotState(res.SnapshotID, provider.SnapshotFailed, "failed")
	if st, _ := p.GetDatabaseSnapshotStatus(ctx, res.SnapshotID); st.State != provider.SnapshotFailed || st.RawStatus != "failed" {
		t.Fatalf("after SetSnapshotState: %+v", st)
	}

	p.RequireInstances = true
	_, err = p.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: "unknown-db",
		Owner: provider.BackupOwner{Namespace: "ns", Name: "other", UID: "u2"}})
	if !provider.IsNotFound(err) {
		t.Fatalf("RequireInstances: %v, want NotFound", err)
	}
}

func TestCopyDurationAndLatencyStopWithTheContext(t *testing.T) {
	p := fake.New("src", "dst")
	p.PutObject("src", "dl/1.0", []byte("x"))
	p.CopyDuration = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	res, err := p.CopyObjectStorage(ctx, provider.ObjectStorageCopyRequest{SourceBucket: "src", SourcePrefix: "dl/", DestinationBucket: "dst"})
	if !errors.Is(err, context.Canceled) || provider.IsPermanent(err) || provider.Describe(err) == "" {
		t.Fatalf("cancelled copy: %v, want a transient error wrapping context.Canceled", err)
	}
	if res == nil || res.ObjectsCopied != 0 {
		t.Fatalf("cancelled copy result %+v, want an empty result", res)
	}

	p.Latency = time.Hour
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	if _, err := p.BucketTags(ctx, "src"); !errors.Is(err, context.Canceled) {
		t.Fatalf("call under Latency: %v, want context.Canceled", err)
	}
}
