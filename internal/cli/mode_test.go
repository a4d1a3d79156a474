package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

func TestNewBackupModeFlag(t *testing.T) {
	flags := backupFlags{project: "retail", sourceBucket: "dl", destinationBucket: "b", mode: "Incremental"}
	br, err := newBackup("ns", "prd", now, backupOrigin{}, flags)
	if err != nil || br.Spec.DocumentLibrary.Mode != backupv1alpha1.ModeIncremental {
		t.Fatalf("--mode Incremental: %v, %+v", err, br)
	}

	// The flag overrides the previous backup's mode, and without it the mode carries over.
	prev := &backupv1alpha1.BackupRequest{Spec: br.Spec}
	full, err := newBackup("ns", "prd", now, backupOrigin{previous: prev}, backupFlags{mode: "Full"})
	if err != nil || full.Spec.DocumentLibrary.Mode != backupv1alpha1.ModeFull {
		t.Fatalf("--mode Full over an Incremental previous backup: %v, %+v", err, full)
	}
	same, err := newBackup("ns", "prd", now, backupOrigin{previous: prev}, backupFlags{})
	if err != nil || same.Spec.DocumentLibrary.Mode != backupv1alpha1.ModeIncremental {
		t.Fatalf("no --mode: %v, %+v", err, same)
	}

	if _, err := newBackup("ns", "prd", now, backupOrigin{}, backupFlags{project: "retail", dbInstance: "db", mode: "Incremental"}); err == nil ||
		!strings.Contains(err.Error(), "--mode") || !strings.Contains(err.Error(), "no document library") {
		t.Errorf("--mode on a database-only backup: %v, want an error naming --mode", err)
	}
	for _, bad := range []string{"incremental", "Differential"} {
		if err := checkMode(bad); err == nil || !strings.Contains(err.Error(), "--mode") || !strings.Contains(err.Error(), "spec.documentLibrary.mode") {
			t.Errorf("checkMode(%q) = %v, want an error naming the flag and the field", bad, err)
		}
	}
	for _, good := range []string{"", "Full", "Incremental"} {
		if err := checkMode(good); err != nil {
			t.Errorf("checkMode(%q) = %v", good, err)
		}
	}
}

func TestDescribeBackupShowsCopiedAgainstReferenced(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("DB_HOST", "")
	created := metav1.NewTime(now.Add(-time.Hour))
	br := &backupv1alpha1.BackupRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "proj-retail-prd", Name: "inc", CreationTimestamp: created},
		Spec: backupv1alpha1.BackupRequestSpec{ProjectID: "retail", Environment: "prd", Provider: backupv1alpha1.ProviderAWS,
			DocumentLibrary: &backupv1alpha1.DocumentLibraryBackupSpec{SourceBucket: "dl", DestinationBucket: "b", DestinationPrefix: "retail/prd/inc/",
				Mode: backupv1alpha1.ModeIncremental}},
		Status: backupv1alpha1.BackupRequestStatus{Phase: backupv1alpha1.PhaseSucceeded,
			DocumentLibrary: &backupv1alpha1.DocumentLibraryBackupStatus{Mode: backupv1alpha1.ModeIncremental,
				ObjectsTotal: 15, ObjectsCopied: 3, BytesCopied: 3 << 10, ObjectsReferenced: 12, BytesReferenced: 12 << 10, TotalSizeBytes: 15 << 10,
				Repository: "s3://b/retail/.repository/prd/", Consistency: backupv1alpha1.ConsistencyLive}},
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := backupv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	a := &app{streams: genericiooptions.IOStreams{Out: &out, ErrOut: &out}, now: func() time.Time { return now },
		cl: fakeclient.NewClientBuilder().WithScheme(scheme).WithObjects(br).
			WithIndex(&corev1.Event{}, "involvedObject.uid", func(o client.Object) []string { return []string{string(o.(*corev1.Event).InvolvedObject.UID)} }).
			Build(), namespace: "proj-retail-prd"}
	if err := a.describeBackup(context.Background(), "inc", &describeOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(backupSummary(br), "\n"); !strings.Contains(got, "15 objects, 15.0 KiB (3 copied, 12 referenced in s3://b/retail/.repository/prd/, 0 excluded)") {
		t.Errorf("--wait's summary of an Incremental backup:\n%s", got)
	}
	for _, want := range []string{
		"Mode:", "Incremental",
		"15 objects, 15.0 KiB: 3 copied (3.0 KiB), 12 referenced (12.0 KiB) already in the repository, 0 excluded",
		"Repository:", "s3://b/retail/.repository/prd/",
		"Consistency:", "not point-in-time",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("describe lacks %q:\n%s", want, out.String())
		}
	}
}
