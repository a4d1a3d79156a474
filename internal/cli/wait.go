package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

var (
	// errInterrupted: Ctrl-C while waiting.
	errInterrupted = errors.New("interrupted")
	// errWaitTimeout is the cause of a --timeout expiring.
	errWaitTimeout = errors.New("timed out")
)

// minWatchInterval spaces re-established watches that end at once (an API server
// closing every watch), so the plugin never spins.
const minWatchInterval = time.Second

// watchObject watches the object namespace/name of list's kind until step reports it
// done: step sees the object's current state first, then each change. A watch that
// ends (expired, connection closed) is established again and starts again from the
// current state. The object is never changed.
func (a *app) watchObject(ctx context.Context, list client.ObjectList, namespace, name string, step func(runtime.Object) (bool, error)) error {
	for {
		started := time.Now()
		w, err := a.cl.Watch(ctx, list, client.InNamespace(namespace), client.MatchingFields{"metadata.name": name})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("watch %s: %w", name, err)
		}
		done, err := drainWatch(ctx, w, name, step)
		w.Stop()
		if done || err != nil {
			return err
		}
		if wait := minWatchInterval - time.Since(started); wait > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
	}
}

// drainWatch feeds w's events to step until step is done, the watch ends (false,
// nil: watch again) or fails.
func drainWatch(ctx context.Context, w watch.Interface, name string, step func(runtime.Object) (bool, error)) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				if done, err := step(ev.Object); done || err != nil {
					return done, err
				}
			case watch.Deleted:
				return false, fmt.Errorf("%s was deleted while waiting", name)
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) || statusCode(err) == http.StatusGone {
					return false, nil
				}
				return false, fmt.Errorf("watch %s: %w", name, err)
			}
		}
	}
}

func statusCode(err error) int32 {
	var s apierrors.APIStatus
	if errors.As(err, &s) {
		return s.Status().Code
	}
	return 0
}

// waitContext applies --timeout (0: none) to ctx.
func waitContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, timeout, errWaitTimeout)
}

// waitError turns the end of a wait's context into the error the user sees.
func waitError(ctx context.Context, err error, what string, timeout time.Duration, last string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(context.Cause(ctx), errWaitTimeout):
		return fmt.Errorf("%s: still %s after --timeout %s; it continues in the cluster", what, last, timeout)
	case ctx.Err() != nil:
		return errInterrupted
	}
	return err
}

// progressPrinter shows a wait's observations: a redrawn line with a bar and a rate
// on a terminal, a plain line per change otherwise.
type progressPrinter struct {
	w        io.Writer
	terminal bool
	now      func() time.Time
	rate     rateMeter
	// last is the last plain line; drawn says a terminal line is open.
	last      string
	lastPhase string
	drawn     bool
}

func (p *progressPrinter) show(pr progress) {
	if !p.terminal {
		if line := pr.plainLine(); line != p.last {
			fprintln(p.w, line)
			p.last = line
		}
		return
	}
	if p.drawn && pr.phase != p.lastPhase {
		fprintln(p.w) // keep the previous phase's last line
	}
	fprint(p.w, "\r"+pr.barLine(p.rate.observe(pr.bytes, p.now()))+"\x1b[K")
	p.drawn, p.lastPhase = true, pr.phase
}

// finish ends an open terminal line.
func (p *progressPrinter) finish() {
	if p.drawn {
		fprintln(p.w)
		p.drawn = false
	}
}

// failingCondition is the condition that says why an object failed: the first False
// one other than Ready whose reason is not a progress reason, else Ready.
func failingCondition(conds []metav1.Condition) *metav1.Condition {
	var ready *metav1.Condition
	for i := range conds {
		c := &conds[i]
		if c.Status != "False" {
			continue
		}
		if c.Type == string(backupv1alpha1.ConditionReady) {
			ready = c
			continue
		}
		switch backupv1alpha1.Reason(c.Reason) {
		case backupv1alpha1.ReasonInProgress, backupv1alpha1.ReasonWaitingForSlot, backupv1alpha1.ReasonNotRequested:
			continue
		}
		return c
	}
	return ready
}

// waitFor is --wait for one object of a kind: it watches namespace/name, showing
// progressOf each version, until finished says it is done, then hands it to report.
// A watch that ends first (timeout, Ctrl-C, an error) is reported by waitError with
// the last phase seen.
func waitFor[T client.Object](ctx context.Context, a *app, list client.ObjectList, kind, namespace, name string, timeout time.Duration,
	progressOf func(T) progress, finished func(T) bool, report func(T) error) error {
	wctx, cancel := waitContext(ctx, timeout)
	defer cancel()
	pp := &progressPrinter{w: a.out(), terminal: a.terminal, now: a.now}
	var last T
	phase := "New"
	err := a.watchObject(wctx, list, namespace, name, func(obj runtime.Object) (bool, error) {
		o, ok := obj.(T)
		if !ok {
			return false, fmt.Errorf("watch %s %s: unexpected %T", kind, name, obj)
		}
		last = o
		p := progressOf(o)
		phase = p.phase
		pp.show(p)
		return finished(o), nil
	})
	pp.finish()
	if err != nil {
		return waitError(wctx, err, kind+" "+name, timeout, phase)
	}
	return report(last)
}
