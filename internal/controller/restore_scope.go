package controller

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// restoreScope is what one pass over an InProgress restore works on, like
// backupScope: the request, the provider, the project of its namespace, the pass's
// clock and the verified backup (loaded once per pass at most). Steps change the
// status in memory, each only its own condition; the pass stores it in one write at
// its end (the pass's close) and only then records the steps' events and other effects.
type restoreScope struct {
	rr   *backupv1alpha1.RestoreRequest
	prov provider.Provider
	// provName is prov's name: the store the dumper opens.
	provName backupv1alpha1.CloudProvider
	project  string
	now      time.Time
	pass[*backupv1alpha1.RestoreRequest]
	// src is the verified backup, set by the source step.
	src *loadedSource
}

func (r *RestoreRequestReconciler) newRestoreScope(rr *backupv1alpha1.RestoreRequest, prov provider.Provider, provName backupv1alpha1.CloudProvider, project string) *restoreScope {
	rr.Status.ObservedGeneration = rr.Generation
	return &restoreScope{rr: rr, prov: prov, provName: provName, project: project, now: r.Clock.Now(), pass: newPass(rr, restoreStatusOf)}
}

func (s *restoreScope) status() *backupv1alpha1.RestoreRequestStatus { return &s.rr.Status }

// patchStatus is writeStatus for a RestoreRequest's status, for the writes
// outside a pass; mutate's conditions carry the generation.
func (r *RestoreRequestReconciler) patchStatus(ctx context.Context, rr *backupv1alpha1.RestoreRequest, mutate func(*backupv1alpha1.RestoreRequestStatus)) error {
	if err := writeStatus(ctx, storeOf(r, r.APIReader), rr, restoreStatusOf, func(rr *backupv1alpha1.RestoreRequest) {
		rr.Status.ObservedGeneration = rr.Generation
		mutate(&rr.Status)
	}); err != nil {
		return err
	}
	r.writes.record(rr)
	return nil
}

func metav1Now(c clock.PassiveClock) metav1.Time { return metav1.NewTime(c.Now()) }
