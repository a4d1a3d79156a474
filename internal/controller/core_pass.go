package controller

import (
	"context"
	"fmt"

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
	// a write that would change nothing.
	statusOf func(O) any
}

func newPass[O client.Object](obj O, statusOf func(O) any) pass[O] {
	return pass[O]{base: obj.DeepCopyObject().(O), statusOf: statusOf}
}

// Each kind's status, for newPass.
func backupStatusOf(br *backupv1alpha1.BackupRequest) any   { return br.Status }
func restoreStatusOf(rr *backupv1alpha1.RestoreRequest) any { return rr.Status }
func scheduleStatusOf(s *backupv1alpha1.BackupSchedule) any { return s.Status }

// after queues an effect to run once the pass's status is stored.
func (p *pass[O]) after(effect func()) { p.effects = append(p.effects, effect) }

// storeStatus writes obj's status in one merge patch against base, guarded by the
// resourceVersion: a conflict (someone else wrote the object) fails the pass, and the
// next pass starts from the stored object and repeats its steps, which are idempotent.
func (p *pass[O]) storeStatus(ctx context.Context, w client.StatusWriter, obj O) error {
	if err := w.Patch(ctx, obj, client.MergeFromWithOptions(p.base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("patch status of %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	p.base = obj.DeepCopyObject().(O)
	return nil
}

// statusChanged says whether obj's status differs from the one last stored.
func (p *pass[O]) statusChanged(obj O) bool {
	return !equality.Semantic.DeepEqual(p.statusOf(p.base), p.statusOf(obj))
}

// storeIfChanged stores obj's status when the steps changed it, and then calls
// stored (the backup reconciler records its own writes there; nil for none).
func (p *pass[O]) storeIfChanged(ctx context.Context, w client.StatusWriter, obj O, stored func(O)) error {
	if !p.statusChanged(obj) {
		return nil
	}
	if err := p.storeStatus(ctx, w, obj); err != nil {
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
func (p *pass[O]) close(ctx context.Context, w client.StatusWriter, obj O, stored func(O)) error {
	if err := p.storeIfChanged(ctx, w, obj, stored); err != nil {
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
