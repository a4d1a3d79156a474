package controller

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
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

	old := m.expireAfterRetention("old")
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

// oddSourceKeys are keys S3 accepts that a path rule would treat apart from others
// (docs/backup-layout.md): each is stored under data/ as written, and must be deleted.
var oddSourceKeys = []string{
	"document_library/20097/20121/../dotdot-segment.txt",
	"document_library/../leading-dotdot.txt",
	"document_library/a/..",
	"document_library/20097/./dot-segment.txt",
	"document_library/trailing-dot.",
	"document_library/double//slash.txt",
	"document_library//leading-slash.txt",
	"document_library/folder-marker/",
	"document_library/spaces %25 + ? #.txt",
	"document_library/nfc/caf\u00e9.txt",
	"document_library/nfd/cafe\u0301.txt",
	"document_library/control/tab\tbell\a.txt",
}

func TestExpiryRemovesEveryObjectTheCopyStoredWhateverItsKey(t *testing.T) {
	m := newMachine(t, request("old"), request("new"))
	for i, key := range oddSourceKeys {
		m.cloud.PutObject("liferay-retail-prd-dl", key, []byte(strings.Repeat("y", i+1)))
	}
	m.succeed("old")
	stored := m.objectsUnder("retail/prd/old/data/")
	if want := 5 + len(oddSourceKeys); stored != want {
		t.Fatalf("%d objects stored, want %d", stored, want)
	}
	m.clock.Step(time.Hour)
	m.succeed("new")
	old := m.expireAfterRetention("old")
	if left, err := m.cloud.ListObjects(m.ctx, "liferay-backups", "retail/prd/old/"); err != nil || len(left) != 0 {
		t.Fatalf("expiry left %v (%v)", left, err)
	}
	if c := condition(old, backupv1alpha1.ConditionArtifactsRemoved); c == nil || !strings.Contains(c.Message, fmt.Sprintf("removed %d objects", stored)) {
		t.Fatalf("want the %d stored objects counted as removed, got %+v", stored, c)
	}
}

func TestCleanupRefusesAnInventoryLineOutsideDataAndKeepsTheObjects(t *testing.T) {
	m := newMachine(t, request("old"), request("new"))
	m.succeed("old")
	m.clock.Step(time.Hour)
	m.succeed("new")
	const prefix = "retail/prd/old/"
	m.cloud.PutObject("liferay-backups", prefix+"notes.txt", []byte("put here by someone"))
	// A part of an earlier run (read first) that lists a key the copy never stores.
	inv := inventory.NewWriter(m.cloud, "liferay-backups", prefix, layout.RunID(start.Add(-time.Hour)), m.clock)
	inv.Add(m.ctx, inventory.Entry{SourceKey: "document_library/10/0.pdf", StoredKey: "data/10/0.pdf", Size: 100})
	inv.Add(m.ctx, inventory.Entry{SourceKey: "document_library/notes.txt", StoredKey: "notes.txt", Size: 19})
	if _, err := inv.Close(m.ctx); err != nil {
		t.Fatal(err)
	}
	before, err := m.cloud.ListObjects(m.ctx, "liferay-backups", prefix)
	if err != nil {
		t.Fatal(err)
	}
	m.clock.Step(31 * 24 * time.Hour)
	m.events()
	for range 2 { // and again on the retry
		if _, err := m.reconcile("old"); err == nil || !strings.Contains(err.Error(), `"notes.txt"`) {
			t.Fatalf("want an error naming the line, got %v", err)
		}
	}
	br := m.get("old")
	if c := condition(br, backupv1alpha1.ConditionArtifactsRemoved); c == nil || c.Reason != string(backupv1alpha1.ReasonCleanupFailed) ||
		!strings.Contains(c.Message, `"notes.txt", which is not under data/`) {
		t.Fatalf("want CleanupFailed naming the line, got %+v", c)
	}
	if br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		t.Fatalf("phase %s while its objects are kept", br.Status.Phase)
	}
	if evs := strings.Join(m.events(), "\n"); !strings.Contains(evs, "Warning CleanupFailed") {
		t.Fatalf("want a Warning event:\n%s", evs)
	}
	if after, err := m.cloud.ListObjects(m.ctx, "liferay-backups", prefix); err != nil || len(after) != len(before) {
		t.Fatalf("%d objects under %s after the refusal, %d before (%v)", len(after), prefix, len(before), err)
	}
}

// expireAfterRetention moves the clock past the 30-day retention, runs one pass of
// name and fails unless it is Expired; it returns the expired object.
func (m *machine) expireAfterRetention(name string) *backupv1alpha1.BackupRequest {
	m.t.Helper()
	m.clock.Step(31 * 24 * time.Hour)
	if _, err := m.reconcile(name); err != nil {
		m.t.Fatal(err)
	}
	br := m.get(name)
	if br.Status.Phase != backupv1alpha1.PhaseExpired {
		m.t.Fatalf("phase %s: %s", br.Status.Phase, br.Status.Message)
	}
	return br
}
