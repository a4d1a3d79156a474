package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// pass is what every reconciler's scope shares: the object as last read or written
// (base, which the status patch is computed against) and the effects (events,
// metrics, slot releases) queued until the pass's status is stored, so nothing is
// announced that was not stored.
type pass[O client.Object] struct {
	base    O
	effects []func()
	// statusOf picks the object's status, which close compares with base's to skip
	// a write that would change nothing, and storeStatus rebases after a conflict.
	statusOf func(O) any
}

func newPass[O client.Object](obj O, statusOf func(O) any) pass[O] {
	return pass[O]{base: obj.DeepCopyObject().(O), statusOf: statusOf}
}

// Each kind's status, for newPass: a pointer, which storeStatus also writes through
// when it rebases a pass's changes after a conflict.
func backupStatusOf(br *backupv1alpha1.BackupRequest) any   { return &br.Status }
func restoreStatusOf(rr *backupv1alpha1.RestoreRequest) any { return &rr.Status }
func scheduleStatusOf(s *backupv1alpha1.BackupSchedule) any { return &s.Status }

// after queues an effect to run once the pass's status is stored.
func (p *pass[O]) after(effect func()) { p.effects = append(p.effects, effect) }

// statusChanged says whether obj's status differs from the one last stored.
func (p *pass[O]) statusChanged(obj O) bool {
	return !equality.Semantic.DeepEqual(p.statusOf(p.base), p.statusOf(obj))
}

// storeIfChanged stores obj's status when the steps changed it, and then calls
// stored (the backup reconciler records its own writes there; nil for none).
func (p *pass[O]) storeIfChanged(ctx context.Context, store statusStore, obj O, stored func(O)) error {
	if !p.statusChanged(obj) {
		return nil
	}
	if err := p.storeStatus(ctx, store, obj); err != nil {
		return err
	}
	if stored != nil {
		stored(obj)
	}
	return nil
}

// close ends a pass: it stores the status the steps changed (see storeIfChanged),
// then runs the queued effects. A failed write keeps the effects, so nothing is
// announced that was not stored; the next pass repeats the steps, which are idempotent.
func (p *pass[O]) close(ctx context.Context, store statusStore, obj O, stored func(O)) error {
	if err := p.storeIfChanged(ctx, store, obj, stored); err != nil {
		return err
	}
	p.runEffects()
	return nil
}

// runEffects runs the queued effects, in order, once.
func (p *pass[O]) runEffects() {
	for _, effect := range p.effects {
		effect()
	}
	p.effects = nil
}
