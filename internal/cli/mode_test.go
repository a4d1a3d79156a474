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

func TestNewBackupDatabaseTypeFlags(t *testing.T) {
	flags := backupFlags{project: "retail", sourceBucket: "dl", destinationBucket: "b", connectionSecret: "retail-db"}
	br, err := newBackup("ns", "prd", now, backupOrigin{}, flags)
	if err != nil {
		t.Fatal(err)
	}
	db := br.Spec.Database
	if db.Type != backupv1alpha1.DatabaseBackupDump || db.Dump.ConnectionSecretRef.Name != "retail-db" || db.Dump.Source != backupv1alpha1.DumpSourceInstance {
		t.Errorf("--connection-secret: %+v %+v", db, db.Dump)
	}

	// Over a previous snapshot backup: --database-type dump needs a Secret, and
	// --database-type snapshot drops a previous dump's settings.
	snapshot := &backupv1alpha1.BackupRequest{Spec: backupv1alpha1.BackupRequestSpec{ProjectID: "retail",
		Database: &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupSnapshot, InstanceID: "retail-db"}}}
	dump, err := newBackup("ns", "prd", now, backupOrigin{previous: snapshot}, backupFlags{databaseType: "dump", connectionSecret: "retail-db"})
	if err != nil || dump.Spec.Database.InstanceID != "retail-db" || dump.Spec.Database.Dump.Source != backupv1alpha1.DumpSourceInstance {
		t.Errorf("--database-type dump over a snapshot backup: %v %+v", err, dump)
	}
	back, err := newBackup("ns", "prd", now, backupOrigin{previous: dump}, backupFlags{databaseType: "snapshot"})
	if err != nil || back.Spec.Database.Type != backupv1alpha1.DatabaseBackupSnapshot || back.Spec.Database.Dump != nil {
		t.Errorf("--database-type snapshot over a dump: %v %+v", err, back.Spec.Database)
	}

	if _, err := newBackup("ns", "prd", now, backupOrigin{}, backupFlags{project: "retail", databaseType: "dump"}); err == nil ||
		!strings.Contains(err.Error(), "--connection-secret") {
		t.Errorf("a dump of nothing: %v, want --connection-secret named", err)
	}
	// --database-auth iam over a previous dump of the snapshot keeps it one, logging
	// in with a token; password sets it back.
	ofSnapshot := &backupv1alpha1.BackupRequest{Spec: backupv1alpha1.BackupRequestSpec{ProjectID: "retail",
		Database: &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump, InstanceID: "retail-db",
			Dump: &backupv1alpha1.DatabaseDumpSpec{ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}}}}}
	iam, err := newBackup("ns", "prd", now, backupOrigin{previous: ofSnapshot}, backupFlags{databaseAuth: "IAM"})
	if err != nil || iam.Spec.Database.Dump.Authentication != backupv1alpha1.DatabaseAuthIAM || iam.Spec.Database.DumpSourceOrDefault() != backupv1alpha1.DumpSourceSnapshot ||
		iam.Spec.Database.Dump.ConnectionSecretRef.Name != "retail-db" {
		t.Errorf("--database-auth iam over a dump of the snapshot: %v %+v", err, iam.Spec.Database.Dump)
	}
	if got := databaseSpecSummary("ns", iam.Spec.Database); !strings.Contains(got, "RDS IAM token") {
		t.Errorf("describe of an IAM dump: %q", got)
	}
	pw, err := newBackup("ns", "prd", now, backupOrigin{previous: iam}, backupFlags{databaseAuth: "password"})
	if err != nil || pw.Spec.Database.Dump.Authentication != backupv1alpha1.DatabaseAuthPassword {
		t.Errorf("--database-auth password over an IAM dump: %v %+v", err, pw.Spec.Database.Dump)
	}
	for _, c := range []struct {
		flags backupFlags
		says  string
	}{
		{backupFlags{databaseType: "logical"}, "spec.database.type"},
		{backupFlags{databaseType: "snapshot", connectionSecret: "db"}, "--database-type dump"},
		{backupFlags{databaseAuth: "kerberos"}, "spec.database.dump.authentication must be password or iam"},
		{backupFlags{databaseType: "snapshot", databaseAuth: "iam"}, "--database-auth is how a dump logs in"},
	} {
		if err := checkDatabaseFlags(c.flags); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("checkDatabaseFlags(%+v) = %v, want %q", c.flags, err, c.says)
		}
	}
}

func TestDescribeSummariesOfADump(t *testing.T) {
	db := &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump,
		Dump: &backupv1alpha1.DatabaseDumpSpec{ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}}}
	if got := databaseSpecSummary("proj-retail-prd", db); got != "dump of the database of Secret proj-retail-prd/retail-db (source Instance)" {
		t.Errorf("spec summary: %q", got)
	}
	done := metav1.NewTime(now)
	st := &backupv1alpha1.DatabaseDumpStatus{JobName: "lc2-dump-1", Location: "s3://b/retail/prd/1/database/dump.pgdump", SizeBytes: 2048,
		SHA256: "ab12", Engine: "postgres", ServerVersion: "15.18", Tool: "pg_dump 15.18", CompletionTime: &done}
	if got := dumpStatusSummary(st); got != "s3://b/retail/prd/1/database/dump.pgdump (postgres 15.18 by pg_dump 15.18, 2.0 KiB, sha256 ab12), verified" {
		t.Errorf("status summary: %q", got)
	}
	st.CompletionTime = nil
	if got := dumpStatusSummary(st); got != "running (lc2-dump-1)" {
		t.Errorf("running summary: %q", got)
	}
}
