package controller

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"

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
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
)

// machine is a reconciler on a fake API client, a fake cloud and a fake clock.
type machine struct {
	t        *testing.T
	ctx      context.Context
	client   client.Client
	cloud    *fake.Provider
	clock    *clocktesting.FakeClock
	recorder *events.FakeRecorder
	r        *BackupRequestReconciler
}

var start = time.Date(2026, 11, 9, 14, 30, 0, 0, time.UTC)

func newMachine(t *testing.T, objs ...client.Object) *machine {
	t.Helper()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = backupv1alpha1.AddToScheme(scheme)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "proj-retail-prd", Labels: map[string]string{backupv1alpha1.ProjectLabel: "retail"}}}
	builder := fakeclient.NewClientBuilder().WithScheme(scheme).
		WithStatusSubresource(&backupv1alpha1.BackupRequest{}).
		WithObjects(append([]client.Object{ns}, objs...)...)
	for field, indexer := range indexers {
		builder = builder.WithIndex(&backupv1alpha1.BackupRequest{}, field, indexer)
	}
	for field, indexer := range restoreIndexers {
		builder = builder.WithIndex(&backupv1alpha1.RestoreRequest{}, field, indexer)
	}
	c := builder.Build()
	m := &machine{t: t, client: c, clock: clocktesting.NewFakeClock(start), recorder: events.NewFakeRecorder(100)}
	var cancel context.CancelFunc
	m.ctx, cancel = context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m.cloud = fake.New("liferay-retail-prd-dl", "liferay-backups")
	m.cloud.Clock = m.clock
	m.cloud.SnapshotReadyAfter = time.Minute
	owned := map[string]string{backupv1alpha1.OwnershipTagKey: "retail"}
	m.cloud.SetInstanceTags("retail-prd-db", owned)
	m.cloud.SetBucketTags("liferay-retail-prd-dl", owned)
	m.cloud.SetBucketTags("liferay-backups", owned)
	for i := range 5 {
		m.cloud.PutObject("liferay-retail-prd-dl", fmt.Sprintf("document_library/10/%d.pdf", i), []byte(strings.Repeat("x", 100*(i+1))))
	}
	m.r = m.newReconciler()
	return m
}

// newReconciler is a controller with empty memory, as after a restart.
func (m *machine) newReconciler() *BackupRequestReconciler {
	reg := provider.NewRegistry()
	reg.Register("aws", m.cloud)
	r := &BackupRequestReconciler{Client: m.client, Recorder: m.recorder, Providers: reg, Clock: m.clock, Slots: NewSlots(Options{}, m.client, m.clock)}
	r.prepare(m.ctx)
	return r
}

// request is the shared test BackupRequest (test/fixtures/backups) of project retail,
// with the identity a stored object has.
func request(name string, mutate ...func(*backupv1alpha1.BackupRequestSpec)) *backupv1alpha1.BackupRequest {
	br := backups.New("proj-retail-prd", name, "retail",
		backups.Full("retail-prd-db", "liferay-retail-prd-dl", "liferay-backups", "retail/prd/"+name+"/"))
	br.UID, br.CreationTimestamp = types.UID("uid-"+name), metav1.NewTime(start)
	for _, f := range mutate {
		f(&br.Spec)
	}
	return br
}

func (m *machine) get(name string) *backupv1alpha1.BackupRequest {
	m.t.Helper()
	br := &backupv1alpha1.BackupRequest{}
	if err := m.client.Get(m.ctx, types.NamespacedName{Namespace: "proj-retail-prd", Name: name}, br); err != nil {
		m.t.Fatalf("get %s: %v", name, err)
	}
	return br
}

// reconcile runs one pass and moves the fake clock to the requested requeue time.
func (m *machine) reconcile(name string) (ctrl.Result, error) {
	res, err := m.r.Reconcile(m.ctx, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "proj-retail-prd", Name: name}})
	if res.RequeueAfter > 0 {
		m.clock.Step(res.RequeueAfter)
	}
	return res, err
}

// step runs one pass that must not fail, and moves the fake clock like reconcile.
func (m *machine) step(name string) ctrl.Result {
	m.t.Helper()
	res, err := m.reconcile(name)
	if err != nil {
		m.t.Fatalf("reconcile %s: %v", name, err)
	}
	return res
}

// drive reconciles until the request is terminal, giving background copies time to end.
func (m *machine) drive(name string) *backupv1alpha1.BackupRequest {
	m.t.Helper()
	// Background copies finish in their own time: wait by the wall clock, generously,
	// so a busy machine only makes the test slower.
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := m.reconcile(name); err != nil {
			m.t.Fatalf("reconcile %s: %v", name, err)
		}
		if br := m.get(name); br.Status.Phase.IsTerminal() {
			return br
		}
	}
	m.t.Fatalf("%s did not finish: %+v", name, m.get(name).Status)
	return nil
}

func (m *machine) events() []string {
	var out []string
	for {
		select {
		case e := <-m.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func condition(br *backupv1alpha1.BackupRequest, t backupv1alpha1.ConditionType) *metav1.Condition {
	return br.Status.Condition(t)
}

func TestFullBackupSucceedsWithEveryStepRecorded(t *testing.T) {
	m := newMachine(t, request("full"))
	br := m.drive("full")

	if br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		t.Fatalf("phase %s, message %q", br.Status.Phase, br.Status.Message)
	}
	for _, c := range []backupv1alpha1.ConditionType{backupv1alpha1.ConditionReady, backupv1alpha1.ConditionDatabaseSnapshotReady, backupv1alpha1.ConditionDocumentLibraryCopied, backupv1alpha1.ConditionManifestWritten} {
		if cond := condition(br, c); cond == nil || cond.Status != metav1.ConditionTrue {
			t.Errorf("condition %s = %+v, want True", c, cond)
		}
	}
	if br.Status.Database.SnapshotID == "" || br.Status.Database.Engine != "postgres" || br.Status.Database.SizeBytes != 20<<30 {
		t.Errorf("database status %+v", br.Status.Database)
	}
	if dl := br.Status.DocumentLibrary; dl.ObjectsTotal != 5 || dl.ObjectsCopied != 5 || dl.TotalSizeBytes != 1500 {
		t.Errorf("document library status %+v", dl)
	}
	if br.Status.StartTime == nil || br.Status.CompletionTime == nil || br.Status.ExpiresAt == nil {
		t.Fatalf("times not set: %+v", br.Status)
	}
	if got := br.Status.ExpiresAt.Sub(br.Status.CompletionTime.Time); got != 30*24*time.Hour {
		t.Errorf("expiresAt is completion + %s, want the default 30 days", got)
	}
	if br.Status.ObservedGeneration != br.Generation {
		t.Errorf("observedGeneration %d, generation %d", br.Status.ObservedGeneration, br.Generation)
	}

	// The manifest is where status says, and verifies.
	if br.Status.Manifest == nil || br.Status.Manifest.Location != "s3://liferay-backups/retail/prd/full/manifest.json" {
		t.Fatalf("manifest status %+v", br.Status.Manifest)
	}
	rc, err := m.cloud.DownloadObject(m.ctx, "liferay-backups", "retail/prd/full/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1<<20)
	n, _ := rc.Read(data)
	man, err := manifest.Verify(data[:n])
	if err != nil {
		t.Fatalf("manifest does not verify: %v", err)
	}
	if man.Checksum != br.Status.Manifest.Checksum || man.DocumentLibrary.ObjectCount != 5 || man.Database.SnapshotID != br.Status.Database.SnapshotID {
		t.Errorf("manifest %+v does not match status %+v", man, br.Status)
	}

	evs := strings.Join(m.events(), "\n")
	for _, want := range []string{"Normal Started", "Normal SnapshotCreating", "Normal SnapshotAvailable", "Normal Copying", "Normal Copied", "Normal Written", "Normal Succeeded"} {
		if !strings.Contains(evs, want) {
			t.Errorf("missing event %q in:\n%s", want, evs)
		}
	}
}

func TestSnapshotPollingBacksOffWithoutAHotLoop(t *testing.T) {
	m := newMachine(t, request("poll", func(s *backupv1alpha1.BackupRequestSpec) { s.DocumentLibrary = nil }))
	m.cloud.SnapshotReadyAfter = 10 * time.Minute
	if _, err := m.reconcile("poll"); err != nil { // takes the slot
		t.Fatal(err)
	}
	var waits []time.Duration
	for range 12 {
		if m.get("poll").Status.Phase.IsTerminal() {
			break
		}
		res, err := m.reconcile("poll")
		if err != nil {
			t.Fatal(err)
		}
		if m.get("poll").Status.Phase.IsTerminal() {
			break // the pass that ends the backup requeues for its retention, not to poll
		}
		if res.RequeueAfter > 0 {
			waits = append(waits, res.RequeueAfter)
		}
	}
	if len(waits) < 4 || waits[0] != 15*time.Second {
		t.Fatalf("first check must come after 15s: %v", waits)
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] < waits[i-1] || waits[i] > 2*time.Minute {
			t.Fatalf("waits must grow to at most 2m: %v", waits)
		}
	}
	if waits[len(waits)-1] != 2*time.Minute {
		t.Fatalf("waits must reach the 2m cap: %v", waits)
	}
	if got := m.cloud.Calls("GetDatabaseSnapshotStatus"); got > 12 {
		t.Fatalf("%d status calls in 12 passes", got)
	}
}

func TestProjectMismatchFailsWithoutCallingTheCloud(t *testing.T) {
	m := newMachine(t, request("intruder", func(s *backupv1alpha1.BackupRequestSpec) { s.ProjectID = "bank" }))
	br := m.drive("intruder")
	if br.Status.Phase != backupv1alpha1.PhaseFailed || condition(br, backupv1alpha1.ConditionReady).Reason != string(backupv1alpha1.ReasonProjectMismatch) {
		t.Fatalf("want Failed/ProjectMismatch, got %s %+v", br.Status.Phase, condition(br, backupv1alpha1.ConditionReady))
	}
	if !strings.Contains(br.Status.Message, `belongs to project "retail"`) {
		t.Errorf("message should say which project the namespace belongs to: %q", br.Status.Message)
	}
	for _, op := range []string{"CreateDatabaseSnapshot", "CopyObjectStorage", "DownloadObject", "ListObjects", "UploadObject"} {
		if n := m.cloud.Calls(op); n != 0 {
			t.Errorf("%s called %d times for a request of another project", op, n)
		}
	}
	if evs := strings.Join(m.events(), "\n"); !strings.Contains(evs, "Warning ProjectMismatch") {
		t.Errorf("want a Warning event, got:\n%s", evs)
	}
}

func TestUnsupportedProviderAndDatabaseTypeFail(t *testing.T) {
	m := newMachine(t,
		request("gcp", func(s *backupv1alpha1.BackupRequestSpec) { s.Provider = "gcp" }),
		request("dump", func(s *backupv1alpha1.BackupRequestSpec) { s.Database.Type = "dump" }))
	if br := m.drive("gcp"); condition(br, backupv1alpha1.ConditionReady).Reason != string(backupv1alpha1.ReasonProviderNotSupported) {
		t.Errorf("gcp: %+v", condition(br, backupv1alpha1.ConditionReady))
	}
	if br := m.drive("dump"); condition(br, backupv1alpha1.ConditionReady).Reason != string(backupv1alpha1.ReasonDatabaseTypeNotSupported) {
		t.Errorf("dump: %+v", condition(br, backupv1alpha1.ConditionReady))
	}
}

func TestPermanentProviderErrorFailsWithItsReason(t *testing.T) {
	m := newMachine(t, request("missing-db"))
	m.cloud.FailWith("CreateDatabaseSnapshot", provider.NewError(provider.KindNotFound, "CreateDBSnapshot", "retail-prd-db", errors.New("DBInstanceNotFound")))
	br := m.drive("missing-db")
	if br.Status.Phase != backupv1alpha1.PhaseFailed || condition(br, backupv1alpha1.ConditionReady).Reason != string(backupv1alpha1.ReasonNotFound) {
		t.Fatalf("want Failed/NotFound, got %s %+v", br.Status.Phase, condition(br, backupv1alpha1.ConditionReady))
	}
	if !strings.Contains(br.Status.Message, "retail-prd-db") {
		t.Errorf("message must name the instance: %q", br.Status.Message)
	}
	if evs := strings.Join(m.events(), "\n"); !strings.Contains(evs, "Warning NotFound") {
		t.Errorf("want a Warning event, got:\n%s", evs)
	}
}

func TestTransientProviderErrorIsRetried(t *testing.T) {
	m := newMachine(t, request("throttled"))
	m.cloud.FailWith("CreateDatabaseSnapshot", provider.NewError(provider.KindThrottled, "CreateDBSnapshot", "retail-prd-db", errors.New("Throttling")))
	if _, err := m.reconcile("throttled"); err != nil { // takes the slot: no cloud call yet
		t.Fatal(err)
	}
	if _, err := m.reconcile("throttled"); err == nil {
		t.Fatal("a throttled call must return an error so the workqueue retries with backoff")
	}
	if br := m.get("throttled"); br.Status.Phase != backupv1alpha1.PhaseInProgress {
		t.Fatalf("phase %s after a transient error", br.Status.Phase)
	}
	m.cloud.FailWith("CreateDatabaseSnapshot", nil)
	if br := m.drive("throttled"); br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		t.Fatalf("phase %s after the throttling stopped: %s", br.Status.Phase, br.Status.Message)
	}
}

func TestSnapshotThatFailsInTheCloudFailsTheBackup(t *testing.T) {
	m := newMachine(t, request("bad-snap", func(s *backupv1alpha1.BackupRequestSpec) { s.DocumentLibrary = nil }))
	m.step("bad-snap") // InProgress
	m.step("bad-snap") // snapshot created
	m.cloud.SetSnapshotState(m.get("bad-snap").Status.Database.SnapshotID, provider.SnapshotFailed, "failed")
	br := m.drive("bad-snap")
	if condition(br, backupv1alpha1.ConditionReady).Reason != string(backupv1alpha1.ReasonSnapshotFailed) {
		t.Fatalf("want SnapshotFailed, got %+v", condition(br, backupv1alpha1.ConditionReady))
	}
}

func TestRestartResumesWithoutASecondSnapshot(t *testing.T) {
	m := newMachine(t, request("restart"))
	m.step("restart") // InProgress
	m.step("restart") // snapshot created
	if id := m.get("restart").Status.Database.SnapshotID; id == "" {
		t.Fatal("snapshot id must be recorded before the next step")
	}
	m.r = m.newReconciler() // the controller restarts: memory gone
	br := m.drive("restart")
	if br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		t.Fatalf("phase %s: %s", br.Status.Phase, br.Status.Message)
	}
	if n := len(m.cloud.Snapshots()); n != 1 {
		t.Fatalf("%d snapshots after a restart, want 1", n)
	}
	if n := m.cloud.Calls("CreateDatabaseSnapshot"); n != 1 {
		t.Fatalf("CreateDatabaseSnapshot called %d times, want 1", n)
	}
}

func TestSlotsLimitRunningBackupsPerProjectInCreationOrder(t *testing.T) {
	var objs []client.Object
	for i := range 3 {
		br := request(fmt.Sprintf("q%d", i))
		br.CreationTimestamp = metav1.NewTime(start.Add(time.Duration(i) * time.Second))
		objs = append(objs, br)
	}
	bank := request("bank-1", func(s *backupv1alpha1.BackupRequestSpec) {
		s.ProjectID = "bank"
		s.Database.InstanceID = "bank-prd-db"
		s.DocumentLibrary = nil
	})
	bank.Namespace = "proj-bank"
	objs = append(objs, bank, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "proj-bank", Labels: map[string]string{backupv1alpha1.ProjectLabel: "bank"}}})
	m := newMachine(t, objs...)
	m.cloud.SnapshotReadyAfter = time.Hour
	m.cloud.SetInstanceTags("bank-prd-db", map[string]string{backupv1alpha1.OwnershipTagKey: "bank"})

	for _, name := range []string{"q2", "q1", "q0", "q2", "q1", "q0"} { // newest first: order must not matter
		m.step(name)
	}
	if p := m.get("q0").Status.Phase; p != backupv1alpha1.PhaseInProgress {
		t.Fatalf("q0 %s", p)
	}
	if p := m.get("q1").Status.Phase; p != backupv1alpha1.PhaseInProgress {
		t.Fatalf("q1 %s", p)
	}
	q2 := m.get("q2")
	ready := condition(q2, backupv1alpha1.ConditionReady)
	if q2.Status.Phase != backupv1alpha1.PhasePending || ready.Reason != string(backupv1alpha1.ReasonWaitingForSlot) || !strings.Contains(ready.Message, "position 1") {
		t.Fatalf("q2 must wait first in line: %s %+v", q2.Status.Phase, ready)
	}

	// Another project is not delayed by retail's full slots.
	bankKey := types.NamespacedName{Namespace: "proj-bank", Name: "bank-1"}
	for range 2 {
		if _, err := m.r.Reconcile(m.ctx, ctrl.Request{NamespacedName: bankKey}); err != nil {
			t.Fatalf("reconcile bank-1: %v", err)
		}
	}
	b := &backupv1alpha1.BackupRequest{}
	if err := m.client.Get(m.ctx, bankKey, b); err != nil {
		t.Fatal(err)
	}
	if b.Status.Phase != backupv1alpha1.PhaseInProgress {
		t.Fatalf("bank-1 %s: %s", b.Status.Phase, b.Status.Message)
	}

	// When q0 finishes, q2 gets its slot.
	m.cloud.SnapshotReadyAfter = 0
	if br := m.drive("q0"); br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		t.Fatalf("q0 %s", br.Status.Phase)
	}
	m.step("q2")
	if p := m.get("q2").Status.Phase; p != backupv1alpha1.PhaseInProgress {
		t.Fatalf("q2 must start once q0 freed its slot, is %s", p)
	}
}

func TestDestinationHoldingObjectsIsRefused(t *testing.T) {
	m := newMachine(t, request("second"))
	m.cloud.PutObject("liferay-backups", "retail/prd/second/manifest.json", []byte(`{"backupId":"someone-else"}`))
	br := m.drive("second")
	if condition(br, backupv1alpha1.ConditionReady).Reason != string(backupv1alpha1.ReasonDestinationNotEmpty) {
		t.Fatalf("want DestinationNotEmpty, got %+v", condition(br, backupv1alpha1.ConditionReady))
	}
	if m.cloud.Calls("CopyObjectStorage") != 0 || m.cloud.Calls("CreateDatabaseSnapshot") != 0 {
		t.Fatal("nothing may be copied or snapshotted into a used destination")
	}
}

func TestOverlappingDestinationOfAnotherRequestIsRefused(t *testing.T) {
	first := request("first")
	second := request("second", func(s *backupv1alpha1.BackupRequestSpec) {
		s.DocumentLibrary.DestinationPrefix = "retail/prd/first/nested/"
	})
	second.CreationTimestamp = metav1.NewTime(start.Add(time.Second))
	m := newMachine(t, first, second)
	br := m.drive("second")
	if condition(br, backupv1alpha1.ConditionReady).Reason != string(backupv1alpha1.ReasonDestinationInUse) || !strings.Contains(br.Status.Message, "proj-retail-prd/first") {
		t.Fatalf("want DestinationInUse naming the other request, got %+v", condition(br, backupv1alpha1.ConditionReady))
	}
	if br := m.drive("first"); br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		t.Fatalf("the older request keeps its destination: %s %s", br.Status.Phase, br.Status.Message)
	}
}

func TestDeadlineFailsABackupThatNeverFinishes(t *testing.T) {
	m := newMachine(t, request("slow", func(s *backupv1alpha1.BackupRequestSpec) { s.Database = nil }))
	m.cloud.CopyDuration = time.Hour // real time: the copy never ends during the test
	m.step("slow")
	m.step("slow")
	if p := m.get("slow").Status.Phase; p != backupv1alpha1.PhaseInProgress {
		t.Fatalf("phase %s", p)
	}
	m.clock.Step(6*time.Hour + time.Minute)
	m.step("slow")
	br := m.get("slow")
	if br.Status.Phase != backupv1alpha1.PhaseFailed || condition(br, backupv1alpha1.ConditionReady).Reason != string(backupv1alpha1.ReasonDeadlineExceeded) {
		t.Fatalf("want Failed/DeadlineExceeded, got %s %+v", br.Status.Phase, condition(br, backupv1alpha1.ConditionReady))
	}
	if _, running := m.r.jobs.Get(br.UID); running {
		t.Fatal("the copy job must be cancelled")
	}
}

func TestDatabaseOnlyBackupWritesItsManifestToTheManifestBucket(t *testing.T) {
	m := newMachine(t, request("db-only", func(s *backupv1alpha1.BackupRequestSpec) { s.DocumentLibrary = nil }))
	m.r.Options.ManifestBucket = "liferay-backups"
	br := m.drive("db-only")
	if br.Status.Manifest == nil || !strings.HasPrefix(br.Status.Manifest.Location, "s3://liferay-backups/retail/prd/") {
		t.Fatalf("manifest %+v", br.Status.Manifest)
	}
	if m.cloud.Calls("CopyObjectStorage") != 0 {
		t.Fatal("a database-only backup must not copy files")
	}
}

func TestBackupRecordsTheSourceInstanceInStatusAndManifest(t *testing.T) {
	m := newMachine(t, request("settings"))
	settings := provider.DatabaseInstanceSettings{
		InstanceClass: "db.m6g.large", StorageType: "gp3", AllocatedStorageGiB: 400, Iops: 12000,
		ParameterGroup: "retail-postgres15", OptionGroup: "default:postgres-15", SubnetGroup: "retail-prd-db",
		SecurityGroupIDs: []string{"sg-1", "sg-2"}, Port: 5433, MultiAZ: true,
		Tags: map[string]string{backupv1alpha1.OwnershipTagKey: "retail", "cost-center": "commerce"},
	}
	m.cloud.PutInstance("retail-prd-db", settings)
	br := m.drive("settings")
	if br.Status.Phase != backupv1alpha1.PhaseSucceeded {
		t.Fatalf("phase %s, message %q", br.Status.Phase, br.Status.Message)
	}
	want := &backupv1alpha1.DatabaseInstanceSettings{
		InstanceClass: "db.m6g.large", StorageType: "gp3", AllocatedStorageGiB: 400, Iops: 12000,
		ParameterGroup: "retail-postgres15", OptionGroup: "default:postgres-15", SubnetGroup: "retail-prd-db",
		SecurityGroupIDs: []string{"sg-1", "sg-2"}, Port: 5433, MultiAZ: true,
		Tags: map[string]string{backupv1alpha1.OwnershipTagKey: "retail", "cost-center": "commerce"},
	}
	if got := br.Status.Database.SourceInstance; !reflect.DeepEqual(got, want) {
		t.Fatalf("status.database.sourceInstance %+v,\nwant %+v", got, want)
	}
	data, ok := m.cloud.ReadObject("liferay-backups", "retail/prd/settings/manifest.json")
	if !ok {
		t.Fatal("no manifest")
	}
	man, err := manifest.Verify(data)
	if err != nil {
		t.Fatalf("manifest does not verify: %v", err)
	}
	wantManifest := &manifest.InstanceSettings{
		InstanceClass: want.InstanceClass, StorageType: want.StorageType, AllocatedStorageGiB: want.AllocatedStorageGiB, Iops: want.Iops,
		ParameterGroup: want.ParameterGroup, OptionGroup: want.OptionGroup, SubnetGroup: want.SubnetGroup,
		SecurityGroupIDs: want.SecurityGroupIDs, Port: want.Port, MultiAZ: want.MultiAZ, Tags: want.Tags,
	}
	if got := man.Database.SourceInstance; !reflect.DeepEqual(got, wantManifest) {
		t.Fatalf("manifest database.sourceInstance %+v,\nwant %+v", got, wantManifest)
	}
	if n := m.cloud.Calls("DescribeDatabaseInstance"); n != 1 {
		t.Errorf("the source instance was described %d times, want once", n)
	}
}

func TestTransientDescribeOfTheSourceInstanceIsRetriedBeforeAnySnapshot(t *testing.T) {
	m := newMachine(t, request("describe-throttled"))
	m.cloud.FailWith("DescribeDatabaseInstance", provider.NewError(provider.KindThrottled, "DescribeDBInstances", "retail-prd-db", errors.New("Throttling")))
	m.step("describe-throttled") // takes the slot
	for range 3 {
		if _, err := m.reconcile("describe-throttled"); err == nil {
			t.Fatal("a throttled describe must return an error so the workqueue retries with backoff")
		}
	}
	if br := m.get("describe-throttled"); br.Status.Phase != backupv1alpha1.PhaseInProgress || br.Status.Database != nil {
		t.Fatalf("after throttled describes: phase %s, database %+v; want InProgress and nothing recorded", br.Status.Phase, br.Status.Database)
	}
	if snaps := m.cloud.Snapshots(); len(snaps) != 0 {
		t.Fatalf("snapshots %q started without the instance's settings", snaps)
	}
	m.cloud.FailWith("DescribeDatabaseInstance", nil)
	br := m.drive("describe-throttled")
	if br.Status.Phase != backupv1alpha1.PhaseSucceeded || br.Status.Database.SourceInstance == nil ||
		br.Status.Database.SourceInstance.InstanceClass != fake.DefaultInstanceSettings().InstanceClass {
		t.Fatalf("after the throttling stopped: phase %s (%s), database %+v", br.Status.Phase, br.Status.Message, br.Status.Database)
	}
}
