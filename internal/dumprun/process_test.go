package dumprun

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// owner stands for the BackupRequest a run belongs to (any object will do here).
func owner(uid string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "proj-retail-prd", Name: "prd-1", UID: types.UID(uid)}}
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dumper.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func newRunner(t *testing.T, command string, objs ...*corev1.Secret) *ProcessRunner {
	t.Helper()
	b := fake.NewClientBuilder()
	for _, o := range objs {
		b = b.WithObjects(o)
	}
	return &ProcessRunner{Reader: b.Build(), Command: []string{command}, StopGrace: 5 * time.Second, Log: logr.Discard()}
}

// ended waits for the runner to report a run's end (its Source's event).
func ended(t *testing.T, p *ProcessRunner) {
	t.Helper()
	select {
	case <-p.ended:
	case <-time.After(time.Minute):
		t.Fatal("the run did not end")
	}
}

func TestProcessRunnerPassesTheSecretAndReportsTheExit(t *testing.T) {
	out := filepath.Join(t.TempDir(), "env")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "proj-retail-prd", Name: "db"},
		Data: map[string][]byte{"password": []byte("s3cret"), "host": []byte("db.local")}}
	p := newRunner(t, script(t, `echo "$LC2_DB_PASSWORD $LC2_DB_HOST $LC2_DUMP_BUCKET ${LC2_DB_SSLMODE-unset} $1" > `+out+`; exit 3`), secret)
	ref := func(key string, optional bool) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: key, Optional: ptr.To(optional)}}
	}
	task := Task{Owner: owner("u1"), Name: "lc2-dump-u1", Args: []string{"backup"}, Env: []corev1.EnvVar{
		{Name: "LC2_DUMP_BUCKET", Value: "backups"},
		{Name: "LC2_DB_PASSWORD", ValueFrom: ref("password", false)},
		{Name: "LC2_DB_HOST", ValueFrom: ref("host", false)},
		{Name: "LC2_DB_SSLMODE", ValueFrom: ref("sslmode", true)},
	}}
	if got, _ := p.Outcome(context.Background(), task); got.State != StateMissing {
		t.Fatalf("before start: %+v", got)
	}
	if err := p.Start(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background(), task); err != nil {
		t.Fatalf("a second start of the same run: %v", err)
	}
	ended(t, p)
	got, err := p.Outcome(context.Background(), task)
	if err != nil || got.State != StateFailed || got.ExitCode != 3 || !strings.Contains(got.Message, "code 3") {
		t.Fatalf("outcome %+v, %v; want Failed with exit code 3", got, err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "s3cret db.local backups unset backup\n" {
		t.Fatalf("the dumper saw %q", data)
	}
	select {
	case e := <-p.ended:
		t.Fatalf("one run woke its owner twice: %v", e)
	default:
	}
}

func TestProcessRunnerNamesAMissingSecretKeyAndStartsNothing(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "proj-retail-prd", Name: "db"}, Data: map[string][]byte{"host": []byte("h")}}
	p := newRunner(t, script(t, "touch "+marker), secret)
	task := Task{Owner: owner("u2"), Name: "lc2-dump-u2", Env: []corev1.EnvVar{{Name: "LC2_DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}}}}
	err := p.Start(context.Background(), task)
	if err == nil || !strings.Contains(err.Error(), `secret proj-retail-prd/db has no key "password"`) {
		t.Fatalf("start: %v", err)
	}
	if _, statErr := os.Stat(marker); !os.IsNotExist(statErr) {
		t.Fatal("the dumper ran")
	}
	if got, _ := p.Outcome(context.Background(), task); got.State != StateMissing {
		t.Fatalf("outcome %+v, want Missing", got)
	}
}

func TestProcessRunnerStopsOnlyItsOwnersRunAndTerminatesIt(t *testing.T) {
	started := filepath.Join(t.TempDir(), "started")
	// The dumper traps SIGTERM like lc2-dump does (it aborts its upload) and exits 143.
	p := newRunner(t, script(t, `trap 'exit 143' TERM; touch `+started+`; while :; do sleep 0.05; done`))
	task := Task{Owner: owner("u3"), Name: "lc2-dump-u3"}
	if err := p.Start(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	waitFor(t, started)
	foreign := task
	foreign.Owner = owner("someone-else")
	if err := p.Stop(context.Background(), foreign); err == nil || !strings.Contains(err.Error(), "belongs to another object") {
		t.Fatalf("stop by another owner: %v", err)
	}
	if got, _ := p.Outcome(context.Background(), task); got.State != StateRunning {
		t.Fatalf("outcome after a refused stop: %+v", got)
	}
	if err := p.Stop(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	ended(t, p)
	if got, _ := p.Outcome(context.Background(), task); got.State != StateMissing {
		t.Fatalf("a stopped run is forgotten: %+v", got)
	}
	if err := p.Stop(context.Background(), task); err != nil {
		t.Fatalf("stopping a missing run: %v", err)
	}
}

func TestProcessRunnerStopsItsRunsWhenTheManagerShutsDown(t *testing.T) {
	started := filepath.Join(t.TempDir(), "started")
	p := newRunner(t, script(t, `trap 'exit 143' TERM; touch `+started+`; while :; do sleep 0.05; done`))
	ctx, cancel := context.WithCancel(context.Background())
	p.Context = ctx
	task := Task{Owner: owner("u4"), Name: "lc2-dump-u4"}
	if err := p.Start(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	waitFor(t, started)
	cancel()
	ended(t, p)
	got, _ := p.Outcome(context.Background(), task)
	if got.State != StateFailed || got.ExitCode != 143 {
		t.Fatalf("outcome %+v, want Failed with the dumper's exit on SIGTERM", got)
	}
}

func TestProcessRunnerWithoutACommandIsNotConfigured(t *testing.T) {
	p := &ProcessRunner{Reader: fake.NewClientBuilder().Build()}
	err := p.Start(context.Background(), Task{Owner: owner("u5"), Name: "x"})
	if _, ok := err.(*NotConfiguredError); !ok {
		t.Fatalf("start without a command: %v", err)
	}
}

// waitFor waits until path exists (the script reached that point).
func waitFor(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
