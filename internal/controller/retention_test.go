package controller

import (
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// succeed runs name to Succeeded and returns its snapshot id.
func (m *machine) succeed(name string) string {
	m.t.Helper()
	br := m.drive(name)
	if br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		m.t.Fatalf("%s: %s %s", name, br.Status.Phase, br.Status.Message)
	}
	return br.Status.Database.SnapshotID
}

func (m *machine) objectsUnder(prefix string) int {
	objs, err := m.cloud.ListObjects(m.ctx, "liferay-backups", prefix)
	if err != nil {
		m.t.Fatal(err)
	}
	return len(objs)
}

func contains(ids []string, id string) bool {
	for _, s := range ids {
		if s == id {
			return true
		}
	}
	return false
}

func TestExpiredBackupIsRemovedFromTheCloudAndKeptAsARecord(t *testing.T) {
	m := newMachine(t, request("old"), request("new"))
	oldSnap := m.succeed("old")
	m.clock.Step(time.Hour)
	newSnap := m.succeed("new")

	m.clock.Step(31 * 24 * time.Hour)
	if _, err := m.reconcile("old"); err != nil {
		t.Fatal(err)
	}
	old := m.get("old")
	if old.Status.Phase != backupv1alpha1.PhaseExpired {
		t.Fatalf("phase %s: %s", old.Status.Phase, old.Status.Message)
	}
	if contains(m.cloud.Snapshots(), oldSnap) || m.objectsUnder("retail/prd/old/") != 0 {
		t.Fatalf("expired backup left artefacts: snapshots %v, %d objects", m.cloud.Snapshots(), m.objectsUnder("retail/prd/old/"))
	}
	if !contains(m.cloud.Snapshots(), newSnap) || m.objectsUnder("retail/prd/new/") == 0 {
		t.Fatal("the newer backup must be untouched")
	}
	if c := condition(old, backupv1alpha1.ConditionArtifactsRemoved); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("ArtifactsRemoved %+v", c)
	}
	if evs := strings.Join(m.events(), "\n"); !strings.Contains(evs, "Normal Expired") {
		t.Fatalf("want an Expired event:\n%s", evs)
	}
}

func TestNewestSuccessfulBackupIsNeverExpired(t *testing.T) {
	m := newMachine(t, request("only"))
	snap := m.succeed("only")
	m.clock.Step(400 * 24 * time.Hour)
	res, err := m.reconcile("only")
	if err != nil {
		t.Fatal(err)
	}
	br := m.get("only")
	if br.Status.Phase != backupv1alpha1.PhaseSucceeded || !contains(m.cloud.Snapshots(), snap) {
		t.Fatalf("the only successful backup was removed: %s", br.Status.Phase)
	}
	if c := condition(br, backupv1alpha1.ConditionArtifactsRemoved); c == nil || c.Reason != string(backupv1alpha1.ReasonKeptAsNewest) {
		t.Fatalf("want KeptAsNewest, got %+v", c)
	}
	if res.RequeueAfter <= 0 {
		t.Fatal("a kept backup must be checked again later")
	}
}

func TestRetainPolicyKeepsArtefacts(t *testing.T) {
	old := request("old")
	old.Annotations = map[string]string{backupv1alpha1.DeletionPolicyAnnotation: "retain"}
	m := newMachine(t, old, request("new"))
	snap := m.succeed("old")
	m.clock.Step(time.Hour)
	m.succeed("new")
	m.clock.Step(31 * 24 * time.Hour)
	if _, err := m.reconcile("old"); err != nil {
		t.Fatal(err)
	}
	if p := m.get("old").Status.Phase; p != backupv1alpha1.PhaseExpired {
		t.Fatalf("phase %s", p)
	}
	if !contains(m.cloud.Snapshots(), snap) || m.objectsUnder("retail/prd/old/") == 0 {
		t.Fatal("retain policy must keep the snapshot and files")
	}
}

func TestCleanupFailureIsRetriedAndSurfaced(t *testing.T) {
	m := newMachine(t, request("old"), request("new"))
	m.succeed("old")
	m.clock.Step(time.Hour)
	m.succeed("new")
	m.clock.Step(31 * 24 * time.Hour)
	m.events()
	m.cloud.FailWith("DeleteDatabaseSnapshot", provider.NewError(provider.KindTransient, "DeleteDBSnapshot", "x", errors.New("InternalFailure")))
	if _, err := m.reconcile("old"); err == nil {
		t.Fatal("a failed cleanup must return an error so it is retried with backoff")
	}
	br := m.get("old")
	if c := condition(br, backupv1alpha1.ConditionArtifactsRemoved); c == nil || c.Reason != string(backupv1alpha1.ReasonCleanupFailed) || !strings.Contains(c.Message, "InternalFailure") {
		t.Fatalf("want CleanupFailed naming the error, got %+v", c)
	}
	if br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		t.Fatalf("phase %s before the cleanup worked", br.Status.Phase)
	}
	if evs := strings.Join(m.events(), "\n"); !strings.Contains(evs, "Warning CleanupFailed") {
		t.Fatalf("want a Warning event:\n%s", evs)
	}
	m.cloud.FailWith("DeleteDatabaseSnapshot", nil)
	if _, err := m.reconcile("old"); err != nil {
		t.Fatal(err)
	}
	if p := m.get("old").Status.Phase; p != backupv1alpha1.PhaseExpired {
		t.Fatalf("phase %s after the cleanup worked", p)
	}
}

func TestFailedBackupCleansUpItsPartialArtefactsWhenItExpires(t *testing.T) {
	m := newMachine(t, request("partial"))
	m.cloud.FailWith("CopyObjectStorage", provider.NewError(provider.KindAccessDenied, "CopyObject", "liferay-backups", errors.New("AccessDenied")))
	br := m.drive("partial")
	if br.Status.Phase != backupv1alpha1.PhaseFailed || br.Status.Database == nil || br.Status.ExpiresAt == nil {
		t.Fatalf("want Failed with a snapshot and an expiry, got %s %+v", br.Status.Phase, br.Status)
	}
	snap := br.Status.Database.SnapshotID
	m.clock.Step(31 * 24 * time.Hour)
	if _, err := m.reconcile("partial"); err != nil {
		t.Fatal(err)
	}
	if contains(m.cloud.Snapshots(), snap) {
		t.Fatal("the failed backup's snapshot must be removed at expiry")
	}
	if p := m.get("partial").Status.Phase; p != backupv1alpha1.PhaseExpired {
		t.Fatalf("phase %s", p)
	}
}

func TestDeletingABackupRequestRemovesItsArtefactsFirst(t *testing.T) {
	m := newMachine(t, request("gone"))
	snap := m.succeed("gone")
	if err := m.client.Delete(m.ctx, m.get("gone")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.reconcile("gone"); err != nil {
		t.Fatal(err)
	}
	if contains(m.cloud.Snapshots(), snap) || m.objectsUnder("retail/prd/gone/") != 0 {
		t.Fatal("deleting the BackupRequest must delete its snapshot and files")
	}
	err := m.client.Get(m.ctx, types.NamespacedName{Namespace: "proj-retail-prd", Name: "gone"}, &backupv1alpha1.BackupRequest{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("the object must be gone once cleaned up, got %v", err)
	}
}

func TestDeleteExpiredOptionDeletesTheObject(t *testing.T) {
	m := newMachine(t, request("old"), request("new"))
	m.r.Options.DeleteExpired = true
	m.succeed("old")
	m.clock.Step(time.Hour)
	m.succeed("new")
	m.clock.Step(31 * 24 * time.Hour)
	for range 3 {
		if _, err := m.reconcile("old"); err != nil {
			t.Fatal(err)
		}
	}
	err := m.client.Get(m.ctx, types.NamespacedName{Namespace: "proj-retail-prd", Name: "old"}, &backupv1alpha1.BackupRequest{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("expired BackupRequest must be deleted with the option on, got %v", err)
	}
}
