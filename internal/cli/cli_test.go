package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/utils/ptr"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

var now = time.Date(2025, 11, 9, 14, 30, 5, 0, time.UTC)

func nightly() *backupv1alpha1.BackupSchedule {
	return &backupv1alpha1.BackupSchedule{
		ObjectMeta: metav1.ObjectMeta{Namespace: "proj-retail-prd", Name: "nightly", UID: "u1"},
		Spec: backupv1alpha1.BackupScheduleSpec{
			Schedule: "0 2 * * *",
			Template: backupv1alpha1.BackupTemplateSpec{
				ProjectID: "retail", Environment: "prd",
				Database: &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupSnapshot, InstanceID: "retail-prd-db"},
				DocumentLibrary: &backupv1alpha1.DocumentLibraryTemplateSpec{
					SourceBucket: "retail-dl", SourcePrefix: "document_library/", DestinationBucket: "backups", ExcludeGeneratedFiles: true,
				},
			},
			Retention: &backupv1alpha1.ScheduleRetention{KeepDaily: ptr.To[int32](7)},
		},
	}
}

func TestNewBackupFromScheduleIsAScheduledRunWithoutTheScheduleOwningIt(t *testing.T) {
	sched := nightly()
	br, err := newBackup("proj-retail-prd", "prd", now, backupOrigin{schedule: sched}, backupFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if br.Name != "prd-20251109143005" {
		t.Errorf("name %s", br.Name)
	}
	// Beside the schedule's runs, never in the prefix of its slot of the same second.
	want := sched.RunSpec("manual-20251109143005")
	if !reflect.DeepEqual(br.Spec, want) || br.Spec.DocumentLibrary.DestinationPrefix != "retail/prd/nightly/manual-20251109143005/" {
		t.Errorf("spec %+v, want the schedule's run spec %+v", br.Spec, want)
	}
	if br.Annotations[backupv1alpha1.RunOfScheduleAnnotation] != "nightly" || len(br.Labels) != 0 || len(br.OwnerReferences) != 0 {
		t.Errorf("metadata %+v: want only the run-of-schedule annotation", br.ObjectMeta)
	}
	if _, ok := br.Annotations[backupv1alpha1.RetentionAnnotation]; ok {
		t.Error("a run by hand must not be under the schedule's retention")
	}
	if sched.Spec.Template.Database.InstanceID != "retail-prd-db" {
		t.Error("the schedule was modified")
	}

	br, err = newBackup("proj-retail-prd", "prd", now, backupOrigin{schedule: sched}, backupFlags{dbInstance: "other-db", retentionDays: 14})
	if err != nil {
		t.Fatal(err)
	}
	if br.Spec.Database.InstanceID != "other-db" || *br.Spec.RetentionDays != 14 {
		t.Errorf("flags not applied: %+v", br.Spec)
	}
	if sched.Spec.Template.Database.InstanceID != "retail-prd-db" || sched.Spec.Template.RetentionDays != nil {
		t.Error("the flags modified the schedule")
	}

	if _, err := newBackup("ns", "uat", now, backupOrigin{schedule: sched}, backupFlags{}); err == nil || !strings.Contains(err.Error(), `backs up environment "prd"`) {
		t.Errorf("a schedule of another environment: %v", err)
	}
}

func TestNewBackupFromThePreviousBackupGetsItsOwnDestination(t *testing.T) {
	prev := &backupv1alpha1.BackupRequest{Spec: backupv1alpha1.BackupRequestSpec{
		ProjectID: "retail", Environment: "prd", Provider: backupv1alpha1.ProviderAWS,
		Database: &backupv1alpha1.DatabaseBackupSpec{InstanceID: "retail-prd-db"},
		DocumentLibrary: &backupv1alpha1.DocumentLibraryBackupSpec{
			SourceBucket: "retail-dl", SourcePrefix: "document_library/", DestinationBucket: "backups", DestinationPrefix: "retail/prd/old/",
			ExcludePatterns: []string{"tmp/**"},
		},
		RetentionDays: ptr.To[int32](30),
	}}
	br, err := newBackup("proj-retail-prd", "prd", now, backupOrigin{previous: prev}, backupFlags{destinationBucket: "other-backups"})
	if err != nil {
		t.Fatal(err)
	}
	dl := br.Spec.DocumentLibrary
	if dl.DestinationPrefix != "retail/prd/prd-20251109143005/" || dl.DestinationBucket != "other-backups" || dl.SourceBucket != "retail-dl" ||
		dl.ExcludePatterns[0] != "tmp/**" || br.Spec.Database.InstanceID != "retail-prd-db" || *br.Spec.RetentionDays != 30 {
		t.Errorf("spec %+v %+v", br.Spec, dl)
	}
	if len(br.Annotations) != 0 {
		t.Errorf("annotations %v", br.Annotations)
	}
	if prev.Spec.DocumentLibrary.DestinationPrefix != "retail/prd/old/" || prev.Spec.DocumentLibrary.DestinationBucket != "backups" {
		t.Error("the previous backup was modified")
	}
}

func TestNewBackupFromFlagsNamesWhatIsMissing(t *testing.T) {
	for _, c := range []struct {
		flags   backupFlags
		missing string
	}{
		{backupFlags{}, "missing --project, --db-instance or --source-bucket with --destination-bucket"},
		{backupFlags{project: "retail", sourceBucket: "dl"}, "missing --destination-bucket"},
		{backupFlags{dbInstance: "db"}, "missing --project"},
	} {
		_, err := newBackup("ns", "prd", now, backupOrigin{}, c.flags)
		if err == nil || !strings.Contains(err.Error(), c.missing) {
			t.Errorf("%+v: %v, want %q", c.flags, err, c.missing)
		}
	}
	br, err := newBackup("ns", "prd", now, backupOrigin{}, backupFlags{project: "retail", sourceBucket: "dl", destinationBucket: "b", excludeGenerated: ptr.To(true)})
	if err != nil {
		t.Fatal(err)
	}
	if br.Spec.Database != nil || !br.Spec.DocumentLibrary.ExcludeGeneratedFiles || br.Spec.DocumentLibrary.DestinationPrefix != "retail/prd/prd-20251109143005/" || br.Spec.Provider != backupv1alpha1.ProviderAWS {
		t.Errorf("spec %+v", br.Spec)
	}
}

func TestScheduleOfEnvironment(t *testing.T) {
	a, b, c := *nightly(), *nightly(), *nightly()
	b.Name = "hourly"
	c.Name, c.Spec.Template.Environment = "uat", "uat"
	if s, err := scheduleOfEnvironment([]backupv1alpha1.BackupSchedule{a, c}, "prd"); err != nil || s.Name != "nightly" {
		t.Errorf("%v %v", s, err)
	}
	if s, err := scheduleOfEnvironment([]backupv1alpha1.BackupSchedule{c}, "prd"); err != nil || s != nil {
		t.Errorf("%v %v", s, err)
	}
	if _, err := scheduleOfEnvironment([]backupv1alpha1.BackupSchedule{a, b}, "prd"); err == nil || !strings.Contains(err.Error(), "hourly, nightly") {
		t.Errorf("two schedules: %v", err)
	}
}

func TestNewRestoreOverwriteMustRepeatTheTarget(t *testing.T) {
	f := restoreFlags{from: "prd-1", targetBucket: "live", targetPrefix: "document_library"}
	f.overwrite = "live/document_library"
	if _, err := newRestore("ns", now, f); err == nil || !strings.Contains(err.Error(), "--overwrite=live/document_library/") {
		t.Errorf("a target without the trailing '/': %v", err)
	}
	f.overwrite = "live/document_library/"
	rr, err := newRestore("ns", now, f)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Name != "prd-1-restore-20251109143005" || rr.Spec.DocumentLibrary.ExistingObjects != backupv1alpha1.ExistingObjectsOverwrite ||
		rr.Annotations[backupv1alpha1.ConfirmOverwriteAnnotation] != "live/document_library/" {
		t.Errorf("%+v", rr)
	}
	if _, err := newRestore("ns", now, restoreFlags{from: "prd-1"}); err == nil || !strings.Contains(err.Error(), "backup verify") {
		t.Errorf("no target: %v", err)
	}
	if _, err := newRestore("ns", now, restoreFlags{from: "prd-1", targetBucket: "b", skipExisting: true, overwrite: "b/"}); err == nil {
		t.Error("--skip-existing with --overwrite")
	}
}

func TestNewRestoreOfADumpNamesTheSecretAndConfirmsAnOverwriteByName(t *testing.T) {
	rr, err := newRestore("ns", now, restoreFlags{from: "prd-dump-1", connectionSecret: "restored-db"})
	if err != nil {
		t.Fatal(err)
	}
	if db := rr.Spec.Database; db == nil || db.ConnectionSecretRef == nil || db.ConnectionSecretRef.Name != "restored-db" || db.TargetInstanceID != "" || db.ExistingData != "" {
		t.Errorf("a dump load: %+v", rr.Spec.Database)
	}
	if _, err := newRestore("ns", now, restoreFlags{from: "prd-dump-1", connectionSecret: "restored-db", overwriteDatabase: "other-db"}); err == nil ||
		!strings.Contains(err.Error(), "--overwrite-database=restored-db") {
		t.Errorf("an overwrite naming another Secret: %v", err)
	}
	rr, err = newRestore("ns", now, restoreFlags{from: "prd-dump-1", connectionSecret: "restored-db", overwriteDatabase: "restored-db",
		targetBucket: "live", overwrite: "live/"})
	if err != nil {
		t.Fatal(err)
	}
	if rr.Spec.Database.ExistingData != backupv1alpha1.ExistingDataOverwrite || rr.Annotations[backupv1alpha1.ConfirmDatabaseOverwriteAnnotation] != "restored-db" ||
		rr.Annotations[backupv1alpha1.ConfirmOverwriteAnnotation] != "live/" {
		t.Errorf("both overwrites confirmed: %+v %v", rr.Spec.Database, rr.Annotations)
	}
}

func TestNewRestoreOfADumpIntoANewInstanceNamesBoth(t *testing.T) {
	rr, err := newRestore("ns", now, restoreFlags{from: "prd-dump-1", connectionSecret: "master", targetInstance: "new-db", instanceClass: "db.t3.medium"})
	if err != nil {
		t.Fatal(err)
	}
	if db := rr.Spec.Database; db == nil || db.ConnectionSecretRef == nil || db.ConnectionSecretRef.Name != "master" || db.TargetInstanceID != "new-db" ||
		db.InstanceClass != "db.t3.medium" || db.ExistingData != "" {
		t.Errorf("a dump into a new instance: %+v", rr.Spec.Database)
	}
	if _, err := newRestore("ns", now, restoreFlags{from: "prd-dump-1", connectionSecret: "master", targetInstance: "new-db", overwriteDatabase: "master"}); err == nil ||
		!strings.Contains(err.Error(), "a new instance is empty") {
		t.Errorf("--overwrite-database into a new instance: %v", err)
	}
	if _, err := newRestore("ns", now, restoreFlags{from: "prd-dump-1", connectionSecret: "master", instanceClass: "db.t3.medium"}); err == nil {
		t.Error("--instance-class without --target-instance")
	}
	rr.Status.Database = &backupv1alpha1.DatabaseRestoreStatus{InstanceID: "new-db", Endpoint: "new-db.rds:5432", Created: true,
		Dump: &backupv1alpha1.DumpRestoreStatus{Source: "s3://b/retail/prd/1/database/dump.pgdump", SizeBytes: 2048, TablesChecked: 6}}
	var out strings.Builder
	writeRestoreResult(&out, rr)
	if got, want := out.String(), "  database: dump s3://b/retail/prd/1/database/dump.pgdump (2.0 KiB) loaded into the new instance new-db new-db.rds:5432, 6 tables' row counts checked\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	rr, err = newRestore("ns", now, restoreFlags{from: "prd-dump-1", connectionSecret: "restored-db", databaseAuth: "iam"})
	if err != nil || rr.Spec.Database.Authentication != backupv1alpha1.DatabaseAuthIAM {
		t.Errorf("--database-auth iam: %v %+v", err, rr)
	}
	for _, f := range []restoreFlags{
		{from: "prd-dump-1", connectionSecret: "restored-db", databaseAuth: "kerberos"},
		{from: "prd-1", targetInstance: "new-db", databaseAuth: "iam"},
		{from: "prd-dump-1", targetInstance: "new-db", connectionSecret: "master", databaseAuth: "iam"},
	} {
		if _, err := newRestore("ns", now, f); err == nil || !strings.Contains(err.Error(), "--database-auth") {
			t.Errorf("%+v: want a refusal naming --database-auth, got %v", f, err)
		}
	}
}

func TestRestoreResultOfADumpLoadNamesTheSecretNotAnInstance(t *testing.T) {
	rr, err := newRestore("ns", now, restoreFlags{from: "prd-dump-1", connectionSecret: "restored-db"})
	if err != nil {
		t.Fatal(err)
	}
	rr.Status.Database = &backupv1alpha1.DatabaseRestoreStatus{Dump: &backupv1alpha1.DumpRestoreStatus{
		Source: "s3://b/retail/prd/1/database/dump.pgdump", SizeBytes: 2048, TablesChecked: 6}}
	var out strings.Builder
	writeRestoreResult(&out, rr)
	if got, want := out.String(), "  database: dump s3://b/retail/prd/1/database/dump.pgdump (2.0 KiB) loaded into the database of Secret restored-db, 6 tables' row counts checked\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestBackupRows(t *testing.T) {
	start := metav1.NewTime(now.Add(-10 * time.Minute))
	end := metav1.NewTime(now.Add(-7 * time.Minute))
	items := []backupv1alpha1.BackupRequest{
		{ObjectMeta: metav1.ObjectMeta{Name: "prd-2", Namespace: "a", CreationTimestamp: metav1.NewTime(now)}, Spec: backupv1alpha1.BackupRequestSpec{Environment: "prd"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "prd-1", Namespace: "a", CreationTimestamp: start}, Spec: backupv1alpha1.BackupRequestSpec{Environment: "prd"},
			Status: backupv1alpha1.BackupRequestStatus{Phase: backupv1alpha1.PhaseSucceeded, StartTime: &start, CompletionTime: &end, Size: "2.0 GiB",
				DocumentLibrary: &backupv1alpha1.DocumentLibraryBackupStatus{ObjectsTotal: 25}}},
	}
	header, rows := backupRows(items, false, now)
	var b bytes.Buffer
	if err := table(&b, header, rows); err != nil {
		t.Fatal(err)
	}
	want := "NAME    ENV   PHASE       OBJECTS   SIZE      STARTED   DURATION\n" +
		"prd-1   prd   Succeeded   25        2.0 GiB   10m ago   3m\n" +
		"prd-2   prd   New                                       \n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
	header, rows = backupRows(items, true, now)
	if header[0] != "NAMESPACE" || rows[0][0] != "a" {
		t.Errorf("-A: %v %v", header, rows[0])
	}
}

func TestProgressLines(t *testing.T) {
	br := &backupv1alpha1.BackupRequest{ObjectMeta: metav1.ObjectMeta{Name: "prd-1"}}
	if got := backupProgress(br).plainLine(); got != "backup prd-1: New" {
		t.Errorf("new: %q", got)
	}
	br.Status.Phase = backupv1alpha1.PhaseInProgress
	br.Status.Database = &backupv1alpha1.DatabaseBackupStatus{Status: "creating", PercentProgress: 40}
	br.Status.DocumentLibrary = &backupv1alpha1.DocumentLibraryBackupStatus{ObjectsTotal: 20, ObjectsCopied: 8, ObjectsSkipped: 2, BytesCopied: 3 << 20}
	p := backupProgress(br)
	if got := p.plainLine(); got != "backup prd-1: InProgress, objects 10/20, 3.0 MiB, snapshot creating 40%" {
		t.Errorf("plain: %q", got)
	}
	if got := p.barLine(1536); got != "backup prd-1 InProgress [############............]  50% objects 10/20, 3.0 MiB, snapshot creating 40% 1.5 KiB/s" {
		t.Errorf("bar: %q", got)
	}

	var out bytes.Buffer
	clock := now
	pp := &progressPrinter{w: &out, terminal: true, now: func() time.Time { return clock }}
	pp.show(p)
	clock = clock.Add(2 * time.Second)
	br.Status.DocumentLibrary.BytesCopied = 5 << 20
	pp.show(backupProgress(br))
	br.Status.Phase = backupv1alpha1.PhaseSucceeded
	pp.show(backupProgress(br))
	pp.finish()
	lines := strings.Split(out.String(), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "\r") || !strings.Contains(lines[0], "\rbackup prd-1 InProgress [") ||
		!strings.Contains(lines[0], "5.0 MiB, snapshot creating 40% 1.0 MiB/s\x1b[K") || !strings.HasPrefix(lines[1], "\rbackup prd-1 Succeeded") {
		t.Errorf("terminal output %q", out.String())
	}

	out.Reset()
	pp = &progressPrinter{w: &out, now: time.Now}
	pp.show(p)
	pp.show(p)
	if strings.Count(out.String(), "\n") != 1 || strings.Contains(out.String(), "\r") {
		t.Errorf("plain output prints each change once: %q", out.String())
	}
}

// TestQuotaWaitIsShown: a backup waiting for an account quota says so in the list's
// PHASE column and in --wait's progress line, with the controller's message.
func TestQuotaWaitIsShown(t *testing.T) {
	msg := "waiting for the account's snapshot quota: manual snapshot quota of the account exceeded in us-east-1 (SnapshotQuotaExceeded), cannot snapshot database instance retail-prd-db: delete unneeded manual snapshots or raise the RDS quota; retrying in 2m (attempt 2)"
	br := backupv1alpha1.BackupRequest{ObjectMeta: metav1.ObjectMeta{Name: "prd-1", CreationTimestamp: metav1.NewTime(now)}, Spec: backupv1alpha1.BackupRequestSpec{Environment: "prd"}}
	br.Status.Phase, br.Status.Message = backupv1alpha1.PhasePending, msg
	br.Status.SetCondition(backupv1alpha1.ConditionReady, metav1.ConditionFalse, backupv1alpha1.ReasonWaitingForQuota, msg, now)
	if _, rows := backupRows([]backupv1alpha1.BackupRequest{br}, false, now); rows[0][2] != "Pending (WaitingForQuota)" {
		t.Errorf("PHASE column %q", rows[0][2])
	}
	if got := backupProgress(&br).plainLine(); got != "backup prd-1: Pending, "+msg {
		t.Errorf("progress line %q", got)
	}
	br.Status.SetCondition(backupv1alpha1.ConditionReady, metav1.ConditionFalse, backupv1alpha1.ReasonWaitingForSlot, "waiting for a slot", now)
	if _, rows := backupRows([]backupv1alpha1.BackupRequest{br}, false, now); rows[0][2] != "Pending" {
		t.Errorf("PHASE column of a request waiting for a slot %q", rows[0][2])
	}
}

func TestFailingCondition(t *testing.T) {
	conds := []metav1.Condition{
		{Type: "Ready", Status: "False", Reason: "NotFound"},
		{Type: "Claimed", Status: "True", Reason: "Claimed"},
		{Type: "DatabaseSnapshotReady", Status: "False", Reason: "NotFound", Message: "instance x not found"},
	}
	if c := failingCondition(conds); c.Type != "DatabaseSnapshotReady" {
		t.Errorf("%+v", c)
	}
	if c := failingCondition(conds[:2]); c.Type != "Ready" {
		t.Errorf("%+v", c)
	}
}

// TestDocsListTheRBACOfEveryCommand keeps docs/plugin.md#rbac equal to
// commandPermissions, which the Forbidden hint uses.
func TestDocsListTheRBACOfEveryCommand(t *testing.T) {
	doc, err := os.ReadFile("../../docs/plugin.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), rbacTable()) {
		t.Errorf("docs/plugin.md does not contain the RBAC table; paste:\n%s", rbacTable())
	}
	root := (&app{flags: genericclioptions.NewConfigFlags(true)}).rootCommand()
	for _, c := range commandPermissions {
		path := strings.TrimSuffix(c.command, " --wait")
		cmd, _, err := root.Find(strings.Fields(path))
		if err != nil || cmd.CommandPath() != "kubectl lc2 "+path {
			t.Errorf("%q is not a command: %v", path, err)
		}
	}
}

// rbacTable is commandPermissions as the Markdown table of docs/plugin.md#rbac.
func rbacTable() string {
	var b strings.Builder
	b.WriteString("| Command | Needs (verbs on resources in the namespace) |\n|---|---|\n")
	for _, c := range commandPermissions {
		parts := make([]string, len(c.needs))
		for i, p := range c.needs {
			parts[i] = fmt.Sprintf("`%s`: %s", p.resource, strings.Join(p.verbs, ", "))
		}
		fprintf(&b, "| `%s` | %s |\n", c.command, strings.Join(parts, "; "))
	}
	return b.String()
}

func TestDrainWatchEndsOnExpiryAndDeletion(t *testing.T) {
	seen := 0
	step := func(obj runtime.Object) (bool, error) {
		seen++
		return obj.(*backupv1alpha1.BackupRequest).Status.Phase.IsTerminal(), nil
	}
	w := watch.NewFake()
	go func() {
		w.Add(&backupv1alpha1.BackupRequest{})
		w.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired, Message: "too old resource version"})
	}()
	if done, err := drainWatch(context.Background(), w, "b", step); done || err != nil || seen != 1 {
		t.Errorf("an expired watch is watched again: done %v, err %v, seen %d", done, err, seen)
	}
	w = watch.NewFake()
	go w.Delete(&backupv1alpha1.BackupRequest{})
	if _, err := drainWatch(context.Background(), w, "b", step); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("deleted: %v", err)
	}
	w = watch.NewFake()
	go w.Modify(&backupv1alpha1.BackupRequest{Status: backupv1alpha1.BackupRequestStatus{Phase: backupv1alpha1.PhaseFailed}})
	if done, err := drainWatch(context.Background(), w, "b", step); !done || err != nil {
		t.Errorf("terminal: done %v, err %v", done, err)
	}
}

func TestWaitErrorTellsTimeoutFromCtrlC(t *testing.T) {
	ctx, cancel := waitContext(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if err := waitError(ctx, ctx.Err(), "backup b", time.Nanosecond, "InProgress"); err == nil || !strings.Contains(err.Error(), "still InProgress after --timeout") {
		t.Errorf("timeout: %v", err)
	}
	parent, interrupt := context.WithCancel(context.Background())
	ctx, cancel = waitContext(parent, 0)
	defer cancel()
	interrupt()
	if err := waitError(ctx, ctx.Err(), "backup b", 0, "InProgress"); !errors.Is(err, errInterrupted) {
		t.Errorf("Ctrl-C: %v", err)
	}
}
