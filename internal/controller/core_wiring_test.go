package controller

import (
	"context"
	"strings"
	"testing"

	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/dumprun"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// TestSetupRefusesMissingDependencies: each controller's SetupWithManager refuses a
// reconciler missing any required dependency, naming it, before it touches the
// manager (nil here), and validate accepts a reconciler that has them all.
func TestSetupRefusesMissingDependencies(t *testing.T) {
	c := fakeclient.NewClientBuilder().Build()
	recorder := events.NewFakeRecorder(1)
	providers := provider.NewRegistry()
	clk := clock.RealClock{}
	slots := NewSlots(Options{}, c, clk)

	type controllerCase struct {
		name string
		// build returns a complete reconciler with the field named drop left out, its
		// validate and its SetupWithManager.
		build  func(drop string) (validate func() error, setup func() error)
		fields []string
	}
	cases := []controllerCase{
		{
			name:   "backuprequest",
			fields: []string{"Client", "Recorder", "Providers", "Slots", "Dumps", "Clock"},
			build: func(drop string) (func() error, func() error) {
				r := &BackupRequestReconciler{Client: c, Recorder: recorder, Providers: providers, Slots: slots, Dumps: &dumprun.ProcessRunner{}, Clock: clk}
				switch drop {
				case "Dumps":
					r.Dumps = nil
				case "Client":
					r.Client = nil
				case "Recorder":
					r.Recorder = nil
				case "Providers":
					r.Providers = nil
				case "Slots":
					r.Slots = nil
				case "Clock":
					r.Clock = nil
				}
				return r.validate, func() error { return r.SetupWithManager(context.Background(), nil) }
			},
		},
		{
			name:   "restorerequest",
			fields: []string{"Client", "Recorder", "Providers", "Slots", "Dumps", "Clock"},
			build: func(drop string) (func() error, func() error) {
				r := &RestoreRequestReconciler{Client: c, Recorder: recorder, Providers: providers, Slots: slots, Dumps: &dumprun.ProcessRunner{}, Clock: clk}
				switch drop {
				case "Dumps":
					r.Dumps = nil
				case "Client":
					r.Client = nil
				case "Recorder":
					r.Recorder = nil
				case "Providers":
					r.Providers = nil
				case "Slots":
					r.Slots = nil
				case "Clock":
					r.Clock = nil
				}
				return r.validate, func() error { return r.SetupWithManager(context.Background(), nil) }
			},
		},
		{
			name:   "backupschedule",
			fields: []string{"Client", "Recorder", "Clock"},
			build: func(drop string) (func() error, func() error) {
				r := &BackupScheduleReconciler{Client: c, Recorder: recorder, Clock: clk}
				switch drop {
				case "Client":
					r.Client = nil
				case "Recorder":
					r.Recorder = nil
				case "Clock":
					r.Clock = nil
				}
				return r.validate, func() error { return r.SetupWithManager(nil) }
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if validate, _ := tc.build(""); validate() != nil {
				t.Fatalf("complete reconciler refused: %v", validate())
			}
			for _, field := range tc.fields {
				_, setup := tc.build(field)
				err := setup()
				want := tc.name + " controller: " + field + " is required"
				if err == nil || err.Error() != want {
					t.Errorf("without %s: SetupWithManager returned %v, want %q", field, err, want)
				}
			}
		})
	}
}

// TestRequireDependenciesNamesEveryMissingField: several missing fields are all named.
func TestRequireDependenciesNamesEveryMissingField(t *testing.T) {
	err := (&BackupRequestReconciler{}).validate()
	if err == nil {
		t.Fatal("empty reconciler accepted")
	}
	for _, field := range []string{"Client", "Recorder", "Providers", "Slots", "Clock"} {
		if !strings.Contains(err.Error(), "backuprequest controller: "+field+" is required") {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
}

// recordingIndexer records the indexes registered with it and, like the manager's
// cache, refuses the same index twice.
type recordingIndexer map[string]bool

func (ri recordingIndexer) IndexField(_ context.Context, obj client.Object, field string, _ client.IndexerFunc) error {
	key := kindName(obj) + "/" + field
	if ri[key] {
		return &indexerConflict{key}
	}
	ri[key] = true
	return nil
}

type indexerConflict struct{ key string }

func (e *indexerConflict) Error() string { return "indexer conflict: " + e.key }

func kindName(obj client.Object) string {
	switch obj.(type) {
	case *backupv1alpha1.BackupRequest:
		return "BackupRequest"
	case *backupv1alpha1.RestoreRequest:
		return "RestoreRequest"
	}
	return "other"
}

// TestRegisterIndexes: every index either controller reads is registered, once, on
// its kind.
func TestRegisterIndexes(t *testing.T) {
	ri := recordingIndexer{}
	if err := RegisterIndexes(context.Background(), ri); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"BackupRequest/" + projectIndex, "BackupRequest/" + destinationIndex, "BackupRequest/" + manifestIndex,
		"RestoreRequest/" + restoreSourceBackupIndex, "RestoreRequest/" + restoreSourceRequestIndex, "RestoreRequest/" + restoreSourceManifestIndex,
	}
	for _, key := range want {
		if !ri[key] {
			t.Errorf("index %s not registered (registered: %v)", key, ri)
		}
	}
	if len(ri) != len(want) {
		t.Errorf("registered %d indexes, want %d: %v", len(ri), len(want), ri)
	}

}
