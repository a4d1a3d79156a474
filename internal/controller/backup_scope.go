package controller

import (
	"time"

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
	return &backupScope{br: br, prov: prov, now: r.Clock.Now(), pass: newPass(br, backupStatusOf)}
}

// status is the status the steps change.
func (s *backupScope) status() *backupv1alpha1.BackupRequestStatus { return &s.br.Status }
