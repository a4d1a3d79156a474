package controller

// The step kernel every reconciler's pass runs on: ordered steps that each own their
// condition, and the failure verdicts their errors are sorted into for a failure funnel.

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/admission"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// runSteps runs the steps of a pass in order until one is not finished or fails, and
// returns that step's result (stepDone when every step is finished). The backup,
// restore and schedule reconcilers share it.
func runSteps[S any](ctx context.Context, s S, steps []func(context.Context, S) (stepResult, error)) (stepResult, error) {
	for _, step := range steps {
		res, err := step(ctx, s)
		if err != nil || !res.done {
			return res, err
		}
	}
	return stepDone, nil
}

// requeueFor is the result of a pass whose steps stopped at res: a step that is not
// finished is looked at again after its requeueAfter, at low priority.
func requeueFor(res stepResult) ctrl.Result {
	if res.done {
		return ctrl.Result{}
	}
	return admission.Recheck(res.requeueAfter)
}

// stepResult says whether a step is finished, and if not when to check again
// (zero: a watch or the copy job will wake the request).
type stepResult struct {
	done         bool
	requeueAfter time.Duration
}

var stepDone = stepResult{done: true}

// failure is a verdict that the backup cannot succeed, with the reason to show: a
// refusal before the first write or a step's permanent failure. Every path that ends
// a backup in Failed returns one (or a permanent provider error) to handleStepError.
type failure struct {
	reason  backupv1alpha1.Reason
	message string
}

func (f *failure) Error() string { return string(f.reason) + ": " + f.message }

// failWith is a failure as an error.
func failWith(reason backupv1alpha1.Reason, format string, args ...any) error {
	return &failure{reason: reason, message: fmt.Sprintf(format, args...)}
}

// failureFunnel is the one way a pass's error ends: a failure verdict (see verdictOf)
// ends the request through fail, the kind's own phase and announcements; anything
// else is returned for the workqueue's backoff. describe words a permanent provider
// error for the kind's users.
func failureFunnel(ctx context.Context, err error, describe func(error) string, fail func(*failure) error) (ctrl.Result, error) {
	f, retry := verdictOf(ctx, err, describe)
	if f == nil {
		return ctrl.Result{}, retry
	}
	return ctrl.Result{}, fail(f)
}

// verdictOf sorts a step's error for a failure funnel: a failure verdict, or a
// permanent provider error (described by describe), ends the request and is returned
// as f; the object being gone is nothing to do (both nil); anything else is returned
// as retry, for the workqueue's backoff.
func verdictOf(ctx context.Context, err error, describe func(error) string) (f *failure, retry error) {
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if errors.As(err, &f) {
		return f, nil
	}
	if provider.IsPermanent(err) {
		ctrl.LoggerFrom(ctx).Info("permanent provider error", "error", err.Error())
		return &failure{reason: reasonForProviderError(err), message: describe(err)}, nil
	}
	ctrl.LoggerFrom(ctx).Info("transient error, retrying with backoff", "error", err.Error())
	return nil, err
}

// reasonForProviderError maps a provider error kind to a condition reason.
func reasonForProviderError(err error) backupv1alpha1.Reason {
	switch provider.KindOf(err) {
	case provider.KindNotFound:
		return backupv1alpha1.ReasonNotFound
	case provider.KindAccessDenied:
		return backupv1alpha1.ReasonAccessDenied
	case provider.KindConflict:
		return backupv1alpha1.ReasonConflict
	case provider.KindInvalidInput:
		return backupv1alpha1.ReasonInvalidInput
	case provider.KindNotSupported:
		return backupv1alpha1.ReasonProviderNotSupported
	case provider.KindQuotaExceeded:
		return backupv1alpha1.ReasonQuotaExceeded
	}
	return backupv1alpha1.ReasonTransientError
}
