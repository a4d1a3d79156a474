package controller

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// pass is what every reconciler's scope shares: the object as last read or written
// (base, which the status patch is computed against) and the effects (events,
// metrics, slot releases) queued until the pass's status is stored, so nothing is
// announced that was not stored.
type pass[O client.Object] struct {
	base    O
	effects []func()
}

func newPass[O client.Object](obj O) pass[O] { return pass[O]{base: obj.DeepCopyObject().(O)} }

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

// runEffects runs the queued effects, in order, once.
func (p *pass[O]) runEffects() {
	for _, effect := range p.effects {
		effect()
	}
	p.effects = nil
}
