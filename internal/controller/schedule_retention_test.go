package controller

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

func annotate(m *machine, name, key, value string) {
	m.t.Helper()
	br := m.get(name)
	if br.Annotations == nil {
		br.Annotations = map[string]string{}
	}
	br.Annotations[key] = value
	if err := m.client.Update(m.ctx, br); err != nil {
		m.t.Fatal(err)
	}
}

// TestScheduleRetentionGoesThroughTheNormalPath: a backup its schedule keeps outlives
// its retentionDays; one the schedule drops expires at once, through the same removal
// (owner-checked snapshot, inventory-listed objects) and events as any expiry.
func TestScheduleRetentionGoesThroughTheNormalPath(t *testing.T) {
	m := newMachine(t, request("kept"), request("dropped"), request("newest"))
	keptSnap := m.succeed("kept")
	droppedSnap := m.succeed("dropped")
	m.succeed("newest")
	annotate(m, "kept", backupv1alpha1.RetentionAnnotation, backupv1alpha1.RetentionBySchedule)
	annotate(m, "dropped", backupv1alpha1.RetentionAnnotation, backupv1alpha1.RetentionBySchedule)
	m.events()

	m.clock.Step(400 * 24 * time.Hour)
	m.step("kept")
	if br := m.get("kept"); br.Status.Phase != backupv1alpha1.PhaseSucceeded || !contains(m.cloud.Snapshots(), keptSnap) {
		t.Fatalf("kept by its schedule, but %s", br.Status.Phase)
	}

	annotate(m, "dropped", backupv1alpha1.RetentionAnnotation, backupv1alpha1.RetentionExpire)
	m.step("dropped")
	if br := m.get("dropped"); br.Status.Phase != backupv1alpha1.PhaseExpired {
		t.Fatalf("dropped: %s %s", br.Status.Phase, br.Status.Message)
	}
	if contains(m.cloud.Snapshots(), droppedSnap) || m.objectsUnder("retail/prd/dropped/") != 0 {
		t.Fatal("dropped backup left artefacts")
	}
	if m.objectsUnder("retail/prd/kept/") == 0 {
		t.Fatal("kept backup lost its objects")
	}
	if ev := strings.Join(m.events(), "\n"); !strings.Contains(ev, "Expired") {
		t.Errorf("events %q", ev)
	}
}

// TestBackupDeletedWithItsScheduleKeepsArtefacts: the garbage collector deleting a
// backup because its schedule is deleted in the foreground does not remove its data;
// deleting a backup of a live schedule does.
func TestBackupDeletedWithItsScheduleKeepsArtefacts(t *testing.T) {
	sched := &backupv1alpha1.BackupSchedule{ObjectMeta: metav1.ObjectMeta{Namespace: "proj-retail-prd", Name: "nightly", UID: "sched-uid",
		Finalizers: []string{OrphanFinalizer}}}
	owned := func(name string) *backupv1alpha1.BackupRequest {
		br := request(name)
		br.OwnerReferences = []metav1.OwnerReference{{APIVersion: backupv1alpha1.GroupVersion.String(), Kind: "BackupSchedule",
			Name: "nightly", UID: "sched-uid", Controller: ptr.To(true)}}
		return br
	}
	m := newMachine(t, sched, owned("live"), owned("cascaded"))
	m.succeed("live")
	m.succeed("cascaded")

	if err := m.client.Delete(m.ctx, m.get("live")); err != nil {
		t.Fatal(err)
	}
	m.step("live")
	if m.objectsUnder("retail/prd/live/") != 0 {
		t.Fatal("deleting a backup of a live schedule kept its objects")
	}

	if err := m.client.Delete(m.ctx, sched); err != nil { // held by its finalizer
		t.Fatal(err)
	}
	if err := m.client.Delete(m.ctx, m.get("cascaded")); err != nil {
		t.Fatal(err)
	}
	m.step("cascaded")
	if m.objectsUnder("retail/prd/cascaded/") == 0 {
		t.Fatal("a backup deleted with its schedule lost its objects")
	}
	if ev := strings.Join(m.events(), "\n"); !strings.Contains(ev, "KeptWithSchedule") {
		t.Errorf("events %q", ev)
	}
}
