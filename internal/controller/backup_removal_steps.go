package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/admission"
)

// The steps an expiry and a deletion share: waiting for the restores that read the
// backup, then removing its artefacts. Each records its outcome in the
// ArtifactsRemoved condition of the pass's scope.

// waitForReaders stops the pass while non-terminal restores read the backup, recording
// why (once) in the ArtifactsRemoved condition and an event. A failed look-up is
// returned, never taken for "nobody reads it".
func (r *BackupRequestReconciler) waitForReaders(ctx context.Context, s *retentionScope) (stepResult, error) {
	readers, err := r.restoresReading(ctx, s.br)
	if err != nil || len(readers) == 0 {
		return stepDone, err
	}
	// Woken when the restore ends (restoreEndedHandler); the recheck is a safety net.
	wait := s.stop(admission.Recheck(r.Options.RetentionCheckInterval))
	msg := fmt.Sprintf("%s waits: RestoreRequest %s reads this backup; it goes on when the restore ends", s.action, strings.Join(readers, ", "))
	c := s.br.Status.Condition(backupv1alpha1.ConditionArtifactsRemoved)
	if c != nil && c.Reason == string(backupv1alpha1.ReasonInUseByRestore) && c.Message == msg {
		return wait, nil
	}
	s.setArtifactsRemoved(metav1.ConditionFalse, backupv1alpha1.ReasonInUseByRestore, msg)
	s.after(func() {
		ctrl.LoggerFrom(ctx).Info("artefacts kept while restores read them", "restores", readers)
		r.recorder().normal(s.br, backupv1alpha1.ReasonInUseByRestore, s.action, "%s", msg)
	})
	return wait, nil
}

// removeArtifacts deletes what the backup provably wrote (all idempotent) unless the
// retain policy is set: its snapshot when the snapshot's tags name this backup, and
// under its claimed destination only the objects its inventories list plus its own
// inventory, manifest and claim. What it did is s.removed; recordRemoval shows the
// outcome.
func (r *BackupRequestReconciler) removeArtifacts(ctx context.Context, s *retentionScope) (stepResult, error) {
	br := s.br
	if retained(br) {
		s.removed = "artefacts kept (deletion-policy: retain)"
		return stepDone, nil
	}
	if !br.Status.HasArtifacts() {
		s.removed = "nothing to remove"
		return stepDone, nil
	}
	var done []string
	var errs []error
	prov, err := r.Providers.Get(string(br.Spec.Provider))
	if err != nil {
		// The backup wrote artefacts through a provider this manager no longer has
		// (a changed configuration): keep them and retry, never read it as "nothing".
		errs = append(errs, fmt.Errorf("spec.provider %q: no such provider in this manager, so the artefacts are kept: %w", br.Spec.Provider, err))
	} else {
		done, errs = r.removeEach(ctx, br, prov)
	}
	return r.recordRemoval(s, done, errs)
}

// recordRemoval records the outcome of a removal in the ArtifactsRemoved condition: a
// pending sweep (the pass looks again when the sweep may go on), a failure (a Warning
// event, a metric, and the error so the workqueue retries with backoff; nothing after
// it runs) or the summary of what was removed.
func (r *BackupRequestReconciler) recordRemoval(s *retentionScope, done []string, errs []error) (stepResult, error) {
	err := errors.Join(errs...)
	if pending, ok := isSweepPending(err); ok && len(errs) == 1 {
		s.setArtifactsRemoved(metav1.ConditionFalse, backupv1alpha1.ReasonSweeping, pending.why)
		return s.stop(admission.Recheck(pending.after)), nil
	}
	if err != nil {
		s.setArtifactsRemoved(metav1.ConditionFalse, backupv1alpha1.ReasonCleanupFailed, err.Error())
		s.after(func() {
			if r.Metrics != nil {
				r.Metrics.RetentionFailed(s.br)
			}
			r.recorder().warning(s.br, backupv1alpha1.ReasonCleanupFailed, "Cleanup", "Removing backup artefacts failed, will retry: %v", err)
		})
		if pending, ok := isSweepPending(err); ok {
			// A pending sweep beside another failure looks again when the sweep may go
			// on, as it always has, rather than after the workqueue's backoff.
			return s.stop(admission.Recheck(pending.after)), nil
		}
		return stepResult{}, fmt.Errorf("remove backup artefacts: %w", err)
	}
	s.removed = strings.Join(done, "; ")
	s.setArtifactsRemoved(metav1.ConditionTrue, backupv1alpha1.ReasonRemoved, s.removed)
	s.after(func() {
		if r.Metrics != nil {
			r.Metrics.RetentionDeleted(s.br)
		}
	})
	return stepDone, nil
}
