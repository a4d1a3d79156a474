package dumprun

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/scheme"
)

// A task's pod labels reach the Job's pod (a store's workload-identity opt-in), but
// never replace the labels that identify the run.
func TestJobPodCarriesTheTasksLabelsButNotOverItsIdentity(t *testing.T) {
	owner := &backupv1alpha1.BackupRequest{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ns", UID: "uid-1"}}
	j := &JobRunner{Image: "dumper:1", Scheme: scheme.Scheme}
	job, err := j.Job(Task{Owner: owner, Name: "lc2-dump-uid-1", PodLabels: map[string]string{
		"azure.workload.identity/use": "true", LabelDumpOf: "someone-else", LabelManagedBy: "someone",
	}})
	if err != nil {
		t.Fatal(err)
	}
	labels := job.Spec.Template.Labels
	if labels["azure.workload.identity/use"] != "true" || labels[LabelDumpOf] != "uid-1" || labels[LabelManagedBy] != ManagedBy {
		t.Fatalf("pod labels %v", labels)
	}
	if _, ok := job.Labels["azure.workload.identity/use"]; ok {
		t.Errorf("the Job itself carries the pod's opt-in: %v", job.Labels)
	}
	plain, err := j.Job(Task{Owner: owner, Name: "lc2-dump-uid-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Spec.Template.Labels) != 2 {
		t.Errorf("a task without pod labels: %v", plain.Spec.Template.Labels)
	}
}
