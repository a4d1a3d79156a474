package controller

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// backupScope is what one pass over an InProgress backup works on (Cluster API's
// scope pattern): the request, its provider resolved once, and the pass's clock.
// Steps change the status in memory, each only its own condition; the pass stores
// the status in one write at its end (close), and only then records the steps'
// events and runs their other effects (metrics, slot release, archiving), so nothing
// is announced that was not stored.
type backupScope struct {
	br   *backupv1alpha1.BackupRequest
	prov provider.Provider
	now  time.Time
	pass[*backupv1alpha1.BackupRequest]
}

// newScope starts a pass over br.
func (r *BackupRequestReconciler) newScope(br *backupv1alpha1.BackupRequest, prov provider.Provider) *backupScope {
	br.Status.ObservedGeneration = br.Generation // conditions set in this pass carry it
	return &backupScope{br: br, prov: prov, now: r.Clock.Now(), pass: newPass(br)}
}

// status is the status the steps change.
func (s *backupScope) status() *backupv1alpha1.BackupRequestStatus { return &s.br.Status }

// close stores the status the steps changed, in one merge patch guarded by the
// resourceVersion, then runs the queued effects. A conflict (someone else wrote the
// object) fails the pass; the next pass starts from the stored object and repeats its
// steps, which are idempotent.
func (r *BackupRequestReconciler) close(ctx context.Context, s *backupScope) error {
	if !equality.Semantic.DeepEqual(s.base.Status, s.br.Status) {
		if err := s.storeStatus(ctx, r.Status(), s.br); err != nil {
			return err
		}
		r.writes.record(s.br)
	}
	s.runEffects()
	return nil
}
