package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/dumprun"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
)

// restoreMachine drives a BackupRequest and then RestoreRequests through the
// reconcilers against the fake provider, one pass at a time.
type restoreMachine struct {
	*machine
	rr *RestoreRequestReconciler
}

const restoreNS = "proj-retail-prd"

func newRestoreMachine(t *testing.T, objs ...client.Object) *restoreMachine {
	t.Helper()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = backupv1alpha1.AddToScheme(scheme)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: restoreNS, Labels: map[string]string{backupv1alpha1.ProjectLabel: "retail"}}}
	other := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "proj-bank-prd", Labels: map[string]string{backupv1alpha1.ProjectLabel: "bank"}}}
	b := fakeclient.NewClientBuilder().WithScheme(scheme).
		WithStatusSubresource(&backupv1alpha1.BackupRequest{}, &backupv1alpha1.RestoreRequest{}).
		WithObjects(append([]client.Object{ns, other}, objs...)...)
	for field, indexer := range indexers {
		b = b.WithIndex(&backupv1alpha1.BackupRequest{}, field, indexer)
	}
	for field, indexer := range restoreIndexers {
		b = b.WithIndex(&backupv1alpha1.RestoreRequest{}, field, indexer)
	}
	m := &machine{t: t, client: b.Build(), clock: clocktesting.NewFakeClock(start), recorder: events.NewFakeRecorder(1000)}
	var cancel context.CancelFunc
	m.ctx, cancel = context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m.cloud = fake.New("liferay-retail-prd-dl", "liferay-backups", "retail-restored", "bank-dl")
	m.cloud.Clock = m.clock
	m.cloud.SnapshotReadyAfter = time.Minute
	m.cloud.InstanceReadyAfter = time.Minute
	m.cloud.RequireInstances = true
	owned := map[string]string{backupv1alpha1.OwnershipTagKey: "retail"}
	m.cloud.SetInstanceTags("retail-prd-db", owned)
	for _, b := range []string{"liferay-retail-prd-dl", "liferay-backups", "retail-restored"} {
		m.cloud.SetBucketTags(b, owned)
	}
	m.cloud.SetBucketTags("bank-dl", map[string]string{backupv1alpha1.OwnershipTagKey: "bank"})
	for i, key := range []string{"document_library/10/a.pdf", "document_library/10/b.pdf", "document_library/20/c.pdf"} {
		m.cloud.PutObject("liferay-retail-prd-dl", key, []byte(strings.Repeat(string(rune('a'+i)), 100*(i+1))))
	}
	m.r = m.newReconciler()
	rm := &restoreMachine{machine: m}
	rm.rr = rm.newRestoreReconciler()
	return rm
}

func (m *restoreMachine) newRestoreReconciler() *RestoreRequestReconciler {
	reg := provider.NewRegistry()
	reg.Register("aws", m.cloud)
	r := &RestoreRequestReconciler{Client: m.client, Recorder: m.recorder, Providers: reg, Clock: m.clock, Slots: m.r.slots, Dumps: &dumprun.ProcessRunner{}}
	r.prepare(m.ctx)
	return r
}

// backup runs a full backup "full" to Succeeded.
func (m *restoreMachine) backup() *backupv1alpha1.BackupRequest {
	m.t.Helper()
	br := backups.New(restoreNS, "full", "retail", backups.Full("retail-prd-db", "liferay-retail-prd-dl", "liferay-backups", "retail/prd/full/"))
	br.UID = "uid-full"
	if err := m.client.Create(m.ctx, br); err != nil {
		m.t.Fatal(err)
	}
	if got := m.drive("full"); got.Status.Phase != backupv1alpha1.PhaseSucceeded {
		m.t.Fatalf("backup: %s %s", got.Status.Phase, got.Status.Message)
	}
	return m.get("full")
}

func newRestore(name string, spec backupv1alpha1.RestoreRequestSpec) *backupv1alpha1.RestoreRequest {
	return &backupv1alpha1.RestoreRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: restoreNS, Name: name, UID: types.UID("uid-" + name)},
		Spec:       spec,
	}
}

func (m *restoreMachine) getRR(name string) *backupv1alpha1.RestoreRequest {
	m.t.Helper()
	rr := &backupv1alpha1.RestoreRequest{}
	if err := m.client.Get(m.ctx, types.NamespacedName{Namespace: restoreNS, Name: name}, rr); err != nil {
		m.t.Fatalf("get %s: %v", name, err)
	}
	return rr
}

func (m *restoreMachine) reconcileRR(name string) (ctrl.Result, error) {
	res, err := m.rr.Reconcile(m.ctx, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: restoreNS, Name: name}})
	if res.RequeueAfter > 0 {
		m.clock.Step(res.RequeueAfter)
	}
	return res, err
}

// driveRR reconciles until the restore is terminal.
func (m *restoreMachine) driveRR(name string) *backupv1alpha1.RestoreRequest {
	m.t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if _, err := m.reconcileRR(name); err != nil {
			m.t.Fatalf("reconcile %s: %v", name, err)
		}
		if rr := m.getRR(name); rr.Status.Phase.IsTerminal() {
			return rr
		}
	}
	m.t.Fatalf("%s did not finish: %+v", name, m.getRR(name).Status)
	return nil
}

func (m *restoreMachine) create(rr *backupv1alpha1.RestoreRequest) {
	m.t.Helper()
	if err := m.client.Create(m.ctx, rr); err != nil {
		m.t.Fatal(err)
	}
}

func fullRestore(name, instance, prefix string) *backupv1alpha1.RestoreRequest {
	return newRestore(name, backupv1alpha1.RestoreRequestSpec{
		Source:          backupv1alpha1.RestoreSource{BackupRequestName: "full"},
		Database:        &backupv1alpha1.DatabaseRestoreSpec{TargetInstanceID: instance},
		DocumentLibrary: &backupv1alpha1.DocumentLibraryRestoreSpec{TargetBucket: "retail-restored", TargetPrefix: backupv1alpha1.ObjectPrefix(prefix)},
	})
}

func TestFullRestoreBringsBackTheDatabaseAndEveryFile(t *testing.T) {
	m := newRestoreMachine(t)
	br := m.backup()
	m.create(fullRestore("restore", "retail-restored-db", "document_library/"))
	rr := m.driveRR("restore")
	if rr.Status.Phase != backupv1alpha1.RestorePhaseSucceeded {
		t.Fatalf("phase %s: %s (%v)", rr.Status.Phase, rr.Status.Message, rr.Status.ValidationErrors)
	}
	for _, c := range []backupv1alpha1.ConditionType{backupv1alpha1.ConditionReady, backupv1alpha1.ConditionSourceVerified,
		backupv1alpha1.ConditionDatabaseRestored, backupv1alpha1.ConditionDocumentLibraryRestored} {
		if !rr.Status.IsConditionTrue(c) {
			t.Errorf("condition %s: %+v", c, rr.Status.Condition(c))
		}
	}
	if src := rr.Status.Source; src == nil || src.ManifestLocation != br.Status.Manifest.Location || src.ManifestChecksum != br.Status.Manifest.Checksum || src.Objects != 3 {
		t.Fatalf("source %+v", rr.Status.Source)
	}
	if db := rr.Status.Database; db == nil || !db.Created || db.Endpoint == "" {
		t.Fatalf("database %+v", rr.Status.Database)
	}
	for _, key := range []string{"10/a.pdf", "10/b.pdf", "20/c.pdf"} {
		want, _ := m.cloud.ReadObject("liferay-retail-prd-dl", "document_library/"+key)
		got, ok := m.cloud.ReadObject("retail-restored", "document_library/"+key)
		if !ok || string(got) != string(want) {
			t.Errorf("%s not restored byte for byte", key)
		}
	}
	if dl := rr.Status.DocumentLibrary; dl.ObjectsRestored != 3 || dl.ObjectsTotal != 3 || !strings.Contains(dl.RecordLocation, "retail/.restores/proj-retail-prd/restore-uid-restore/") {
		t.Fatalf("document library status %+v", dl)
	}
	// One-shot: a terminal restore never runs again.
	calls := m.cloud.Calls("CopyObjectStorage")
	if _, err := m.reconcileRR("restore"); err != nil {
		t.Fatal(err)
	}
	if m.cloud.Calls("CopyObjectStorage") != calls {
		t.Fatal("a succeeded restore ran again")
	}
}

func TestValidationCollectsEveryProblemAtOnce(t *testing.T) {
	m := newRestoreMachine(t)
	m.backup()
	m.cloud.PutInstance("taken-db", provider.DatabaseInstanceSettings{})
	m.cloud.PutObject("retail-restored", "document_library/old.pdf", []byte("live"))
	m.create(fullRestore("bad", "taken-db", "document_library/"))
	rr := m.driveRR("bad")
	if rr.Status.Phase != backupv1alpha1.RestorePhaseFailed || rr.Status.Condition(backupv1alpha1.ConditionReady).Reason != string(backupv1alpha1.ReasonValidationFailed) {
		t.Fatalf("want Failed/ValidationFailed: %+v", rr.Status)
	}
	if errs := strings.Join(rr.Status.ValidationErrors, "\n"); len(rr.Status.ValidationErrors) != 2 ||
		!strings.Contains(errs, "spec.database.targetInstanceId") || !strings.Contains(errs, "spec.documentLibrary.targetPrefix") {
		t.Fatalf("validation errors %q", rr.Status.ValidationErrors)
	}
	if m.cloud.Calls("RestoreDatabaseInstance") != 0 || m.cloud.Calls("CopyObjectStorage") != 1 {
		t.Fatalf("nothing may be written after a failed validation (restores %d, copies %d)", m.cloud.Calls("RestoreDatabaseInstance"), m.cloud.Calls("CopyObjectStorage"))
	}
	evs := strings.Join(m.events(), "\n")
	for _, reason := range []string{"TargetExists", "TargetNotEmpty", "ValidationFailed"} {
		if !strings.Contains(evs, "Warning "+reason) {
			t.Errorf("no %s warning event:\n%s", reason, evs)
		}
	}
}

func TestRestoreFromAnotherProjectsBackupIsRefused(t *testing.T) {
	m := newRestoreMachine(t)
	br := m.backup()
	rr := newRestore("steal", backupv1alpha1.RestoreRequestSpec{
		Source:   backupv1alpha1.RestoreSource{Manifest: br.Status.Manifest.Location},
		Database: &backupv1alpha1.DatabaseRestoreSpec{TargetInstanceID: "bank-db"},
	})
	rr.Namespace = "proj-bank-prd"
	m.create(rr)
	for range 5 {
		_, _ = m.rr.Reconcile(m.ctx, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "proj-bank-prd", Name: "steal"}})
	}
	got := &backupv1alpha1.RestoreRequest{}
	if err := m.client.Get(m.ctx, types.NamespacedName{Namespace: "proj-bank-prd", Name: "steal"}, got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != backupv1alpha1.RestorePhaseFailed || got.Status.Condition(backupv1alpha1.ConditionReady).Reason != string(backupv1alpha1.ReasonProjectMismatch) {
		t.Fatalf("want Failed/ProjectMismatch: %+v", got.Status)
	}
}

func TestDeletingAnUnfinishedRestoreRemovesOnlyWhatItCreated(t *testing.T) {
	m := newRestoreMachine(t)
	m.backup()
	m.cloud.PutObject("retail-restored", "document_library/10/a.pdf", []byte("live, not the backup's"))
	rr := fullRestore("cancel", "retail-cancel-db", "document_library/")
	rr.Spec.DocumentLibrary.ExistingObjects = backupv1alpha1.ExistingObjectsSkip
	m.create(rr)
	// Run until the files are restored but the instance is still creating.
	for i := 0; i < 200 && !m.getRR("cancel").Status.IsConditionTrue(backupv1alpha1.ConditionDocumentLibraryRestored); i++ {
		if _, err := m.rr.Reconcile(m.ctx, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: restoreNS, Name: "cancel"}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if got := m.getRR("cancel"); got.Status.Phase != backupv1alpha1.RestorePhaseInProgress || got.Status.Database == nil || !got.Status.Database.Created {
		t.Fatalf("want an unfinished restore with its instance started: %+v", got.Status)
	}
	if err := m.client.Delete(m.ctx, m.getRR("cancel")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.reconcileRR("cancel"); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.cloud.ReadObject("retail-restored", "document_library/10/a.pdf"); string(got) != "live, not the backup's" {
		t.Fatalf("a file that was there before the restore was touched: %q", got)
	}
	for _, key := range []string{"document_library/10/b.pdf", "document_library/20/c.pdf"} {
		if _, ok := m.cloud.ReadObject("retail-restored", key); ok {
			t.Errorf("%s, written by the cancelled restore, is still there", key)
		}
	}
	for _, id := range m.cloud.Instances() {
		if id == "retail-cancel-db" {
			t.Error("the instance the cancelled restore started is still there")
		}
	}
	if objs, _ := m.cloud.ListObjects(m.ctx, "liferay-backups", "retail/.restores/"); len(objs) != 0 {
		t.Errorf("the restore record is left: %v", objs)
	}
}

func TestRestoredInstanceGetsTheRecordedSettingsAndOverrides(t *testing.T) {
	m := newRestoreMachine(t)
	settings := fake.DefaultInstanceSettings()
	settings.InstanceClass, settings.ParameterGroup, settings.PubliclyAccessible = "db.r6g.large", "liferay-pg15", true
	settings.Tags = map[string]string{backupv1alpha1.OwnershipTagKey: "retail"}
	m.cloud.PutInstance("retail-prd-db", settings)
	m.backup()
	rr := fullRestore("settings", "retail-settings-db", "document_library/")
	rr.Spec.Database.InstanceClass = "db.t3.medium"
	m.create(rr)
	if got := m.driveRR("settings"); got.Status.Phase != backupv1alpha1.RestorePhaseSucceeded {
		t.Fatalf("phase %s: %s", got.Status.Phase, got.Status.Message)
	}
	inst, err := m.cloud.DescribeDatabaseInstance(m.ctx, "retail-settings-db")
	if err != nil {
		t.Fatal(err)
	}
	if s := inst.Settings; s.InstanceClass != "db.t3.medium" || s.ParameterGroup != "liferay-pg15" || s.PubliclyAccessible {
		t.Fatalf("settings %+v: want the recorded parameter group, the overridden class, and not publicly accessible", s)
	}
	if inst.Owner.UID != "uid-settings" {
		t.Fatalf("owner %+v", inst.Owner)
	}
}

// A manifest read from a URL alone may have been written by anyone who can write to
// the project's bucket: the network and parameter resources it records (which carry
// no ownership the controller can check) must not choose where the instance goes.
func TestAManifestURLAloneDoesNotChooseTheRestoredInstancesNetwork(t *testing.T) {
	m := newRestoreMachine(t)
	settings := fake.DefaultInstanceSettings()
	settings.InstanceClass, settings.ParameterGroup, settings.SubnetGroup = "db.r6g.large", "other-project-params", "other-project-subnets"
	settings.SecurityGroupIDs = []string{"sg-other-project"}
	settings.Tags = map[string]string{backupv1alpha1.OwnershipTagKey: "retail"}
	m.cloud.PutInstance("retail-prd-db", settings)
	br := m.backup()
	rr := fullRestore("by-url", "retail-url-db", "document_library/")
	rr.Spec.Source = backupv1alpha1.RestoreSource{Manifest: br.Status.Manifest.Location}
	rr.Spec.Database.SubnetGroupName = "retail-subnets"
	m.create(rr)
	if got := m.driveRR("by-url"); got.Status.Phase != backupv1alpha1.RestorePhaseSucceeded {
		t.Fatalf("phase %s: %s", got.Status.Phase, got.Status.Message)
	}
	inst, err := m.cloud.DescribeDatabaseInstance(m.ctx, "retail-url-db")
	if err != nil {
		t.Fatal(err)
	}
	s := inst.Settings
	if s.SubnetGroup != "retail-subnets" || len(s.SecurityGroupIDs) != 0 || s.ParameterGroup == "other-project-params" {
		t.Fatalf("settings %+v: the network and parameter group must come from the spec or the cloud's defaults, not from the manifest", s)
	}
	if s.InstanceClass != "db.r6g.large" {
		t.Fatalf("settings %+v: the recorded sizing still applies", s)
	}
}

func TestDeletingARestoreRefusesARecordedKeyOutsideTheTargetPrefix(t *testing.T) {
	m := newRestoreMachine(t)
	m.backup()
	m.create(fullRestore("forged", "retail-forged-db", "document_library/"))
	if rr := m.driveRR("forged"); rr.Status.Phase != backupv1alpha1.RestorePhaseSucceeded {
		t.Fatalf("phase %s: %s", rr.Status.Phase, rr.Status.Message)
	}
	rec := recordOf(m.getRR("forged"))
	m.cloud.PutObject("retail-restored", "elsewhere/x.pdf", []byte("not the restore's"))
	// A part sorted before the restore's own, listing a key it cannot have written.
	inv := inventory.NewWriter(m.cloud, rec.bucket, rec.prefix, layout.RunID(time.Unix(0, 0)), m.clock)
	inv.Add(m.ctx, inventory.Entry{SourceKey: "data/x.pdf", StoredKey: "elsewhere/x.pdf", Size: 17})
	if _, err := inv.Close(m.ctx); err != nil {
		t.Fatal(err)
	}
	before, err := m.cloud.ListObjects(m.ctx, rec.bucket, rec.prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.client.Delete(m.ctx, m.getRR("forged")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.reconcileRR("forged"); err == nil || !strings.Contains(err.Error(), `which is not under the target prefix "document_library/"`) {
		t.Fatalf("want an error naming the recorded key, got %v", err)
	}
	if got, ok := m.cloud.ReadObject("retail-restored", "elsewhere/x.pdf"); !ok || string(got) != "not the restore's" {
		t.Fatalf("the object outside the target prefix was touched: %q %v", got, ok)
	}
	if after, err := m.cloud.ListObjects(m.ctx, rec.bucket, rec.prefix); err != nil || len(after) != len(before) {
		t.Fatalf("the record went from %d to %d objects (%v)", len(before), len(after), err)
	}
}
