package controller

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// reconcileClaim is the first step: before the backup's first cloud write, every
// resource the spec names must belong to its project (checkOwnership) and the
// destination must be empty or already this backup's, inside no other backup
// (claimDestination); then the claim record is written. A refused request goes to the
// failure funnel having written nothing, so it has nothing to clean up and never
// expires. It owns the Claimed condition and status.claim.
func (r *BackupRequestReconciler) reconcileClaim(ctx context.Context, s *backupScope) (stepResult, error) {
	br, st := s.br, s.status()
	if st.IsConditionTrue(backupv1alpha1.ConditionClaimed) || startedBeforeClaims(st) {
		return stepDone, nil
	}
	if err := r.checkOwnership(ctx, br, s.prov); err != nil {
		return stepResult{}, err
	}
	claim, err := r.claimDestination(ctx, br, s.prov)
	if err != nil {
		return stepResult{}, err
	}
	if claim != nil {
		// Before the copy reads anything (an Incremental backup's repository).
		if err := r.strategyFor(br).register(ctx, s); err != nil {
			return stepResult{}, err
		}
	}
	st.Claim = claim
	if claim == nil {
		st.SetCondition(backupv1alpha1.ConditionClaimed, metav1.ConditionTrue, backupv1alpha1.ReasonNothingToClaim,
			"the resources belong to the project; the backup writes no object", s.now)
		return stepDone, nil
	}
	st.SetCondition(backupv1alpha1.ConditionClaimed, metav1.ConditionTrue, backupv1alpha1.ReasonClaimed,
		fmt.Sprintf("the resources belong to the project; s3://%s/%s is this backup's", claim.Bucket, claim.Prefix), s.now)
	return stepDone, nil
}

// startedBeforeClaims reports a backup started by a controller that did not claim
// destinations: it already went past where the claim would be.
func startedBeforeClaims(st *backupv1alpha1.BackupRequestStatus) bool {
	return st.Claim == nil && (st.Database != nil && st.Database.SnapshotID != "" ||
		st.Condition(backupv1alpha1.ConditionDocumentLibraryCopied) != nil)
}
