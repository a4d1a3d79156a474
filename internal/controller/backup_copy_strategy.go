package controller

import (
	"context"
	"time"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/copyjob"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// copyStrategy is what one mode of document-library backup does differently: where
// its copy stores the objects, what it must hold while it reads them, what it records
// in status and the manifest, and what removing the backup removes. The copy step,
// the manifest step and retention ask it instead of testing the mode, so a mode is
// decided once, by strategyFor.
type copyStrategy interface {
	// checkSpec refuses, from the spec alone, a source this mode would read its own
	// output from, beyond the destination overlap every mode refuses.
	checkSpec() error
	// register records the backup wherever its mode needs it before the copy reads
	// anything; it runs once, right after the claim.
	register(ctx context.Context, s *backupScope) error
	// reserve takes what the copy must hold while it runs. waiting is why the copy
	// cannot start yet ("" when it may).
	reserve(ctx context.Context) (waiting string, err error)
	// release gives back what reserve took, once the copy is over.
	release(ctx context.Context) error
	// target is the key prefix in the destination bucket the copy stores objects under.
	target() string
	// copy stores the source's objects, recording each in the run's inventory, and
	// fills result's copy and reference counts. excluded counts the objects the
	// exclusions left out before the provider's copy saw them.
	copy(ctx context.Context, run copyRun, result *copyjob.Result) (excluded int64, err error)
	// describeCopy records the mode and its location in st and says what the finished
	// copy stored, for the DocumentLibraryCopied condition.
	describeCopy(st *backupv1alpha1.DocumentLibraryBackupStatus, result *copyjob.Result) string
	// describeManifest adds what this mode records to the manifest's documentLibrary.
	describeManifest(info *manifest.DocumentLibraryInfo, st *backupv1alpha1.DocumentLibraryBackupStatus)
	// removeArtifacts removes what the backup stored: under its claim, and for its
	// mode, wherever else.
	removeArtifacts(ctx context.Context, prov provider.Provider, claim *backupv1alpha1.ClaimStatus) (string, error)
	// ownsListedObjects reports whether the objects an inventory part lists are the
	// backup's own, to delete with it, rather than shared with other backups.
	ownsListedObjects() bool
	// removedSummary says what removing the claimed destination where removed.
	removedSummary(where string, removed int) string
}

// copyRun is what one copy run hands its strategy.
type copyRun struct {
	prov provider.Provider
	// prefix is the backup's claimed destination prefix in the destination bucket.
	prefix string
	// asOf is the source's point in time (nil: the live bucket).
	asOf     *time.Time
	excluder *provider.Excluder
	record   func(inventory.Entry)
	progress func(provider.CopyProgress)
	// resumeTokens are the store's tokens of the copies a run before a restart left
	// under way (status.documentLibrary.resumeTokens), by destination key.
	resumeTokens map[string]string
}

// strategyFor is br's copy strategy, from spec.documentLibrary.mode. A backup without
// a document library stores no repository objects: it is treated as a Full one.
func (r *BackupRequestReconciler) strategyFor(br *backupv1alpha1.BackupRequest) copyStrategy {
	if dl := br.Spec.DocumentLibrary; dl != nil && dl.Incremental() {
		bucket, prefix := r.repositoryOf(br)
		return &incrementalCopy{r: r, br: br, bucket: bucket, prefix: prefix}
	}
	return &fullCopy{r: r, br: br}
}
