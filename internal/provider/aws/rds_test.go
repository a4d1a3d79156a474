package aws

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

var instanceSeq atomic.Int64

// newInstance creates a PostgreSQL instance in moto and returns its identifier.
func (c rawClients) newInstance(t testing.TB) string {
	t.Helper()
	id := fmt.Sprintf("liferay-db-%d-%d", os.Getpid(), instanceSeq.Add(1))
	_, err := c.rds.CreateDBInstance(context.Background(), &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: &id,
		DBInstanceClass:      awssdk.String("db.t3.micro"),
		Engine:               awssdk.String("postgres"),
		EngineVersion:        awssdk.String("16.3"),
		AllocatedStorage:     awssdk.Int32(20),
		MasterUsername:       awssdk.String("liferay"),
		MasterUserPassword:   awssdk.String("liferay-password"),
	})
	if err != nil {
		t.Fatalf("create instance %s: %v", id, err)
	}
	return id
}

// snapshotsOf lists the manual snapshots of an instance as moto has them.
func (c rawClients) snapshotsOf(t testing.TB, instanceID string) []rdstypes.DBSnapshot {
	t.Helper()
	out, err := c.rds.DescribeDBSnapshots(context.Background(), &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: &instanceID})
	if err != nil {
		t.Fatalf("describe snapshots of %s: %v", instanceID, err)
	}
	var manual []rdstypes.DBSnapshot
	for _, s := range out.DBSnapshots {
		if awssdk.ToString(s.SnapshotType) != "automated" {
			manual = append(manual, s)
		}
	}
	return manual
}

var ownerSeq atomic.Int64

func testOwner() provider.BackupOwner {
	n := ownerSeq.Add(1)
	return provider.BackupOwner{
		ProjectID:   "acme",
		Environment: "prd",
		Namespace:   "acme-prd",
		// Names and UIDs of their own: other suites of this package (the provider
		// contract) number their owners from 1 too, and a snapshot's identifier
		// derives from its owner.
		Name: fmt.Sprintf("rds-nightly-%d", n),
		UID:  fmt.Sprintf("6b1f0c2e-0000-4000-9000-%012d", n),
	}
}

func TestCreateSnapshotTagsItAndReportsStatus(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	p := newTestProvider(t, Options{})
	instance := raw.newInstance(t)
	owner := testOwner()

	res, err := p.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: instance, Owner: owner})
	if err != nil {
		t.Fatalf("create snapshot: %v", err)
	}
	if res.SnapshotID != SnapshotIdentifier(owner) || res.Adopted || res.SnapshotARN == "" {
		t.Fatalf("unexpected result %+v", res)
	}

	snapshots := raw.snapshotsOf(t, instance)
	if len(snapshots) != 1 || awssdk.ToString(snapshots[0].DBSnapshotIdentifier) != res.SnapshotID {
		t.Fatalf("moto has snapshots %v, want exactly %s", snapshotIDs(snapshots), res.SnapshotID)
	}
	tagsOut, err := raw.rds.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: snapshots[0].DBSnapshotArn})
	if err != nil {
		t.Fatal(err)
	}
	tags := tagMap(tagsOut.TagList)
	want := map[string]string{
		TagManagedBy: ManagedByController, TagProjectID: owner.ProjectID, TagEnvironment: owner.Environment,
		TagBackupNamespace: owner.Namespace, TagBackupName: owner.Name, TagBackupUID: owner.UID,
	}
	for k, v := range want {
		if tags[k] != v {
			t.Errorf("tag %s = %q, want %q (all tags %v)", k, tags[k], v, tags)
		}
	}

	status, err := p.GetDatabaseSnapshotStatus(ctx, res.SnapshotID)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if status.State != provider.SnapshotAvailable && status.State != provider.SnapshotCreating {
		t.Errorf("state %s (raw %q), want Available or Creating", status.State, status.RawStatus)
	}
	if status.InstanceID != instance || status.Engine != "postgres" || status.EngineVersion != "16.3" ||
		status.SizeBytes != 20<<30 || status.SnapshotARN != res.SnapshotARN || status.Owner != owner {
		t.Errorf("status %+v does not describe the snapshot of %s owned by %+v", status, instance, owner)
	}
}

func TestCreateSnapshotTwiceAdoptsTheFirst(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	p := newTestProvider(t, Options{})
	instance := raw.newInstance(t)
	req := provider.CreateSnapshotRequest{InstanceID: instance, Owner: testOwner()}

	first, err := p.CreateDatabaseSnapshot(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// A controller restarted after the first call makes the same call again.
	second, err := p.CreateDatabaseSnapshot(ctx, req)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if !second.Adopted || second.SnapshotID != first.SnapshotID || second.SnapshotARN != first.SnapshotARN {
		t.Fatalf("retry gave %+v, want the first snapshot %+v adopted", second, first)
	}
	if n := len(raw.snapshotsOf(t, instance)); n != 1 {
		t.Fatalf("%d snapshots after a retry, want 1", n)
	}
}

func TestCreateSnapshotAdoptsOneMadeOutsideByTags(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	p := newTestProvider(t, Options{})
	instance := raw.newInstance(t)
	owner := testOwner()
	// The snapshot exists already with our tags, as after a crash right after the call.
	_, err := raw.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{
		DBInstanceIdentifier: &instance,
		DBSnapshotIdentifier: awssdk.String(SnapshotIdentifier(owner)),
		Tags:                 ownerTags(owner),
	})
	if err != nil {
		t.Fatal(err)
	}

	res, err := p.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: instance, Owner: owner})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !res.Adopted || res.SnapshotID != SnapshotIdentifier(owner) {
		t.Fatalf("result %+v, want the existing snapshot adopted", res)
	}
	if n := len(raw.snapshotsOf(t, instance)); n != 1 {
		t.Fatalf("%d snapshots, want 1", n)
	}
}

func TestCreateSnapshotConflictsWithSomeoneElsesSnapshot(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	p := newTestProvider(t, Options{})
	instance := raw.newInstance(t)
	owner := testOwner()
	other := owner
	other.UID = "11111111-2222-4333-8444-555555555555" // same name, recreated BackupRequest
	_, err := raw.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{
		DBInstanceIdentifier: &instance,
		DBSnapshotIdentifier: awssdk.String(SnapshotIdentifier(owner)),
		Tags:                 ownerTags(other),
	})
	if err != nil {
		t.Fatal(err)
	}

	_, err = p.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: instance, Owner: owner})
	if provider.KindOf(err) != provider.KindConflict || !provider.IsPermanent(err) {
		t.Fatalf("error %v (kind %s), want a permanent Conflict", err, provider.KindOf(err))
	}
	if !strings.Contains(err.Error(), other.UID) {
		t.Errorf("conflict error %q does not name the snapshot's real owner", err)
	}
	if n := len(raw.snapshotsOf(t, instance)); n != 1 {
		t.Fatalf("%d snapshots, want only the foreign one", n)
	}
}

func TestSnapshotNotFoundCases(t *testing.T) {
	ctx := context.Background()
	p := newTestProvider(t, Options{})

	_, err := p.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: "no-such-instance", Owner: testOwner()})
	if !provider.IsNotFound(err) || !provider.IsPermanent(err) {
		t.Errorf("snapshot of a missing instance: %v (kind %s), want permanent NotFound", err, provider.KindOf(err))
	}
	if got, want := provider.Describe(err), "database instance no-such-instance not found in us-east-1"; got != want {
		t.Errorf("snapshot of a missing instance: message %q, want %q", got, want)
	}
	_, err = p.GetDatabaseSnapshotStatus(ctx, "lc2-no-such-snapshot")
	if !provider.IsNotFound(err) {
		t.Errorf("status of a missing snapshot: %v (kind %s), want NotFound", err, provider.KindOf(err))
	}
	if got, want := provider.Describe(err), "database snapshot lc2-no-such-snapshot not found in us-east-1"; got != want {
		t.Errorf("status of a missing snapshot: message %q, want %q", got, want)
	}
	if err := p.DeleteDatabaseSnapshot(ctx, "lc2-no-such-snapshot"); err != nil {
		t.Errorf("delete of a missing snapshot: %v, want success", err)
	}
	_, err = p.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: "db", Owner: provider.BackupOwner{Name: "x"}})
	if provider.KindOf(err) != provider.KindInvalidInput {
		t.Errorf("snapshot without owner uid: %v, want InvalidInput", err)
	}
}

func TestDeleteSnapshotRemovesItOnce(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	p := newTestProvider(t, Options{})
	instance := raw.newInstance(t)
	res, err := p.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: instance, Owner: testOwner()})
	if err != nil {
		t.Fatal(err)
	}

	if err := p.DeleteDatabaseSnapshot(ctx, res.SnapshotID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if left := raw.snapshotsOf(t, instance); len(left) != 0 {
		t.Fatalf("snapshots left after delete: %v", snapshotIDs(left))
	}
	if _, err := p.GetDatabaseSnapshotStatus(ctx, res.SnapshotID); !provider.IsNotFound(err) {
		t.Fatalf("status after delete: %v, want NotFound", err)
	}
	if err := p.DeleteDatabaseSnapshot(ctx, res.SnapshotID); err != nil {
		t.Fatalf("second delete: %v, want success", err)
	}
}

func TestRDSAccessDeniedIsPermanent(t *testing.T) {
	proxy := newFaultProxy(t)
	proxy.inject(func(*http.Request) bool { return true }, -1, http.StatusForbidden, "AccessDenied")
	p := newTestProvider(t, Options{Endpoint: proxy.URL})

	_, err := p.GetDatabaseSnapshotStatus(context.Background(), "lc2-anything")
	if provider.KindOf(err) != provider.KindAccessDenied || !provider.IsPermanent(err) {
		t.Fatalf("error %v (kind %s), want permanent AccessDenied", err, provider.KindOf(err))
	}
}

func snapshotIDs(snapshots []rdstypes.DBSnapshot) []string {
	var ids []string
	for _, s := range snapshots {
		ids = append(ids, awssdk.ToString(s.DBSnapshotIdentifier))
	}
	return ids
}

// TestSnapshotQuotaIsNamedAndNotRetried: RDS refusing CreateDBSnapshot for the
// account's snapshot quota (an HTTP 400 the emulator never sends; the proxy answers
// it) is a permanent QuotaExceeded error naming the snapshot quota, and the SDK's
// retryer sends the call once: the controller decides when to try again.
func TestSnapshotQuotaIsNamedAndNotRetried(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	instance := raw.newInstance(t)
	proxy, err := harness.NewDelayProxy(moto.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	proxy.RefuseWith(harness.RDSAction("CreateDBSnapshot"),
		harness.RDSError("SnapshotQuotaExceeded", "Cannot create more than 100 manual snapshots"))
	opts := fastRetries
	opts.Endpoint = proxy.URL
	p := newTestProvider(t, opts)

	_, err = p.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: instance, Owner: testOwner()})
	if provider.KindOf(err) != provider.KindQuotaExceeded || !provider.IsPermanent(err) || provider.QuotaOf(err) != provider.QuotaSnapshot {
		t.Fatalf("error %v (kind %s, quota %s), want a permanent QuotaExceeded of the snapshot quota", err, provider.KindOf(err), provider.QuotaOf(err))
	}
	if msg := provider.Describe(err); !strings.Contains(msg, "manual snapshot quota") || !strings.Contains(msg, "SnapshotQuotaExceeded") || !strings.Contains(msg, instance) {
		t.Errorf("message %q must name the quota, the code and the instance", msg)
	}
	if n := proxy.Accept(); n != 1 {
		t.Errorf("CreateDBSnapshot sent %d times, want once (not retried)", n)
	}
	if left := raw.snapshotsOf(t, instance); len(left) != 0 {
		t.Errorf("snapshots after a refusal: %v", snapshotIDs(left))
	}
}
