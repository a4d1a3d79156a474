package controller

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/repository"
)

// errAPI is a transient API server error: it says nothing about the object.
var errAPI = apierrors.NewServerTimeout(schema.GroupResource{Group: backupv1alpha1.GroupVersion.Group, Resource: "any"}, "get", 1)

// failingReads is a client whose Get of one kind, or List of one list kind, fails
// while fail is set.
type failingReads struct {
	client.Client
	get  client.Object
	list client.ObjectList
	fail *bool
}

func (f failingReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if *f.fail && f.get != nil && sameType(obj, f.get) {
		return errAPI
	}
	return f.Client.Get(ctx, key, obj, opts...)
}

func (f failingReads) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if *f.fail && f.list != nil && sameType(list, f.list) {
		return errAPI
	}
	return f.Client.List(ctx, list, opts...)
}

func sameType(a, b any) bool {
	return strings.TrimPrefix(typeName(a), "*") == strings.TrimPrefix(typeName(b), "*")
}

func typeName(v any) string {
	switch v.(type) {
	case *backupv1alpha1.BackupSchedule:
		return "BackupSchedule"
	case *backupv1alpha1.BackupRequestList:
		return "BackupRequestList"
	case *backupv1alpha1.RestoreRequestList:
		return "RestoreRequestList"
	}
	return "other"
}

// TestScheduleReadErrorKeepsTheArtefacts: a backup deleted with its schedule (the
// garbage collector's foreground cascade) whose schedule cannot be read keeps every
// artefact and its finalizer, and the pass fails to be retried; once the read works,
// the retry keeps the artefacts (the schedule is going) and lets the object go.
func TestScheduleReadErrorKeepsTheArtefacts(t *testing.T) {
	sched := &backupv1alpha1.BackupSchedule{ObjectMeta: metav1.ObjectMeta{Namespace: "proj-retail-prd", Name: "nightly", UID: "sched-uid",
		Finalizers: []string{OrphanFinalizer}}}
	br := request("cascaded")
	br.OwnerReferences = []metav1.OwnerReference{{APIVersion: backupv1alpha1.GroupVersion.String(), Kind: "BackupSchedule",
		Name: "nightly", UID: "sched-uid", Controller: ptr.To(true)}}
	m := newMachine(t, sched, br)
	snap := m.succeed("cascaded")
	objects := m.bucketContents("liferay-backups")

	fail := true
	m.r.APIReader = failingReads{Client: m.client, get: &backupv1alpha1.BackupSchedule{}, fail: &fail}
	if err := m.client.Delete(m.ctx, sched); err != nil { // held by its finalizer
		t.Fatal(err)
	}
	if err := m.client.Delete(m.ctx, m.get("cascaded")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := m.reconcile("cascaded"); err == nil {
			t.Fatal("a failed read of the schedule must fail the pass, to be retried with backoff")
		}
	}
	assertKept(t, m, "cascaded", snap, objects)

	fail = false
	m.step("cascaded")
	if !sameContents(m.bucketContents("liferay-backups"), objects) || !contains(m.cloud.Snapshots(), snap) {
		t.Fatal("the retry removed the artefacts of a backup deleted with its schedule")
	}
	if err := m.client.Get(m.ctx, client.ObjectKeyFromObject(br), &backupv1alpha1.BackupRequest{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the retry must let the object go, got %v", err)
	}
}

// assertKept fails unless name still has its finalizer, its snapshot (unless snap is
// "") and exactly the objects of the backup bucket it had (unless objects is nil).
func assertKept(t *testing.T, m *machine, name, snap string, objects map[string][]byte) {
	t.Helper()
	if !controllerutil.ContainsFinalizer(m.get(name), CleanupFinalizer) {
		t.Fatal("the finalizer went while the data's fate was unknown")
	}
	if snap != "" && !contains(m.cloud.Snapshots(), snap) {
		t.Fatalf("snapshot %s deleted on an error", snap)
	}
	if objects != nil && !sameContents(m.bucketContents("liferay-backups"), objects) {
		t.Fatal("objects deleted on an error")
	}
}

// TestEveryDeletePathKeepsTheDataOnAReadError: expiry and deletion, each with one
// read failing (the backups or restores listed to decide, the schedule, the snapshot
// or the claim read before deleting, the inventory listing), fail the pass and keep
// every artefact; the retry, once the read works, removes them.
func TestEveryDeletePathKeepsTheDataOnAReadError(t *testing.T) {
	type injection struct {
		name string
		// guards is what the failed read decides on ("files", "snapshot" or "all"):
		// the other artefact, whose own checks passed, may go in the same pass.
		guards string
		inject func(m *machine, fail *bool)
	}
	injections := []injection{
		{"list of backups (newest kept)", "all", func(m *machine, fail *bool) {
			m.r.Client = failingReads{Client: m.client, list: &backupv1alpha1.BackupRequestList{}, fail: fail}
		}},
		{"list of restores reading the backup", "all", func(m *machine, fail *bool) {
			m.r.Client = failingReads{Client: m.client, list: &backupv1alpha1.RestoreRequestList{}, fail: fail}
		}},
		{"snapshot status", "snapshot", func(m *machine, fail *bool) {
			m.cloud.FailWith("GetDatabaseSnapshotStatus", provider.NewError(provider.KindTransient, "DescribeDBSnapshots", "x", errors.New("InternalFailure")))
		}},
		{"claim read", "files", func(m *machine, fail *bool) {
			m.cloud.FailWith("DownloadObject", provider.NewError(provider.KindThrottled, "GetObject", "x", errors.New("SlowDown")))
		}},
		{"inventory listing", "files", func(m *machine, fail *bool) {
			m.cloud.FailWith("ListObjects", provider.NewError(provider.KindTransient, "ListObjectsV2", "x", errors.New("InternalError")))
		}},
	}
	clear := func(m *machine, fail *bool) {
		*fail = false
		for _, op := range []string{"GetDatabaseSnapshotStatus", "DownloadObject", "ListObjects"} {
			m.cloud.FailWith(op, nil)
		}
	}
	for _, path := range []string{"expiry", "deletion"} {
		for _, in := range injections {
			if path == "deletion" && strings.HasPrefix(in.name, "list of backups") {
				continue // deletion does not keep the newest
			}
			t.Run(path+"/"+in.name, func(t *testing.T) {
				m := newMachine(t, request("old"), request("new"))
				m.r.Options.RetentionMinKept = 1
				snap := m.succeed("old")
				m.clock.Step(time.Hour)
				m.succeed("new")
				m.clock.Step(31 * 24 * time.Hour)
				objects := m.bucketContents("liferay-backups")
				if path == "deletion" {
					if err := m.client.Delete(m.ctx, m.get("old")); err != nil {
						t.Fatal(err)
					}
				}
				fail := true
				in.inject(m, &fail)
				if _, err := m.reconcile("old"); err == nil {
					t.Fatal("a failed read must fail the pass, to be retried with backoff")
				}
				switch in.guards {
				case "files":
					assertKept(t, m, "old", "", objects)
				case "snapshot":
					assertKept(t, m, "old", snap, nil)
				default:
					assertKept(t, m, "old", snap, objects)
				}
				if p := m.get("old").Status.Phase; p != backupv1alpha1.PhaseSucceeded {
					t.Fatalf("phase %s on an error", p)
				}

				clear(m, &fail)
				m.step("old")
				if contains(m.cloud.Snapshots(), snap) || m.objectsUnder("retail/prd/old/") != 0 {
					t.Fatal("the retry did not remove the artefacts")
				}
				if path == "expiry" {
					if p := m.get("old").Status.Phase; p != backupv1alpha1.PhaseExpired {
						t.Fatalf("phase %s after the retry", p)
					}
				} else if err := m.client.Get(m.ctx, client.ObjectKey{Namespace: "proj-retail-prd", Name: "old"}, &backupv1alpha1.BackupRequest{}); !apierrors.IsNotFound(err) {
					t.Fatalf("the retry must let the object go, got %v", err)
				}
			})
		}
	}
}

// failingListing is a provider whose ListObjects of a prefix matching fails while
// fail is set.
type failingListing struct {
	provider.Provider
	matches func(prefix string) bool
	fail    *bool
}

func (f failingListing) ListObjects(ctx context.Context, bucket, prefix string) ([]provider.ObjectMetadata, error) {
	if *f.fail && f.matches(prefix) {
		return nil, provider.NewError(provider.KindTransient, "ListObjectsV2", bucket+"/"+prefix, errors.New("InternalError"))
	}
	return f.Provider.ListObjects(ctx, bucket, prefix)
}

// TestSweepKeepsTheRepositoryOnAReadError: the sweep that follows an Incremental
// backup's expiry cannot list the repository's references: it removes nothing of the
// repository and fails the pass; the retry sweeps exactly the object no backup
// references any more.
func TestSweepKeepsTheRepositoryOnAReadError(t *testing.T) {
	incremental := func(s *backupv1alpha1.BackupRequestSpec) { s.DocumentLibrary.Mode = backupv1alpha1.ModeIncremental }
	m := newMachine(t, request("old", incremental), request("new", incremental))
	m.r.Options.RetentionMinKept = 1
	m.cloud.PutObject("liferay-retail-prd-dl", "document_library/99/only-in-old.pdf", []byte("old only"))
	m.succeed("old")
	m.cloud.DeleteObject("liferay-retail-prd-dl", "document_library/99/only-in-old.pdf")
	m.clock.Step(time.Hour)
	m.succeed("new")
	m.clock.Step(31 * 24 * time.Hour)

	objectsDir := repository.Prefix("retail", "prd") + repository.ObjectsDir
	stored := func() map[string][]byte {
		out := map[string][]byte{}
		for k, v := range m.bucketContents("liferay-backups") {
			if strings.HasPrefix(k, objectsDir) {
				out[k] = v
			}
		}
		return out
	}
	before := stored()
	fail := true
	providers := provider.NewRegistry()
	providers.Register("aws", failingListing{Provider: m.cloud, fail: &fail,
		matches: func(prefix string) bool { return strings.HasSuffix(prefix, repository.RefsDir) }})
	m.r.Providers = providers
	for range 2 {
		if _, err := m.reconcile("old"); err == nil {
			t.Fatal("a sweep that cannot read the references must fail the pass")
		}
	}
	if !sameContents(stored(), before) {
		t.Fatal("the repository lost objects while its references could not be read")
	}
	if p := m.get("old").Status.Phase; p == backupv1alpha1.PhaseExpired {
		t.Fatal("expired before the sweep finished")
	}

	fail = false
	for range 10 {
		if _, err := m.reconcile("old"); err != nil {
			t.Fatal(err)
		}
		if m.get("old").Status.Phase == backupv1alpha1.PhaseExpired {
			break
		}
	}
	if p := m.get("old").Status.Phase; p != backupv1alpha1.PhaseExpired {
		t.Fatalf("phase %s after the retry", p)
	}
	after := stored()
	if len(after) != len(before)-1 {
		t.Fatalf("the sweep left %d of %d stored objects, want exactly the one only old referenced gone", len(after), len(before))
	}
	for k, v := range after {
		if !bytes.Equal(before[k], v) {
			t.Fatalf("%s changed", k)
		}
	}
}

// TestMissingProviderKeepsTheArtefacts: a backup whose provider this manager no longer
// has (restarted with another configuration) keeps its snapshot, its objects and its
// finalizer when deleted, and says why; once the provider is back, the retry removes them.
func TestMissingProviderKeepsTheArtefacts(t *testing.T) {
	m := newMachine(t, request("orphaned"))
	snap := m.succeed("orphaned")
	objects := m.bucketContents("liferay-backups")

	m.r = m.newReconciler()
	m.r.Providers = provider.NewRegistry() // restarted without the aws provider
	if err := m.client.Delete(m.ctx, m.get("orphaned")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := m.reconcile("orphaned"); err == nil {
			t.Fatal("a deletion whose provider is missing must fail the pass, to be retried with backoff")
		}
	}
	assertKept(t, m, "orphaned", snap, objects)
	c := m.get("orphaned").Status.Condition(backupv1alpha1.ConditionArtifactsRemoved)
	if c == nil || c.Reason != string(backupv1alpha1.ReasonCleanupFailed) || !strings.Contains(c.Message, `spec.provider "aws"`) {
		t.Fatalf("ArtifactsRemoved must say CleanupFailed naming spec.provider, got %+v", c)
	}

	m.r = m.newReconciler()
	m.step("orphaned")
	if contains(m.cloud.Snapshots(), snap) || len(m.bucketContents("liferay-backups")) != 0 {
		t.Fatalf("the retry with the provider back must remove the artefacts; left %v", m.bucketContents("liferay-backups"))
	}
}
