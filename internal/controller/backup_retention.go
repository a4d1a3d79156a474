package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/artifact"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// CleanupFinalizer makes deleting a BackupRequest delete its cloud artefacts first.
const CleanupFinalizer = "backup.liferay.cloud/cleanup"

// expiry is completionTime + retention days.
func (r *BackupRequestReconciler) expiry(br *backupv1alpha1.BackupRequest, completed time.Time) metav1.Time {
	days := r.Options.DefaultRetentionDays
	if br.Spec.RetentionDays != nil {
		days = *br.Spec.RetentionDays
	}
	return metav1.NewTime(completed.Add(time.Duration(days) * 24 * time.Hour))
}

// amongNewestSucceeded reports whether fewer than RetentionMinKept successful backups
// of the same project and environment completed after br.
func (r *BackupRequestReconciler) amongNewestSucceeded(ctx context.Context, br *backupv1alpha1.BackupRequest) (bool, error) {
	var list backupv1alpha1.BackupRequestList
	if err := r.List(ctx, &list, client.MatchingFields{projectIndex: br.Spec.ProjectID}, client.UnsafeDisableDeepCopy); err != nil {
		return false, fmt.Errorf("list backups of project %s: %w", br.Spec.ProjectID, err)
	}
	newer := 0
	for i := range list.Items {
		o := &list.Items[i]
		if o.UID == br.UID || o.Spec.Environment != br.Spec.Environment || o.Status.Phase != backupv1alpha1.PhaseSucceeded ||
			o.Status.CompletionTime == nil || !o.DeletionTimestamp.IsZero() {
			continue
		}
		if o.Status.CompletionTime.After(br.Status.CompletionTime.Time) ||
			(o.Status.CompletionTime.Equal(br.Status.CompletionTime) && o.CreationTimestamp.After(br.CreationTimestamp.Time)) {
			newer++
		}
	}
	return newer < r.Options.RetentionMinKept, nil
}

// removeEach removes a throw-away dump instance still there, the snapshot (unless
// keepSnapshot: false already released it) and the claimed objects, collecting what
// was done and what failed.
func (r *BackupRequestReconciler) removeEach(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider) (done []string, errs []error) {
	if db := br.Status.Database; db != nil && db.DumpInstance.Pending() {
		if summary, err := r.removeDumpInstance(ctx, br, prov); err != nil {
			errs = append(errs, err)
		} else {
			done = append(done, summary)
		}
	}
	if db := br.Status.Database; db != nil && db.SnapshotID != "" && !db.SnapshotDeleted {
		if summary, err := r.removeSnapshot(ctx, br, prov, db.SnapshotID); err != nil {
			errs = append(errs, err)
		} else {
			done = append(done, summary)
		}
	}
	if claim := br.Status.Claim; claim != nil {
		if summary, err := r.strategyFor(br).removeArtifacts(ctx, prov, claim); err != nil {
			errs = append(errs, err)
		} else {
			done = append(done, summary)
		}
	}
	return done, errs
}

// removeSnapshot deletes the snapshot only when its owner tags name this backup.
func (r *BackupRequestReconciler) removeSnapshot(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider, id string) (string, error) {
	summary, _, err := r.releaseSnapshot(ctx, br, prov, id)
	return summary, err
}

// releaseSnapshot is removeSnapshot that also says whether the snapshot is gone now
// (deleted, or already gone) rather than kept as another's.
func (r *BackupRequestReconciler) releaseSnapshot(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider, id string) (string, bool, error) {
	st, err := prov.GetDatabaseSnapshotStatus(ctx, id)
	r.observeCall("GetDatabaseSnapshotStatus", err)
	if provider.IsNotFound(err) {
		return "snapshot " + id + " already gone", true, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("check snapshot %s before deleting it: %w", id, err)
	}
	if st.Owner.UID != string(br.UID) {
		return fmt.Sprintf("snapshot %s kept: its tags do not name this backup", id), false, nil
	}
	err = prov.DeleteDatabaseSnapshot(ctx, id)
	r.observeCall("DeleteDatabaseSnapshot", err)
	if err != nil {
		return "", false, fmt.Errorf("delete snapshot %s: %w", id, err)
	}
	return "removed snapshot " + id, true, nil
}

// removeClaimedObjects deletes, under a destination this backup claimed, the objects
// listed in its inventory parts (each part after its objects; the dump files as the
// database part lists them), then its manifest and last its claim, so an interrupted
// removal resumes where it stopped. Nothing is
// deleted when the claim is gone (already removed) or names another backup. An
// Incremental backup's inventory lists stored objects of its repository, which other
// backups share: only its parts are deleted, and the sweep sees to the objects.
func (r *BackupRequestReconciler) removeClaimedObjects(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider, bucket, prefix string) (string, error) {
	where := fmt.Sprintf("s3://%s/%s", bucket, prefix)
	claim, err := artifact.ReadClaim(ctx, prov, bucket, prefix)
	if err != nil {
		return "", fmt.Errorf("read the claim of %s: %w", where, err)
	}
	if claim == nil {
		return "nothing left under " + where, nil
	}
	if claim.UID != string(br.UID) {
		return fmt.Sprintf("nothing removed under %s: it is claimed by the backup %q", where, claim.BackupID), nil
	}
	parts, err := prov.ListObjects(ctx, bucket, layout.InventoryPrefix(prefix))
	r.observeCall("ListObjects", err)
	if err != nil {
		return "", fmt.Errorf("list the inventory of %s: %w", where, err)
	}
	strategy := r.strategyFor(br)
	removed, dumpListed := 0, false
	for _, p := range parts {
		var n int
		switch rel := strings.TrimPrefix(p.Key, prefix); {
		case layout.IsPartKey(rel):
			n, err = r.removePart(ctx, strategy, prov, bucket, prefix, p.Key)
		case layout.IsDatabasePartKey(rel):
			// The dump files are the backup's own files under every strategy, like its
			// manifest: not counted among the copied objects removed.
			err = r.removeDatabasePart(ctx, prov, bucket, prefix, p.Key)
			dumpListed = true
		default:
			continue // not ours to read, nor to delete
		}
		if err != nil {
			return "", err
		}
		removed += n
	}
	if isDump(br) && !dumpListed {
		// A dump never listed (it failed, or was accepted before the dump files were
		// listed): its files have the dumper's fixed names, before the manifest.
		if err := artifact.DeleteObjects(ctx, prov, bucket, layout.DumpKeys(prefix), r.observeCall); err != nil {
			return "", err
		}
	}
	if err := r.deleteOwnManifest(ctx, br, prov, bucket, layout.ManifestKey(prefix)); err != nil {
		return "", err
	}
	if err := artifact.DeleteObjects(ctx, prov, bucket, []string{layout.ClaimKey(prefix)}, r.observeCall); err != nil {
		return "", err
	}
	return strategy.removedSummary(where, removed), nil
}

// removePart removes one inventory part of the backup and, when the strategy owns the
// objects it lists (Full), those objects first, returning how many objects it removed
// besides the part. An Incremental backup's part lists stored objects of its
// repository, which other backups share: only the part goes, and the sweep sees to
// the objects.
func (r *BackupRequestReconciler) removePart(ctx context.Context, strategy copyStrategy, prov provider.Provider, bucket, prefix, key string) (int, error) {
	if !strategy.ownsListedObjects() {
		return 0, artifact.DeleteObjects(ctx, prov, bucket, []string{key}, r.observeCall)
	}
	return r.removeFullPart(ctx, prov, bucket, prefix, key)
}

// removeFullPart deletes the objects a Full backup's inventory part lists, then the
// part itself, so an interrupted removal resumes where it stopped. The copy stores
// every key under data/ (any key there, ".." segments included, is literal and stays
// there); a line that is not was not written by it.
func (r *BackupRequestReconciler) removeFullPart(ctx context.Context, prov provider.Provider, bucket, prefix, key string) (int, error) {
	return r.removeListed(ctx, prov, bucket, prefix, key, layout.IsDataKey, "not under "+layout.DataDir)
}

// removeListed deletes the objects an inventory part lists (under prefix), then the
// part, and returns how many objects it deleted besides the part; a missing part is
// already removed. Every line must name a key the part's writer writes (owned): one
// that does not stops the removal and keeps everything the part lists, since deleting
// the rest and then the part would hide it for good. notOwned says, for the refusal,
// where such a key is.
func (r *BackupRequestReconciler) removeListed(ctx context.Context, prov provider.Provider, bucket, prefix, key string, owned func(string) bool, notOwned string) (int, error) {
	data, err := provider.ReadSmallObject(ctx, prov, bucket, key)
	r.observeCall("DownloadObject", err)
	if provider.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read inventory part: %w", err)
	}
	var keys []string
	var foreign error
	if _, err := inventory.Read(data, func(e inventory.Entry) error {
		if !owned(e.StoredKey) {
			foreign = fmt.Errorf("inventory part s3://%s/%s lists the stored key %q, which is %s, so the objects it lists are kept",
				bucket, key, e.StoredKey, notOwned)
			return foreign
		}
		keys = append(keys, prefix+e.StoredKey)
		return nil
	}); foreign != nil {
		return 0, foreign
	} else if err != nil {
		return 0, fmt.Errorf("inventory part s3://%s/%s is unreadable, so its objects are kept: %w", bucket, key, err)
	}
	if err := artifact.DeleteObjects(ctx, prov, bucket, append(keys, key), r.observeCall); err != nil {
		return 0, err
	}
	return len(keys), nil
}

// deleteOwnManifest deletes the manifest at key when it is this backup's.
func (r *BackupRequestReconciler) deleteOwnManifest(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider, bucket, key string) error {
	data, err := provider.ReadSmallObject(ctx, prov, bucket, key)
	if provider.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read manifest before deleting it: %w", err)
	}
	if m, err := manifest.Parse(data); err != nil || m.BackupID != backupID(br) {
		return nil // not ours: keep it
	}
	return artifact.DeleteObjects(ctx, prov, bucket, []string{key}, r.observeCall)
}
