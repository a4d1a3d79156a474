// Package dumprun launches the dumper (cmd/lc2-dump) for a BackupRequest and reports
// how it ended. Two runners share everything but the launch: JobRunner runs it as a
// Kubernetes Job (production), ProcessRunner as the manager's own child process (the
// local environment, and the suites on envtest, which has no kubelet). Both take the
// same Task, whose Secret-sourced environment the Job gets through valueFrom and the
// process from the Secret read at start; the controller reads a dump's result from
// dump.json in the store, never from here.
package dumprun

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// Runner launches dumps and reports how they stand.
type Runner interface {
	// Start launches t unless a run of t.Name exists already (then it does nothing),
	// so a retried pass never starts a second dump.
	Start(ctx context.Context, t Task) error
	// Outcome reports how the run of t stands; a run this runner does not know (never
	// started, or lost with a restarted manager) is Missing.
	Outcome(ctx context.Context, t Task) (Outcome, error)
	// Stop ends the run of t if it runs (the dumper then aborts its upload) and forgets
	// it; a missing run counts as stopped. It never touches a run t.Owner does not own.
	Stop(ctx context.Context, t Task) error
	// Source wakes a run's owner when the run ends.
	Source() source.TypedSource[reconcile.Request]
}

// Task is one run of the dumper.
type Task struct {
	// Owner is the object the run belongs to (a BackupRequest): the Job's controller
	// owner, and the object woken when the run ends.
	Owner client.Object
	// Name names the run (the Job's name): unique per owner and attempt.
	Name string
	// Args are the dumper's arguments, for example ["backup"]. Never a secret.
	Args []string
	// Env is the dumper's environment: plain values, and Secret keys (of a Secret in
	// the owner's namespace) through ValueFrom.SecretKeyRef.
	Env []corev1.EnvVar
	// Deadline bounds the run (the Job's activeDeadlineSeconds); 0: none.
	Deadline time.Duration
	// PodLabels are added to the labels of the run's pod (a Job's): the store's
	// workload-identity opt-in, for example.
	PodLabels map[string]string
}

// State is how a run stands.
type State string

const (
	StateRunning   State = "Running"
	StateSucceeded State = "Succeeded"
	StateFailed    State = "Failed"
	StateMissing   State = "Missing"
)

// Outcome is how a run stands; ExitCode and Message describe a Failed one.
type Outcome struct {
	State    State
	ExitCode int
	Message  string
}

// NotConfiguredError is a runner that cannot launch any dump as configured (no image,
// no command): retrying does not help, so the backup fails saying what to set.
type NotConfiguredError struct{ What string }

func (e *NotConfiguredError) Error() string { return "the dump runner is not configured: " + e.What }

// Ended reports whether the run is over, either way.
func (o Outcome) Ended() bool { return o.State == StateSucceeded || o.State == StateFailed }
