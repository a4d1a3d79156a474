package archiver

import (
	"context"
	"errors"
	"fmt"

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

// recordedMessage is the Archived=True message users read; the archiver never reads
// it back: status.archivedPhase says which phase the condition is about.
func recordedMessage(phase string) string {
	return fmt.Sprintf("phase %s recorded in backup history", phase)
}

// archival is the part of a BackupRequest's or RestoreRequest's status that the
// archiver reads and writes: the phase, the archived phase and the conditions.
type archival struct {
	phase, archivedPhase func() string
	setArchivedPhase     func(phase string)
	conditions           *[]metav1.Condition
}

func archivalOf[P ~string](phase, archivedPhase *P, conds *[]metav1.Condition) archival {
	return archival{
		phase:            func() string { return string(*phase) },
		archivedPhase:    func() string { return string(*archivedPhase) },
		setArchivedPhase: func(p string) { *archivedPhase = P(p) },
		conditions:       conds,
	}
}

func backupArchival(br *backupv1.BackupRequest) archival {
	return archivalOf(&br.Status.Phase, &br.Status.ArchivedPhase, &br.Status.Conditions)
}

func restoreArchival(rr *backupv1.RestoreRequest) archival {
	return archivalOf(&rr.Status.Phase, &rr.Status.ArchivedPhase, &rr.Status.Conditions)
}

// concluded reports whether archiving the current phase ended with condition
// Archived at status and reason. An Archived condition about another phase (an
// earlier one, or one written before archivedPhase existed) concludes nothing.
func (s archival) concluded(status metav1.ConditionStatus, reason string) bool {
	phase := s.phase()
	if phase == "" || s.archivedPhase() != phase {
		return false
	}
	c := meta.FindStatusCondition(*s.conditions, ConditionArchived)
	return c != nil && c.Status == status && c.Reason == reason
}

// archived reports whether the current phase is committed to the backup history.
func (s archival) archived() bool { return s.concluded(metav1.ConditionTrue, ReasonRecorded) }

// rejected reports whether archiving the current phase already failed for good.
func (s archival) rejected() bool { return s.concluded(metav1.ConditionFalse, ReasonInvalidRecord) }

// IsArchived reports whether br's current phase is committed to the backup
// history (status.archivedPhase is the phase, condition Archived=True).
func IsArchived(br *backupv1.BackupRequest) bool { return backupArchival(br).archived() }

// IsRestoreArchived reports whether rr's current phase is committed to the backup
// history (status.archivedPhase is the phase, condition Archived=True).
func IsRestoreArchived(rr *backupv1.RestoreRequest) bool { return restoreArchival(rr).archived() }

// errSuperseded: the object changed phase or was replaced; its newer state is archived on its own.
var errSuperseded = errors.New("object changed since it was archived")

// fresh returns an empty object of key's kind, and its archival status.
func fresh(kind string) (client.Object, archival) {
	if kind == kindRestore {
		rr := &backupv1.RestoreRequest{}
		return rr, restoreArchival(rr)
	}
	br := &backupv1.BackupRequest{}
	return br, backupArchival(br)
}

// setCondition sets the Archived condition, and status.archivedPhase to phase, on
// the object uid (a BackupRequest or a RestoreRequest, as key says) in one status
// merge patch carrying the resourceVersion, retrying on conflict: readers never see
// the condition of one phase with the archived phase of another. It gives up with
// errSuperseded once the object is in another phase or was replaced.
//
// An object archived by a controller that predates archivedPhase has the condition
// but not the field: its phase is archived again, once. That is harmless: the
// history upserts are keyed by uid and leave an identical row untouched (a final
// restore row is never changed). The one write that is not a no-op is an Expired
// backup's deleted_at, stamped again with the time of this archival, as any retry
// after a failed condition write already does.
func (a *Archiver) setCondition(ctx context.Context, key itemKey, uid types.UID, phase string, cond metav1.Condition) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, st := fresh(key.kind)
		if err := a.opts.APIReader.Get(ctx, key.NamespacedName, cur); err != nil {
			return err
		}
		if cur.GetUID() != uid || st.phase() != phase {
			return errSuperseded
		}
		if c := meta.FindStatusCondition(*st.conditions, cond.Type); c != nil && st.archivedPhase() == phase &&
			c.Status == cond.Status && c.Reason == cond.Reason && c.Message == cond.Message {
			return nil
		}
		orig := cur.DeepCopyObject().(client.Object)
		cond.ObservedGeneration = cur.GetGeneration()
		meta.SetStatusCondition(st.conditions, cond)
		st.setArchivedPhase(phase)
		return a.opts.Client.Status().Patch(ctx, cur, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	})
}
