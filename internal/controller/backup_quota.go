package controller

import (
	"context"
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/admission"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// A backup the cloud refuses for an account quota (RDS SnapshotQuotaExceeded, and
// InstanceQuotaExceeded for the throw-away instance of a dump of a snapshot) is not
// failed: nothing is wrong with it, the account is full until someone deletes
// snapshots or raises the quota. It goes back to its project's queue (phase Pending,
// Ready reason WaitingForQuota) and gives its slot back, so the project's other
// backups and its restores run meanwhile; at its retry time it queues again at its
// creation's place, ahead of the requests created after it (admission.CandidateOf).
// The wait's whole state is in status.quotaWait, so a restarted controller goes on
// with the same backoff, and a deletion meets an ordinary Pending backup with a claim.
// The backup deadline still counts from the first start.

// waitForQuota puts br, refused for a quota with err, back in its queue until its
// next attempt, announcing the wait when it begins.
func (r *BackupRequestReconciler) waitForQuota(ctx context.Context, br *backupv1alpha1.BackupRequest, err error) (ctrl.Result, error) {
	quota := provider.QuotaOf(err)
	attempts := int32(1)
	if w := br.Status.QuotaWait; w.Waiting(quota) {
		attempts = w.Attempts + 1
	}
	now := r.Clock.Now()
	after := quotaRetryAfter(attempts, r.Options.QuotaRetryInitial, r.Options.QuotaRetryMax)
	if br.Status.StartTime != nil {
		// No retry after the deadline: the pass then fails the backup (reconcilePending).
		after = max(min(after, br.Status.StartTime.Add(r.Options.BackupDeadline).Sub(now)+time.Second), time.Second)
	}
	msg := fmt.Sprintf("waiting for the account's %s quota: %s; retrying in %s (attempt %d), without holding a slot of project %s meanwhile",
		quota, provider.Describe(err), manifest.HumanDuration(after), attempts, br.Spec.ProjectID)
	var started bool
	if err := r.patchStatus(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
		started = st.SetAsWaitingForQuota(quota, msg, now, now.Add(after))
	}); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// Only the slot's bookkeeping: nothing else runs while a backup creates its snapshot.
	r.slots.Release(ctx, br)
	ctrl.LoggerFrom(ctx).Info("backup waits for a quota", "quota", quota, "attempt", attempts, "retryAfter", after, "error", err.Error())
	if started {
		// Someone has to act (delete snapshots, raise the quota): a Warning, once per wait.
		r.recorder().warning(br, backupv1alpha1.ReasonWaitingForQuota, "WaitForQuota", "%s", msg)
		if r.Metrics != nil {
			r.Metrics.WaitingForQuota(br, quota)
		}
	}
	return admission.Recheck(after), nil
}

// quotaRetryAfter is the wait before attempt+1 of a call refused attempts times:
// initial, doubling at each refusal, at most maxWait.
func quotaRetryAfter(attempts int32, initial, maxWait time.Duration) time.Duration {
	after := initial
	for i := int32(1); i < attempts && after < maxWait; i++ {
		after *= 2
	}
	return min(after, maxWait)
}

// quotaWaitNote is what a message about br adds on its quota wait ("" without one).
func quotaWaitNote(br *backupv1alpha1.BackupRequest) string {
	w := br.Status.QuotaWait
	if w == nil || w.EndTime != nil {
		return ""
	}
	return fmt.Sprintf(" (it waited for the account's %s quota since %s, refused %d times)", w.Quota, w.Since.UTC().Format(time.RFC3339), w.Attempts)
}
