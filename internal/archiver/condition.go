package archiver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// Condition type and reasons set by the Archiver, as the API names them.
const (
	// ConditionArchived is True once the BackupRequest's current phase is
	// committed to the backup history.
	ConditionArchived = string(backupv1.ConditionArchived)
	// ReasonRecorded: the row is committed.
	ReasonRecorded = string(backupv1.ReasonRecorded)
	// ReasonInvalidRecord: the database refuses the record (Archived=False); the
	// message names the field.
	ReasonInvalidRecord = string(backupv1.ReasonInvalidRecord)
)

// recordedMessage is the Archived=True message; it names the phase so that a later
// phase (Succeeded, then Expired; Pending, then InProgress...) is archived again.
func recordedMessage(phase string) string {
	return fmt.Sprintf("phase %s recorded in backup history", phase)
}

// archivedIn reports whether conds say phase is committed to the backup history.
func archivedIn(conds []metav1.Condition, phase string) bool {
	c := meta.FindStatusCondition(conds, ConditionArchived)
	return c != nil && c.Status == metav1.ConditionTrue && c.Message == recordedMessage(phase)
}

// IsArchived reports whether br's current phase is committed to the backup
// history (condition Archived=True for this phase).
func IsArchived(br *backupv1.BackupRequest) bool {
	return archivedIn(br.Status.Conditions, string(br.Status.Phase))
}

// IsRestoreArchived reports whether rr's current phase is committed to the backup
// history (condition Archived=True for this phase).
func IsRestoreArchived(rr *backupv1.RestoreRequest) bool {
	return archivedIn(rr.Status.Conditions, string(rr.Status.Phase))
}

// isRejected reports whether archiving the current phase already failed for good.
func isRejected(conds []metav1.Condition, phase string) bool {
	c := meta.FindStatusCondition(conds, ConditionArchived)
	return c != nil && c.Status == metav1.ConditionFalse && c.Reason == ReasonInvalidRecord &&
		strings.HasPrefix(c.Message, fmt.Sprintf("phase %s ", phase))
}

// errSuperseded: the object changed phase or was replaced; its newer state is archived on its own.
var errSuperseded = errors.New("object changed since it was archived")

// fresh returns an empty object of key's kind, and accessors of its status.
func fresh(kind string) (obj client.Object, phase func() string, conds func() *[]metav1.Condition) {
	if kind == kindRestore {
		rr := &backupv1.RestoreRequest{}
		return rr, func() string { return string(rr.Status.Phase) }, func() *[]metav1.Condition { return &rr.Status.Conditions }
	}
	br := &backupv1.BackupRequest{}
	return br, func() string { return string(br.Status.Phase) }, func() *[]metav1.Condition { return &br.Status.Conditions }
}

// setCondition sets the Archived condition on the object uid (a BackupRequest or
// a RestoreRequest, as key says) with a status merge patch carrying the
// resourceVersion, retrying on conflict. It gives up with errSuperseded once the
// object is in another phase or was replaced.
func (a *Archiver) setCondition(ctx context.Context, key itemKey, uid types.UID, phase string, cond metav1.Condition) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, curPhase, conds := fresh(key.kind)
		if err := a.opts.APIReader.Get(ctx, key.NamespacedName, cur); err != nil {
			return err
		}
		if cur.GetUID() != uid || curPhase() != phase {
			return errSuperseded
		}
		if c := meta.FindStatusCondition(*conds(), cond.Type); c != nil &&
			c.Status == cond.Status && c.Reason == cond.Reason && c.Message == cond.Message {
			return nil
		}
		orig := cur.DeepCopyObject().(client.Object)
		cond.ObservedGeneration = cur.GetGeneration()
		meta.SetStatusCondition(conds(), cond)
		return a.opts.Client.Status().Patch(ctx, cur, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	})
}
