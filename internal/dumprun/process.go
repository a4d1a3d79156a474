package dumprun

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// ProcessRunner runs the dumper as a child process of the manager, with the manager's
// environment (the store's configuration) plus the Task's, the Secret's keys read at
// start. The child dies with the manager (Pdeathsig on Linux): a restarted manager
// finds the run Missing and starts it again, as a Job runner would after a lost pod.
type ProcessRunner struct {
	// Reader reads the Secrets a Task's environment refers to.
	Reader client.Reader
	// Command is the dumper's executable and leading arguments, for example
	// ["/usr/local/bin/lc2-dump"]; the Task's Args follow.
	Command []string
	// StopGrace is how long a stopped dumper has to abort its upload before it is
	// killed; 0: 30 seconds.
	StopGrace time.Duration
	// Log receives the dumper's output, a line at a time (it never prints a secret).
	Log logr.Logger
	// Context is the manager's: when it ends, every running dumper is stopped as
	// Stop does (the dumper aborts its upload), so a manager that shuts down leaves
	// no dumper behind for the next one to race; nil: only the manager's death stops them.
	Context context.Context

	mu    sync.Mutex
	runs  map[string]*processRun
	ended chan event.GenericEvent
	once  sync.Once
}

type processRun struct {
	cmd     *exec.Cmd
	output  io.WriteCloser
	owner   client.Object
	done    chan struct{}
	outcome Outcome
}

func (p *ProcessRunner) init() {
	p.once.Do(func() {
		p.runs = map[string]*processRun{}
		p.ended = make(chan event.GenericEvent, 64)
	})
}

// Source wakes a run's owner when its process exits.
func (p *ProcessRunner) Source() source.TypedSource[reconcile.Request] {
	p.init()
	return source.Channel(p.ended, &handler.EnqueueRequestForObject{})
}

// Start starts the dumper for t unless a run of t.Name exists.
func (p *ProcessRunner) Start(ctx context.Context, t Task) error {
	p.init()
	if len(p.Command) == 0 {
		return &NotConfiguredError{What: "no dumper command (--dumper-command, DUMPER_COMMAND)"}
	}
	env, err := resolveEnv(ctx, p.Reader, t.Owner.GetNamespace(), t.Env)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.runs[t.Name]; ok {
		return nil
	}
	cmd := exec.Command(p.Command[0], append(append([]string{}, p.Command[1:]...), t.Args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = childAttributes()
	output := lineLogger(p.Log.WithValues("dump", t.Name))
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		_ = output.Close()
		return fmt.Errorf("start dumper %s: %w", p.Command[0], err)
	}
	run := &processRun{cmd: cmd, output: output, owner: t.Owner.DeepCopyObject().(client.Object), done: make(chan struct{}), outcome: Outcome{State: StateRunning}}
	p.runs[t.Name] = run
	go p.wait(run, t.Deadline)
	if p.Context != nil {
		go func() {
			select {
			case <-run.done:
			case <-p.Context.Done():
				p.terminate(run)
			}
		}()
	}
	return nil
}

// wait records how the process ended and wakes its owner; a deadline kills it.
func (p *ProcessRunner) wait(run *processRun, deadline time.Duration) {
	if deadline > 0 {
		timer := time.AfterFunc(deadline, func() { _ = run.cmd.Process.Kill() })
		defer timer.Stop()
	}
	err := run.cmd.Wait()
	_ = run.output.Close()
	outcome := Outcome{State: StateSucceeded}
	if err != nil {
		outcome = Outcome{State: StateFailed, ExitCode: -1, Message: err.Error()}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			outcome.ExitCode = exit.ExitCode()
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				outcome.Message = "killed by signal " + ws.Signal().String()
			} else {
				outcome.Message = fmt.Sprintf("exited with code %d", outcome.ExitCode)
			}
		}
	}
	p.mu.Lock()
	run.outcome = outcome
	p.mu.Unlock()
	close(run.done)
	p.ended <- event.GenericEvent{Object: run.owner}
}

// Outcome reports how the run of t stands.
func (p *ProcessRunner) Outcome(_ context.Context, t Task) (Outcome, error) {
	p.init()
	p.mu.Lock()
	defer p.mu.Unlock()
	run, ok := p.runs[t.Name]
	if !ok {
		return Outcome{State: StateMissing}, nil
	}
	return run.outcome, nil
}

// Stop asks the run of t to end (SIGTERM: the dumper aborts its upload), kills it
// after StopGrace, and forgets it once it has ended.
func (p *ProcessRunner) Stop(_ context.Context, t Task) error {
	p.init()
	p.mu.Lock()
	run, ok := p.runs[t.Name]
	if ok && run.owner.GetUID() != t.Owner.GetUID() {
		p.mu.Unlock()
		return fmt.Errorf("stop dumper %s: it belongs to another object", t.Name)
	}
	delete(p.runs, t.Name)
	p.mu.Unlock()
	if !ok {
		return nil
	}
	select {
	case <-run.done:
		return nil
	default:
	}
	p.terminate(run)
	return nil
}

// terminate asks run's dumper to end (SIGTERM: it aborts its upload) and kills it if
// it has not ended after StopGrace.
func (p *ProcessRunner) terminate(run *processRun) {
	_ = run.cmd.Process.Signal(syscall.SIGTERM)
	grace := p.StopGrace
	if grace == 0 {
		grace = 30 * time.Second
	}
	go func() {
		select {
		case <-run.done:
		case <-time.After(grace):
			_ = run.cmd.Process.Kill()
		}
	}()
}

// resolveEnv turns env into KEY=value pairs, reading each ValueFrom.SecretKeyRef from
// its Secret in namespace. A missing Secret or key names them, never a value.
func resolveEnv(ctx context.Context, reader client.Reader, namespace string, env []corev1.EnvVar) ([]string, error) {
	secrets := map[string]*corev1.Secret{}
	out := make([]string, 0, len(env))
	for _, e := range env {
		ref := secretKeyRef(e)
		if ref == nil {
			out = append(out, e.Name+"="+e.Value)
			continue
		}
		secret, ok := secrets[ref.Name]
		if !ok {
			secret = &corev1.Secret{}
			if err := reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, secret); err != nil {
				return nil, fmt.Errorf("read Secret %s/%s for the dumper: %w", namespace, ref.Name, err)
			}
			secrets[ref.Name] = secret
		}
		value, found := secret.Data[ref.Key]
		if !found {
			if ref.Optional != nil && *ref.Optional {
				continue
			}
			return nil, fmt.Errorf("secret %s/%s has no key %q", namespace, ref.Name, ref.Key)
		}
		out = append(out, e.Name+"="+string(value))
	}
	return out, nil
}

func secretKeyRef(e corev1.EnvVar) *corev1.SecretKeySelector {
	if e.ValueFrom == nil {
		return nil
	}
	return e.ValueFrom.SecretKeyRef
}

// lineLogger logs what the dumper writes, a line at a time, until it is closed.
func lineLogger(log logr.Logger) io.WriteCloser {
	r, w := io.Pipe()
	go func() {
		scanner := bufio.NewScanner(r)
		scanner.Buffer(make([]byte, 64<<10), 1<<20)
		for scanner.Scan() {
			log.Info(scanner.Text())
		}
		_ = r.CloseWithError(scanner.Err())
	}()
	return w
}
