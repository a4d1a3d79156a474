package archiver

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"

	backupv1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/database"
)

var (
	// ErrArchivalDisabled is returned by CompletedRestore on a nil Archiver: there
	// is no backup history to consult.
	ErrArchivalDisabled = errors.New("backup history disabled: archival is not configured")
	// ErrHistoryNotReady is returned by CompletedRestore until the Archiver has
	// brought the history schema up to date (PostgreSQL unreachable since start);
	// retry later.
	ErrHistoryNotReady = errors.New("backup history not ready: schema migration has not completed")
)

// CompletedRestore returns the most recent Succeeded restore (not a verifyOnly one)
// of k.BackupID into the same targets as k, other than k.ExcludeUID, or nil, nil
// when there is none. It looks at the restores waiting to be archived first, so a
// restore that finished a moment ago counts before its row is committed, then at
// the history database. It waits on the database: call it off the reconcile
// goroutine, with a deadline. On a nil Archiver it returns ErrArchivalDisabled.
func (a *Archiver) CompletedRestore(ctx context.Context, k database.RestoreKey) (*database.RestoreRecord, error) {
	if a == nil {
		return nil, ErrArchivalDisabled
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	if r := a.pendingCompletedRestore(k); r != nil {
		return r, nil
	}
	if !a.migrated.Load() {
		return nil, ErrHistoryNotReady
	}
	r, err := a.opts.Store.FindCompletedRestore(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("look up completed restores in backup history: %w", err)
	}
	return r, nil
}

// pendingCompletedRestore returns the record of a queued Succeeded restore matching k.
func (a *Archiver) pendingCompletedRestore(k database.RestoreKey) *database.RestoreRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, obj := range a.pending {
		rr, ok := obj.(*backupv1.RestoreRequest)
		if !ok || rr.Status.Phase != backupv1.RestorePhaseSucceeded || rr.Spec.VerifyOnly ||
			(k.ExcludeUID != "" && string(rr.UID) == k.ExcludeUID) {
			continue
		}
		got := RestoreKeyFor(rr)
		got.ExcludeUID = k.ExcludeUID
		if got == k {
			return RecordFromRestoreRequest(rr, a.opts.Clock.Now())
		}
	}
	return nil
}

// archiveRestore upserts rr's record and then sets its Archived condition. It
// returns true when the upsert should be retried with backoff.
func (a *Archiver) archiveRestore(ctx context.Context, key itemKey, rr *backupv1.RestoreRequest) bool {
	log := ctrl.LoggerFrom(ctx)
	rec := RecordFromRestoreRequest(rr, a.opts.Clock.Now())
	if rec.ProjectID == "" {
		// Not resolved (yet): the project is the namespace's.
		project, err := a.namespaceProject(ctx, rr.Namespace)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			a.metrics.failures.WithLabelValues(failureDatabase).Inc()
			log.Info("read the namespace's project for the restore record, will retry", "error", err.Error())
			return true
		}
		rec.ProjectID = project
	}
	if _, err := a.opts.Store.UpsertRestoreRecordChanged(ctx, rec); err != nil {
		return a.upsertFailed(ctx, key, rr.UID, string(rr.Status.Phase), "restore record", err)
	}
	cond := metav1.Condition{Type: ConditionArchived, Status: metav1.ConditionTrue, Reason: ReasonRecorded,
		Message: recordedMessage(string(rr.Status.Phase))}
	if err := a.setCondition(ctx, key, rr.UID, string(rr.Status.Phase), cond); err != nil {
		a.conditionFailed(ctx, err)
		return false
	}
	log.V(1).Info("restore archived")
	return false
}

// namespaceProject returns the project label of namespace ns ("" when the namespace
// is gone or has no valid one: the restore is refused for that reason).
func (a *Archiver) namespaceProject(ctx context.Context, ns string) (string, error) {
	var n corev1.Namespace
	if err := a.opts.Client.Get(ctx, types.NamespacedName{Name: ns}, &n); err != nil {
		if apierrors.IsNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("get namespace %s: %w", ns, err)
	}
	project := n.Labels[backupv1.ProjectLabel]
	if len(validation.IsDNS1123Label(project)) > 0 {
		return "", nil // not a project id; the restore is refused for it
	}
	return project, nil
}
