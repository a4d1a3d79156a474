package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// rebaseStatus is what keeps a pass's work after a conflict: the pass's own changes
// land on the live status, the other writer's changes stay.
func TestRebaseStatusKeepsBothWritersChanges(t *testing.T) {
	cond := func(typ, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: reason, Message: reason}
	}
	base := backupv1alpha1.BackupRequestStatus{
		Phase:      backupv1alpha1.PhaseInProgress,
		Message:    "copying",
		Conditions: []metav1.Condition{cond("Ready", "InProgress"), cond("Claimed", "Claimed"), cond("Stale", "Old")},
	}
	ours := *base.DeepCopy()
	ours.Phase = backupv1alpha1.PhaseSucceeded
	ours.Conditions = []metav1.Condition{cond("Ready", "Succeeded"), cond("Claimed", "Claimed"), cond("DocumentLibraryCopied", "Copied")}
	live := *base.DeepCopy()
	live.Message = "edited elsewhere"
	live.Conditions = append(live.Conditions, cond("Archived", "Recorded"))
	live.Conditions[1] = cond("Claimed", "ChangedElsewhere")

	rebaseStatus(&base, &ours, &live)

	if live.Phase != backupv1alpha1.PhaseSucceeded {
		t.Errorf("phase %s: the pass's change must land", live.Phase)
	}
	if live.Message != "edited elsewhere" {
		t.Errorf("message %q: a field only the other writer changed must stay", live.Message)
	}
	want := map[string]string{"Ready": "Succeeded", "Claimed": "ChangedElsewhere", "Archived": "Recorded", "DocumentLibraryCopied": "Copied"}
	got := map[string]string{}
	for _, c := range live.Conditions {
		got[c.Type] = c.Reason
	}
	if len(got) != len(want) {
		t.Fatalf("conditions %v, want %v (Stale, removed by the pass, must go)", got, want)
	}
	for typ, reason := range want {
		if got[typ] != reason {
			t.Errorf("condition %s reason %q, want %q", typ, got[typ], reason)
		}
	}
}
