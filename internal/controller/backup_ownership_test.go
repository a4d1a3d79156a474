package controller

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

func TestResourceOwnershipNoneTrustsTheSpec(t *testing.T) {
	m := newMachine(t, request("single-tenant"))
	m.cloud.SetInstanceTags("retail-prd-db", map[string]string{})
	m.cloud.SetBucketTags("liferay-retail-prd-dl", nil)
	m.cloud.SetBucketTags("liferay-backups", nil)
	m.r.Options.ResourceOwnership = OwnershipNone
	m.succeed("single-tenant")
	if n := m.cloud.Calls("BucketTags") + m.cloud.Calls("DatabaseInstanceTags"); n != 0 {
		t.Fatalf("%d tag reads with --resource-ownership=none", n)
	}
}

func TestAConfiguredOwnershipTagKeyIsTheOneRead(t *testing.T) {
	m := newMachine(t, request("custom-key"))
	m.r.Options.OwnershipTagKey = "example.com/tenant"
	br := m.drive("custom-key")
	ready := condition(br, backupv1alpha1.ConditionReady)
	if ready.Reason != string(backupv1alpha1.ReasonResourceNotOwned) || !strings.Contains(ready.Message, "example.com/tenant=retail") {
		t.Fatalf("want ResourceNotOwned naming the configured key, got %+v", ready)
	}
	if m.cloud.Calls("CreateDatabaseSnapshot") != 0 || m.cloud.Calls("UploadObject") != 0 {
		t.Fatal("a refused request wrote to the cloud")
	}
}

func TestAResumedRunKeepsItsOwnClaimAndAForeignClaimIsRefused(t *testing.T) {
	m := newMachine(t, request("resumed"), request("squatted"))
	claim := &layout.Claim{Version: layout.ClaimVersion, BackupID: "x", UID: "uid-resumed", Namespace: "proj-retail-prd", Name: "resumed",
		ClaimedAt: start.Add(-time.Hour)}
	data, err := claim.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m.cloud.PutObject("liferay-backups", "retail/prd/resumed/claim.json", data)
	m.cloud.PutObject("liferay-backups", "retail/prd/resumed/data/10/0.pdf", []byte(strings.Repeat("x", 100)))
	m.succeed("resumed")
	if got := m.get("resumed").Status.Claim; got == nil || !got.ClaimedAt.Equal(&metav1.Time{Time: start.Add(-time.Hour)}) {
		t.Fatalf("the resumed run must keep its first claim, got %+v", got)
	}

	other := *claim
	other.UID, other.BackupID = "uid-someone-else", "someone-else"
	data, _ = other.Marshal()
	m.cloud.PutObject("liferay-backups", "retail/prd/squatted/claim.json", data)
	br := m.drive("squatted")
	if r := condition(br, backupv1alpha1.ConditionReady); r.Reason != string(backupv1alpha1.ReasonDestinationInUse) || !strings.Contains(r.Message, "someone-else") {
		t.Fatalf("want DestinationInUse naming the claim's backup, got %+v", r)
	}
	if br.Status.Claim != nil || br.Status.ExpiresAt != nil {
		t.Fatalf("a refused request claims nothing and never expires: %+v", br.Status)
	}
}

func TestCleanupDeletesNothingUnderADestinationClaimedByAnotherBackup(t *testing.T) {
	m := newMachine(t, request("old"), request("new"))
	m.succeed("old")
	m.clock.Step(time.Hour)
	m.succeed("new")
	before := m.objectsUnder("retail/prd/old/")
	// Someone replaced the claim: the prefix is no longer provably ours.
	m.cloud.PutObject("liferay-backups", "retail/prd/old/claim.json", []byte(`{"version":"1","backupId":"intruder","uid":"uid-intruder"}`))
	m.clock.Step(31 * 24 * time.Hour)
	if _, err := m.reconcile("old"); err != nil {
		t.Fatal(err)
	}
	old := m.get("old")
	if old.Status.Phase != backupv1alpha1.PhaseExpired || !strings.Contains(old.Status.Message, "nothing removed under s3://liferay-backups/retail/prd/old/") {
		t.Fatalf("phase %s: %s", old.Status.Phase, old.Status.Message)
	}
	if after := m.objectsUnder("retail/prd/old/"); after != before {
		t.Fatalf("%d objects before, %d after: nothing may be deleted under another backup's claim", before, after)
	}
}

func TestAnUnreadableInventoryPartKeepsItsObjectsAndIsReported(t *testing.T) {
	m := newMachine(t, request("old"), request("new"))
	m.succeed("old")
	m.clock.Step(time.Hour)
	m.succeed("new")
	parts, err := m.cloud.ListObjects(m.ctx, "liferay-backups", "retail/prd/old/inventory/")
	if err != nil || len(parts) != 1 {
		t.Fatalf("want one inventory part, got %d (%v)", len(parts), err)
	}
	m.cloud.PutObject("liferay-backups", parts[0].Key, []byte("corrupted"))
	before := m.objectsUnder("retail/prd/old/")
	m.clock.Step(31 * 24 * time.Hour)
	if _, err := m.reconcile("old"); err == nil {
		t.Fatal("a cleanup that cannot read the inventory must report an error and retry")
	}
	if after := m.objectsUnder("retail/prd/old/"); after != before {
		t.Fatalf("%d objects before, %d after: objects of an unreadable inventory must stay", before, after)
	}
	if c := condition(m.get("old"), backupv1alpha1.ConditionArtifactsRemoved); c == nil || c.Reason != string(backupv1alpha1.ReasonCleanupFailed) {
		t.Fatalf("want ArtifactsRemoved=False/CleanupFailed, got %+v", c)
	}
}

func TestPermanentProviderErrorsReadAsActionableMessages(t *testing.T) {
	br := request("x")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{provider.NewError(provider.KindNotFound, "DescribeDBInstances", "retail-prd-db", errors.New("DBInstanceNotFound: RequestID abc")).
			WithMessage("database instance retail-prd-db not found in us-east-1"),
			"database instance retail-prd-db not found in us-east-1; check spec.database.instanceId"},
		{provider.NewError(provider.KindNotFound, "GetBucketTagging", "liferay-retail-prd-dl", errors.New("NoSuchBucket")).
			WithMessage("bucket liferay-retail-prd-dl does not exist"),
			"bucket liferay-retail-prd-dl does not exist; check spec.documentLibrary.sourceBucket"},
		{provider.NewError(provider.KindAccessDenied, "PutObject", "liferay-backups/retail/prd/x/claim.json", errors.New("AccessDenied")).
			WithMessage("access denied to s3://liferay-backups/retail/prd/x/claim.json (s3:PutObject)"),
			"access denied to s3://liferay-backups/retail/prd/x/claim.json (s3:PutObject); the controller's cloud identity lacks a permission (docs/aws-provider.md lists the least-privilege roles)"},
	} {
		if got := actionableMessage(br, errors.Join(errors.New("wrapped"), tc.err)); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

func TestARefusedRequestDoesNotHoldItsDestination(t *testing.T) {
	refused := request("refused", func(s *backupv1alpha1.BackupRequestSpec) { s.DocumentLibrary.DestinationPrefix = "retail/prd/shared/" })
	later := request("later", func(s *backupv1alpha1.BackupRequestSpec) { s.DocumentLibrary.DestinationPrefix = "retail/prd/shared/" })
	later.CreationTimestamp = metav1.NewTime(start.Add(time.Minute))
	m := newMachine(t, refused, later)
	m.cloud.PutObject("liferay-backups", "retail/prd/shared/leftover.txt", []byte("foreign"))
	if r := condition(m.drive("refused"), backupv1alpha1.ConditionReady); r.Reason != string(backupv1alpha1.ReasonDestinationNotEmpty) {
		t.Fatalf("want DestinationNotEmpty, got %+v", r)
	}
	if _, err := m.cloud.DeleteObjects(m.ctx, "liferay-backups", []string{"retail/prd/shared/leftover.txt"}); err != nil {
		t.Fatal(err)
	}
	m.succeed("later")
}
