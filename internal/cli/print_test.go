package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/scheme"
)

// listApp is an app on a fake API server holding objs in namespace proj-retail-prd.
func listApp(objs ...client.Object) (*app, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &app{streams: genericiooptions.IOStreams{Out: &out, ErrOut: &errOut}, now: func() time.Time { return now },
		cl: fakeclient.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(objs...).Build(), namespace: "proj-retail-prd"}, &out, &errOut
}

// run runs cmd with args, quietly (Run prints the error, not the usage).
func run(cmd *cobra.Command, args ...string) error {
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

func twoBackups() []client.Object {
	var objs []client.Object
	for i, name := range []string{"prd-20251108020000", "prd-20251109020000"} {
		objs = append(objs, &backupv1alpha1.BackupRequest{
			ObjectMeta: metav1.ObjectMeta{Namespace: "proj-retail-prd", Name: name, CreationTimestamp: metav1.NewTime(now.Add(time.Duration(i-2) * time.Hour))},
			Spec:       backupv1alpha1.BackupRequestSpec{ProjectID: "retail", Environment: "prd"},
			Status:     backupv1alpha1.BackupRequestStatus{Phase: []backupv1alpha1.BackupPhase{backupv1alpha1.PhaseSucceeded, backupv1alpha1.PhaseFailed}[i]},
		})
	}
	return objs
}

func TestBackupListPrintsWhatOutputSays(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-o", "jsonpath={.items[*].metadata.name}"}, "prd-20251108020000 prd-20251109020000"},
		{[]string{"-o", "custom-columns=NAME:.metadata.name,PHASE:.status.phase"},
			"NAME                 PHASE\nprd-20251108020000   Succeeded\nprd-20251109020000   Failed\n"},
		{[]string{"-o", "custom-columns=NAME:.metadata.name", "--no-headers"}, "prd-20251108020000\nprd-20251109020000\n"},
		{[]string{"-o", "name"}, "backuprequest.backup.liferay.cloud/prd-20251108020000\nbackuprequest.backup.liferay.cloud/prd-20251109020000\n"},
		{[]string{"--template", "{{range .items}}{{.spec.environment}} {{end}}"}, "prd prd "},
		{[]string{"-o", "go-template={{len .items}}"}, "2"},
	} {
		a, out, _ := listApp(twoBackups()...)
		cmd := a.backupListCommand()
		if err := run(cmd, c.args...); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if out.String() != c.want {
			t.Errorf("backup list %v:\n%q\nwant\n%q", c.args, out.String(), c.want)
		}
	}
}

func TestListOutputJSONAndYAMLCarryTheKinds(t *testing.T) {
	a, out, _ := listApp(twoBackups()...)
	cmd := a.backupListCommand()
	if err := run(cmd, "-o", "yaml"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: BackupRequestList", "kind: BackupRequest\n", "apiVersion: backup.liferay.cloud/v1alpha1", "name: prd-20251109020000"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-o yaml lacks %q:\n%s", want, out.String())
		}
	}
	a, out, _ = listApp(nightly())
	cmd = a.scheduleListCommand()
	if err := run(cmd, "-o", "json"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"kind": "BackupScheduleList"`) || !strings.Contains(out.String(), `"schedule": "0 2 * * *"`) {
		t.Errorf("schedule list -o json:\n%s", out.String())
	}
}

func TestListKeepsTheHumanTableByDefault(t *testing.T) {
	a, out, _ := listApp(twoBackups()...)
	cmd := a.backupListCommand()
	if err := run(cmd); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "DURATION") || !strings.Contains(lines[2], "Failed") {
		t.Errorf("the table:\n%s", out.String())
	}
	a, out, _ = listApp(twoBackups()...)
	cmd = a.backupListCommand()
	if err := run(cmd, "--no-headers"); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "prd-20251108020000") {
		t.Errorf("--no-headers:\n%s", out.String())
	}
}

func TestRestoreListShowsRestoresAndVerifications(t *testing.T) {
	restore := &backupv1alpha1.RestoreRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "proj-retail-prd", Name: "r1", CreationTimestamp: metav1.NewTime(now.Add(-2 * time.Hour))},
		Spec: backupv1alpha1.RestoreRequestSpec{Source: backupv1alpha1.RestoreSource{BackupRequestName: "prd-20251108020000"}},
		Status: backupv1alpha1.RestoreRequestStatus{Phase: backupv1alpha1.RestorePhaseSucceeded,
			DocumentLibrary: &backupv1alpha1.DocumentLibraryRestoreStatus{ObjectsTotal: 20, ObjectsRestored: 15, ObjectsSkipped: 5}}}
	verify := &backupv1alpha1.RestoreRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "proj-retail-prd", Name: "v1", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))},
		Spec: backupv1alpha1.RestoreRequestSpec{Source: backupv1alpha1.RestoreSource{BackupRequestName: "prd-20251108020000"}, VerifyOnly: true},
		Status: backupv1alpha1.RestoreRequestStatus{Phase: backupv1alpha1.RestorePhaseFailed,
			Verification: &backupv1alpha1.VerificationStatus{ObjectsChecked: 20, ObjectsMissing: 1}}}
	a, out, _ := listApp(restore, verify)
	cmd := a.restoreListCommand()
	if err := run(cmd); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[1]), " ") != "r1 prd-20251108020000 restore Succeeded 20/20" ||
		strings.Join(strings.Fields(lines[2]), " ") != "v1 prd-20251108020000 verify Failed 20 checked" {
		t.Errorf("restore list:\n%s", out.String())
	}
	a, out, _ = listApp(restore, verify)
	cmd = a.restoreListCommand()
	if err := run(cmd, "-o", "custom-columns=NAME:.metadata.name,VERIFY:.spec.verifyOnly,MISSING:.status.verification.objectsMissing"); err != nil {
		t.Fatal(err)
	}
	if want := "NAME   VERIFY   MISSING\nr1     <none>   <none>\nv1     true     1\n"; out.String() != want {
		t.Errorf("restore list -o custom-columns:\n%q\nwant\n%q", out.String(), want)
	}
}

func TestUnknownOutputFailsBeforeTheAPICall(t *testing.T) {
	a, out, _ := listApp()
	a.cl = nil // a list would panic: the refusal must come first
	cmd := a.backupListCommand()
	err := run(cmd, "-o", "wide")
	if err == nil || !strings.Contains(err.Error(), "-o wide") || !strings.Contains(err.Error(), "custom-columns") || !strings.Contains(err.Error(), "jsonpath") {
		t.Errorf("-o wide: %v, want an error listing the formats", err)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q", out.String())
	}
	cmd = a.backupListCommand()
	if err := run(cmd, "-o", "custom-columns="); err == nil || !strings.Contains(err.Error(), "no custom columns") {
		t.Errorf("-o custom-columns= without columns: %v", err)
	}
}

func TestDryRunPrintsWhatOutputSays(t *testing.T) {
	a, out, _ := listApp(nightly())
	cmd := a.backupCreateCommand()
	if err := run(cmd, "prd", "--dry-run", "-o", "jsonpath={.metadata.name} {.spec.documentLibrary.destinationPrefix}"); err != nil {
		t.Fatal(err)
	}
	if want := "prd-20251109143005 retail/prd/nightly/manual-20251109143005/"; out.String() != want {
		t.Errorf("--dry-run -o jsonpath: %q, want %q", out.String(), want)
	}
	a, out, _ = listApp(nightly())
	cmd = a.backupCreateCommand()
	if err := run(cmd, "prd", "--dry-run"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "apiVersion: backup.liferay.cloud/v1alpha1\nkind: BackupRequest\n") {
		t.Errorf("--dry-run prints YAML by default:\n%s", out.String())
	}
}
