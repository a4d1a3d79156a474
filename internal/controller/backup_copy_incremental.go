package controller

import (
	"context"
	"fmt"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/copyjob"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/repository"
)

// incrementalCopy is an Incremental backup: objects are stored once in the project
// environment's repository (bucket, prefix) and shared by its backups; the backup's
// claimed destination holds only its inventory, which references them.
type incrementalCopy struct {
	r  *BackupRequestReconciler
	br *backupv1alpha1.BackupRequest
	// bucket and prefix are the repository (repositoryOf).
	bucket, prefix string
}

// checkSpec refuses a source that shares keys with the repository: the copy would
// read its own output.
func (c *incrementalCopy) checkSpec() error {
	dl := c.br.Spec.DocumentLibrary
	if provider.LocationsOverlap(string(dl.SourceBucket), dl.SourceKeyPrefix(), c.bucket, c.prefix) {
		return &failure{backupv1alpha1.ReasonInvalidInput, fmt.Sprintf(
			"spec.documentLibrary.sourcePrefix %q overlaps the repository s3://%s/%s that an Incremental backup writes to: the copy would read its own output; choose a spec.documentLibrary.sourcePrefix outside it or spec.documentLibrary.mode Full",
			dl.SourcePrefix, c.bucket, c.prefix)}
	}
	return nil
}

// register records the backup in the repository before the copy reads it, so every
// sweep from then on reads this backup's inventory.
func (c *incrementalCopy) register(ctx context.Context, s *backupScope) error {
	return c.r.writeRepositoryRef(ctx, s)
}

// reserve holds the repository's lock shared: the repository is read once the copy
// starts and referenced until the inventory is written, so no sweep may run in between.
func (c *incrementalCopy) reserve(ctx context.Context) (string, error) {
	ok, blocker, err := c.r.locks.AcquireShared(ctx, c.bucket, c.prefix, lockHolder(c.br))
	if err != nil {
		return "", err
	}
	if !ok {
		return fmt.Sprintf("waiting for %s to finish with s3://%s/%s", blocker, c.bucket, c.prefix), nil
	}
	return "", nil
}

// release lets the repository be swept: the inventory is written (or the copy is over).
func (c *incrementalCopy) release(ctx context.Context) error {
	return c.r.locks.ReleaseShared(ctx, c.bucket, c.prefix, lockHolder(c.br))
}

func (c *incrementalCopy) target() string { return c.prefix }

// copy stores in the repository the objects it does not hold yet and references
// those it does.
func (c *incrementalCopy) copy(ctx context.Context, run copyRun, result *copyjob.Result) (int64, error) {
	dl := c.br.Spec.DocumentLibrary
	res, err := repository.Backup(ctx, run.prov, repository.BackupOptions{
		SourceBucket: string(dl.SourceBucket), SourcePrefix: dl.SourceKeyPrefix(), Exclude: run.excluder, AsOf: run.asOf,
		Bucket: c.bucket, Prefix: c.prefix, Concurrency: c.r.Options.CopyConcurrency, MultipartThreshold: c.r.Options.MultipartThreshold,
		Record: run.record, Progress: run.progress, ResumeTokens: run.resumeTokens, BackupUID: string(c.br.UID), BackupPrefix: run.prefix,
	})
	if res == nil {
		return 0, err
	}
	result.Copy, result.ObjectsReferenced, result.BytesReferenced = res.Copy, res.ObjectsReferenced, res.BytesReferenced
	return res.ObjectsExcluded, err
}

func (c *incrementalCopy) describeCopy(st *backupv1alpha1.DocumentLibraryBackupStatus, result *copyjob.Result) string {
	res, inv := result.Copy, result.Inventory
	st.Mode, st.Repository = backupv1alpha1.ModeIncremental, fmt.Sprintf("s3://%s/%s", c.bucket, c.prefix)
	return fmt.Sprintf("%d objects (%s) in the repository %s: %d copied (%s), %d already stored and referenced (%s), %d excluded",
		inv.Objects, manifest.HumanBytes(inv.Bytes), st.Repository, res.ObjectsCopied, manifest.HumanBytes(res.BytesCopied),
		result.ObjectsReferenced, manifest.HumanBytes(result.BytesReferenced), res.ObjectsExcluded)
}

// describeManifest records the repository the inventory's keys are in, and how many
// objects this backup copied there and how many it only referenced.
func (c *incrementalCopy) describeManifest(info *manifest.DocumentLibraryInfo, st *backupv1alpha1.DocumentLibraryBackupStatus) {
	info.RepositoryPrefix = c.prefix
	info.Mode, info.ObjectsCopied, info.ObjectsReferenced = manifest.ModeIncremental, st.ObjectsCopied, st.ObjectsReferenced
}

// removeArtifacts removes the backup's own files and reference, then sweeps the
// repository of what no remaining backup references.
func (c *incrementalCopy) removeArtifacts(ctx context.Context, prov provider.Provider, claim *backupv1alpha1.ClaimStatus) (string, error) {
	return c.r.removeFromRepository(ctx, c.br, prov, claim)
}

// ownsListedObjects: an Incremental inventory lists repository objects other backups
// share; the sweep sees to them.
func (c *incrementalCopy) ownsListedObjects() bool { return false }

func (c *incrementalCopy) removedSummary(where string, _ int) string {
	return "removed the backup's inventory and own files under " + where
}
