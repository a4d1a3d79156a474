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
// phase (Succeeded, then Expired) is archived again.
func recordedMessage(phase backupv1.BackupPhase) string {
	return fmt.Sprintf("phase %s recorded in backup history", phase)
}

// IsArchived reports whether br's current phase is committed to the backup
// history (condition Archived=True for this phase).
func IsArchived(br *backupv1.BackupRequest) bool {
	c := meta.FindStatusCondition(br.Status.Conditions, ConditionArchived)
	return c != nil && c.Status == metav1.ConditionTrue && c.Message == recordedMessage(br.Status.Phase)
}

// isRejected reports whether archiving br's current phase already failed for good.
func isRejected(br *backupv1.BackupRequest) bool {
	c := meta.FindStatusCondition(br.Status.Conditions, ConditionArchived)
	return c != nil && c.Status == metav1.ConditionFalse && c.Reason == ReasonInvalidRecord &&
		strings.HasPrefix(c.Message, fmt.Sprintf("phase %s ", br.Status.Phase))
}

// errSuperseded: the object changed phase or was replaced; its newer state is archived on its own.
var errSuperseded = errors.New("backup request changed since it was archived")

// setCondition sets the Archived condition on the BackupRequest uid with a status
// merge patch carrying the resourceVersion, retrying on conflict.
func (a *Archiver) setCondition(ctx context.Context, key types.NamespacedName, uid types.UID,
	phase backupv1.BackupPhase, cond metav1.Condition) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cur backupv1.BackupRequest
		if err := a.opts.APIReader.Get(ctx, key, &cur); err != nil {
			return err
		}
		if cur.UID != uid || cur.Status.Phase != phase {
			return errSuperseded
		}
		if c := meta.FindStatusCondition(cur.Status.Conditions, cond.Type); c != nil &&
			c.Status == cond.Status && c.Reason == cond.Reason && c.Message == cond.Message {
			return nil
		}
		orig := cur.DeepCopy()
		cond.ObservedGeneration = cur.Generation
		meta.SetStatusCondition(&cur.Status.Conditions, cond)
		return a.opts.Client.Status().Patch(ctx, &cur, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	})
}
