package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/artifact"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/repolock"
	"github.com/liferay/lc2-backup-controller/internal/repository"
)

// repositoryOf is where an Incremental backup stores its objects: its project
// environment's repository in its destination bucket.
func (r *BackupRequestReconciler) repositoryOf(br *backupv1alpha1.BackupRequest) (bucket, prefix string) {
	return string(br.Spec.DocumentLibrary.DestinationBucket), repository.Prefix(br.Spec.ProjectID, br.Spec.Environment)
}

// lockHolder is br as a shared holder of its repository's lock.
func lockHolder(br *backupv1alpha1.BackupRequest) repolock.Holder {
	return repolock.Holder{Namespace: br.Namespace, Name: br.Name, UID: string(br.UID)}
}

// sweeperOf names br as the sweeper of its repository.
func sweeperOf(br *backupv1alpha1.BackupRequest) string {
	return fmt.Sprintf("sweep for %s/%s (%s)", br.Namespace, br.Name, br.UID)
}

// writeRepositoryRef records in the repository that br's inventory may reference its
// objects, before the backup reads the repository: from then on every sweep reads
// br's inventory. It is idempotent.
func (r *BackupRequestReconciler) writeRepositoryRef(ctx context.Context, s *backupScope) error {
	br := s.br
	bucket, prefix := r.repositoryOf(br)
	data, err := (&repository.Ref{
		Version: repository.RefVersion, BackupID: backupID(br), UID: string(br.UID), Namespace: br.Namespace, Name: br.Name,
		ProjectID: br.Spec.ProjectID, Environment: br.Spec.Environment, Prefix: br.Spec.DocumentLibrary.DestinationKeyPrefix(),
		CreatedAt: s.now.UTC(),
	}).Marshal()
	if err != nil {
		return err
	}
	err = s.prov.UploadObject(ctx, bucket, prefix+repository.RefKey(string(br.UID)), data)
	r.observeCall("UploadObject", err)
	if err != nil {
		return fmt.Errorf("record the backup in the repository s3://%s/%s: %w", bucket, prefix, err)
	}
	return nil
}

// errSweepPending says the removal of an Incremental backup is done except for the
// sweep of its repository, which goes on in a later pass: it waits for the lock, or
// stopped at its bound with more to remove.
type errSweepPending struct {
	why string
	// after is how soon to try again.
	after time.Duration
}

// lockRetry is how often a sweep waiting for backups that copy into its repository
// tries the lock again.
const lockRetry = 15 * time.Second

// sweepPassRetry is the pause between two bounded passes of one sweep.
const sweepPassRetry = time.Second

func (e *errSweepPending) Error() string { return e.why }

// removeFromRepository removes an Incremental backup from its repository: its own
// files under its claimed destination (inventory parts, manifest, claim: never the
// stored objects its inventory lists, which other backups may share), its reference
// record, and then, holding the repository's lock alone, every stored object no
// remaining backup references. A sweep that cannot finish in this pass returns
// *errSweepPending; the next pass carries on where it stopped.
func (r *BackupRequestReconciler) removeFromRepository(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider, claim *backupv1alpha1.ClaimStatus) (string, error) {
	bucket, prefix := r.repositoryOf(br)
	// A backup deleted while copying still holds the lock shared: its own sweep
	// would wait for it forever.
	if err := r.locks.ReleaseShared(ctx, bucket, prefix, lockHolder(br)); err != nil {
		return "", err
	}
	removed, err := r.removeClaimedObjects(ctx, br, prov, claim.Bucket, claim.Prefix)
	if err != nil {
		return "", err
	}
	if err := artifact.DeleteObjects(ctx, prov, bucket, []string{prefix + repository.RefKey(string(br.UID))}, r.observeCall); err != nil {
		return "", err
	}
	swept, err := r.sweep(ctx, br, prov, bucket, prefix)
	if err != nil {
		return "", err
	}
	return removed + "; " + swept, nil
}

// sweep runs one bounded pass of the repository's mark-and-sweep under its exclusive
// lock, which it keeps until the sweep is done.
func (r *BackupRequestReconciler) sweep(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider, bucket, prefix string) (string, error) {
	where := fmt.Sprintf("s3://%s/%s", bucket, prefix)
	sweeper := sweeperOf(br)
	ok, blocker, err := r.locks.AcquireExclusive(ctx, bucket, prefix, sweeper, r.copyingIntoRepository)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", &errSweepPending{fmt.Sprintf("the backup's own files are removed; the sweep of %s waits for %s", where, blocker), lockRetry}
	}
	res, err := repository.Sweep(ctx, prov, bucket, prefix, r.Options.SweepMaxDeletes)
	r.observeCall("SweepRepository", err)
	if res != nil && res.Deleted > 0 {
		if r.Metrics != nil {
			r.Metrics.Swept(br, res.Deleted, res.BytesDeleted)
		}
		r.recorder().normal(br, backupv1alpha1.ReasonRepositorySwept, "Sweep", "Removed %d stored objects (%s) of %s that no backup references",
			res.Deleted, manifest.HumanBytes(res.BytesDeleted), where)
	}
	if err != nil {
		return "", fmt.Errorf("sweep %s: %w", where, err)
	}
	if !res.Done {
		return "", &errSweepPending{fmt.Sprintf("sweeping %s: %d unreferenced objects removed in this pass, more to go", where, res.Deleted), sweepPassRetry}
	}
	if err := r.locks.ReleaseExclusive(ctx, bucket, prefix, sweeper); err != nil {
		return "", err
	}
	return fmt.Sprintf("swept %s: %d stored objects kept for %d backups, %d unreferenced removed in the last pass",
		where, res.Kept, res.Backups, res.Deleted), nil
}

// copyingIntoRepository reports whether a shared holder of a repository lock is still
// a backup that may reference the repository's objects without its inventory saying
// so yet: it exists, is the same object, has not finished and has not finished its
// copy. Any other holder's release was lost (a crash) and is dropped.
func (r *BackupRequestReconciler) copyingIntoRepository(ctx context.Context, h repolock.Holder) (bool, error) {
	br := &backupv1alpha1.BackupRequest{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: h.Namespace, Name: h.Name}, br)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read BackupRequest %s/%s holding the repository lock: %w", h.Namespace, h.Name, err)
	}
	return string(br.UID) == h.UID && !br.Status.Phase.IsTerminal() &&
		!br.Status.IsConditionTrue(backupv1alpha1.ConditionDocumentLibraryCopied), nil
}

// isSweepPending reports whether err only says the sweep goes on later.
func isSweepPending(err error) (*errSweepPending, bool) {
	var p *errSweepPending
	return p, errors.As(err, &p)
}
