package controller

import (
	"context"
	"fmt"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/copyjob"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// fullCopy is a Full backup: every object is copied under the backup's own claimed
// destination, which holds all of it and shares nothing.
type fullCopy struct {
	r  *BackupRequestReconciler
	br *backupv1alpha1.BackupRequest
}

// checkSpec has nothing to add: the destination is all a Full backup writes to.
func (f *fullCopy) checkSpec() error { return nil }

// register has nothing to record: no other backup reads a Full backup's files.
func (f *fullCopy) register(context.Context, *backupScope) error { return nil }

// reserve holds nothing: the destination is the backup's alone.
func (f *fullCopy) reserve(context.Context) (string, error) { return "", nil }

func (f *fullCopy) release(context.Context) error { return nil }

func (f *fullCopy) target() string {
	return layout.DataPrefix(f.br.Spec.DocumentLibrary.DestinationKeyPrefix())
}

// copy has the provider copy the source under data/ of the destination. For a
// versioned source the copy list is each object as it was at the point in time.
func (f *fullCopy) copy(ctx context.Context, run copyRun, result *copyjob.Result) (int64, error) {
	dl := f.br.Spec.DocumentLibrary
	var excluded int64
	req := provider.ObjectStorageCopyRequest{
		SourceBucket:          string(dl.SourceBucket),
		SourcePrefix:          dl.SourceKeyPrefix(),
		DestinationBucket:     string(dl.DestinationBucket),
		DestinationPrefix:     layout.DataPrefix(run.prefix),
		ExcludePatterns:       append([]string(nil), dl.ExcludePatterns...),
		ExcludeGeneratedFiles: dl.ExcludeGeneratedFiles,
		Concurrency:           f.r.Options.CopyConcurrency,
		MultipartThreshold:    f.r.Options.MultipartThreshold,
		Progress:              run.progress,
		ResumeTokens:          run.resumeTokens,
		Stored:                func(o provider.StoredObject) { run.record(inventory.FromStored(o, run.prefix)) },
	}
	if run.asOf != nil {
		req.Objects = copyItems(provider.WalkSelected(ctx, run.prov, req.SourceBucket, req.SourcePrefix, run.asOf, run.excluder, &excluded))
	}
	var err error
	result.Copy, err = run.prov.CopyObjectStorage(ctx, req)
	return excluded, err
}

func (f *fullCopy) describeCopy(st *backupv1alpha1.DocumentLibraryBackupStatus, result *copyjob.Result) string {
	res, inv := result.Copy, result.Inventory
	st.Mode = backupv1alpha1.ModeFull
	return fmt.Sprintf("%d objects (%s) at the destination: %d copied, %d already there, %d excluded",
		inv.Objects, manifest.HumanBytes(inv.Bytes), res.ObjectsCopied, res.ObjectsSkipped, res.ObjectsExcluded)
}

// describeManifest adds nothing: a Full manifest leaves the mode out, as it did
// before there were modes.
func (f *fullCopy) describeManifest(*manifest.DocumentLibraryInfo, *backupv1alpha1.DocumentLibraryBackupStatus) {
}

// removeArtifacts removes the objects the backup's inventory lists and its own files.
func (f *fullCopy) removeArtifacts(ctx context.Context, prov provider.Provider, claim *backupv1alpha1.ClaimStatus) (string, error) {
	return f.r.removeClaimedObjects(ctx, f.br, prov, claim.Bucket, claim.Prefix)
}

// ownsListedObjects: every object a Full inventory lists is under the backup's claim.
func (f *fullCopy) ownsListedObjects() bool { return true }

func (f *fullCopy) removedSummary(where string, removed int) string {
	return fmt.Sprintf("removed %d objects and the backup's own files under %s", removed, where)
}
