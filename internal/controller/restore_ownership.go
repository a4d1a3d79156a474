package controller

import (
	"context"
	"fmt"
	"strings"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/artifact"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/repository"
)

// A manifest's checksum proves only that nobody changed it after sealing, not who
// wrote it: anyone who can write to one of the project's buckets can seal a manifest
// naming another project's backup. So every object a restore reads, the manifest
// itself included, is checked against the restoring project before it is first read,
// with the rules backups are written by:
//   - a backup lies under "<projectId>/" (preflight refuses any other destination
//     prefix), in a bucket tagged with the project or as a shared backup bucket;
//   - its claim.json, written before anything else, names the project;
//   - an Incremental backup's objects are in the project's own repository;
//   - inventory parts and stored keys are keys the controller names, under the
//     backup's prefix;
//   - its snapshot carries the project's tag (provider.TagProjectID, written at
//     creation with the BackupRequest's owner tags).

// checkManifestLocation refuses a manifest URL (field) that is not in a place of the
// project's backups, before the manifest is read.
func (r *RestoreRequestReconciler) checkManifestLocation(ctx context.Context, s *restoreScope, field, bucket, key string) error {
	location := fmt.Sprintf("s3://%s/%s", bucket, key)
	if err := underProjectPrefix(s.project, field, location, key); err != nil {
		return err
	}
	return r.checkBackupBucket(ctx, s, field, location, bucket)
}

// checkBackupOwned checks, before any object of the backup is read, that the places
// the verified manifest names are the project's: the document library's destination
// (prefix, bucket, claim), its repository and the keys of its inventory parts.
func (r *RestoreRequestReconciler) checkBackupOwned(ctx context.Context, s *restoreScope, src *loadedSource) error {
	m := src.manifest
	if err := checkDatabasePartKeys(m, fmt.Sprintf("s3://%s/%s", src.ownBucket(), src.ownPrefix())); err != nil {
		return err
	}
	dl := m.DocumentLibrary
	if dl == nil {
		// A database-only backup's files lie beside its manifest, whose place was checked.
		return nil
	}
	location := fmt.Sprintf("s3://%s/%s", dl.DestinationBucket, dl.DestinationPrefix)
	if err := checkBackupKeys(s.project, m, location); err != nil {
		return err
	}
	if err := r.checkBackupBucket(ctx, s, "the manifest's documentLibrary.destinationBucket", location, dl.DestinationBucket); err != nil {
		return err
	}
	return r.checkBackupClaim(ctx, s, m, location)
}

// backupPrefixField names the manifest's destination prefix in refusals.
const backupPrefixField = "the manifest's documentLibrary.destinationPrefix"

// checkBackupKeys refuses, without reading anything, a manifest whose destination
// prefix (at location), repository or inventory part keys are not the project's
// backup's.
func checkBackupKeys(project string, m *manifest.Manifest, location string) error {
	dl := m.DocumentLibrary
	const field = backupPrefixField
	if dl.DestinationBucket == "" || dl.DestinationPrefix == "" || !strings.HasSuffix(dl.DestinationPrefix, "/") {
		return failWith(backupv1alpha1.ReasonInvalidInput, "%s %s is not a backup's prefix (a bucket and a prefix ending with /)", field, location)
	}
	if err := underProjectPrefix(project, field, location, dl.DestinationPrefix); err != nil {
		return err
	}
	if reserved := project + "/."; strings.HasPrefix(dl.DestinationPrefix, reserved) {
		return failWith(backupv1alpha1.ReasonResourceNotOwned,
			"%s %s lies under %s, which is the controller's (repositories, restore records), never a backup's", field, location, reserved)
	}
	if dl.Incremental() {
		if want := repository.Prefix(project, m.Environment); dl.RepositoryPrefix != want {
			return failWith(backupv1alpha1.ReasonProjectMismatch,
				"the manifest's documentLibrary.repositoryPrefix s3://%s/%s is not the repository of project %s's environment %s (s3://%s/%s); a restore reads only its own project's repository",
				dl.DestinationBucket, dl.RepositoryPrefix, project, m.Environment, dl.DestinationBucket, want)
		}
	}
	if inv := dl.Inventory; inv != nil {
		for i, p := range inv.Parts {
			if !layout.IsPartKey(p.Key) {
				return failWith(backupv1alpha1.ReasonResourceNotOwned,
					"the manifest's documentLibrary.inventory.parts[%d].key %q is not an inventory part of the backup at %s (inventory/<run>-NNNNN.jsonl.gz); the backup is not trusted",
					i, p.Key, location)
			}
		}
	}
	return nil
}

// checkDatabasePartKeys refuses, without reading anything, a manifest whose
// database.inventory names another part than the dump files' (of the backup at
// location).
func checkDatabasePartKeys(m *manifest.Manifest, location string) error {
	if m.Database == nil || m.Database.Inventory == nil {
		return nil
	}
	for i, p := range m.Database.Inventory.Parts {
		if !layout.IsDatabasePartKey(p.Key) {
			return failWith(backupv1alpha1.ReasonResourceNotOwned,
				"the manifest's database.inventory.parts[%d].key %q is not the dump files' inventory part of the backup at %s (%s); the backup is not trusted",
				i, p.Key, location, layout.DatabasePartKey(""))
		}
	}
	return nil
}

// checkBackupClaim reads the claim.json of the backup at location and refuses the
// backup unless it names the project and the manifest's backup.
func (r *RestoreRequestReconciler) checkBackupClaim(ctx context.Context, s *restoreScope, m *manifest.Manifest, location string) error {
	dl := m.DocumentLibrary
	const field = backupPrefixField
	claim, err := artifact.ReadClaim(ctx, s.prov, dl.DestinationBucket, dl.DestinationPrefix)
	r.observeCall("DownloadObject", err)
	if err != nil {
		return fmt.Errorf("read the claim of %s: %w", location, err)
	}
	switch {
	case claim == nil:
		return failWith(backupv1alpha1.ReasonResourceNotOwned,
			"%s %s has no %s, so nothing says it is a backup of project %s (every backup writes its claim before anything else)",
			field, location, layout.ClaimName, s.project)
	case claim.ProjectID == "":
		return failWith(backupv1alpha1.ReasonResourceNotOwned, "%s %s: its %s names no project (backup %s), so nothing says it is a backup of project %s",
			field, location, layout.ClaimName, claim.BackupID, s.project)
	case claim.ProjectID != s.project:
		return failWith(backupv1alpha1.ReasonProjectMismatch, "%s %s belongs to project %s (its %s), not %s", field, location, claim.ProjectID, layout.ClaimName, s.project)
	case claim.BackupID != m.BackupID:
		return failWith(backupv1alpha1.ReasonResourceNotOwned,
			"%s %s holds the backup %s (its %s), not the manifest's backup %s; the backup is not trusted", field, location, claim.BackupID, layout.ClaimName, m.BackupID)
	}
	return nil
}

// underProjectPrefix refuses key (of location, named by field) unless it lies under
// the project's prefix, as every backup of the project does.
func underProjectPrefix(project, field, location, key string) error {
	own := project + "/"
	inside := strings.HasPrefix(key, own)
	if inside && !leavesDir(key, own) {
		return nil
	}
	where := "at the bucket's root"
	switch i := strings.Index(key, "/"); {
	case inside:
		where = "outside " + own + " once its . and .. segments are resolved"
	case i > 0:
		where = "under " + key[:i+1]
	}
	return failWith(backupv1alpha1.ReasonProjectMismatch,
		"%s %s lies %s, not under %s: project %s's backups lie only under their project's prefix; a namespace restores only its own project's backups",
		field, location, where, own, project)
}

// checkBackupBucket refuses a bucket holding something a restore reads unless it
// carries the project's ownership tag or the shared-backup-bucket tag, as backups'
// destinations must (checkOwnership).
func (r *RestoreRequestReconciler) checkBackupBucket(ctx context.Context, s *restoreScope, field, location, bucket string) error {
	tag, err := r.bucketTag(ctx, s, bucket)
	switch {
	case err != nil:
		return err
	case tag.owned(true):
		return nil
	case !tag.exists:
		return failWith(backupv1alpha1.ReasonSourceNotReady, "%s %s: bucket %s does not exist", field, location, bucket)
	}
	key, project := r.Options.OwnershipTagKey, s.project
	if tag.project != "" {
		return failWith(backupv1alpha1.ReasonProjectMismatch, "%s %s is in bucket %s, which belongs to project %q (tag %s), not %s",
			field, location, bucket, tag.project, key, project)
	}
	return failWith(backupv1alpha1.ReasonResourceNotOwned,
		"%s %s is in bucket %s, which has neither the tag %s=%s nor %s=true, so it does not belong to project %s; if it is %s's, tag it (%s)",
		field, location, bucket, key, project, backupv1alpha1.SharedBackupBucketTag, project, project, provider.BucketTagCommand(s.prov, bucket, key, project))
}

// snapshotOwned adds a problem unless the backup's snapshot carries the project's tag
// (written when the backup created it). It returns the snapshot's status, nil when
// it does not exist.
func (r *RestoreRequestReconciler) snapshotOwned(ctx context.Context, s *restoreScope, v *validation, snapshotID string) (*provider.SnapshotStatus, error) {
	snap, err := s.prov.GetDatabaseSnapshotStatus(ctx, snapshotID)
	r.observeCall("GetDatabaseSnapshotStatus", err)
	if provider.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("check snapshot %s: %w", snapshotID, err)
	}
	switch found := snap.Owner.ProjectID; found {
	case s.project:
	case "":
		v.add(backupv1alpha1.ReasonResourceNotOwned,
			"the manifest's database.snapshotId: snapshot %s has no %s tag, so it does not belong to project %s (every backup's snapshot carries it)",
			snapshotID, provider.TagProjectID, s.project)
	default:
		v.add(backupv1alpha1.ReasonProjectMismatch, "the manifest's database.snapshotId: snapshot %s belongs to project %q (tag %s), not %s",
			snapshotID, found, provider.TagProjectID, s.project)
	}
	return snap, nil
}

// storedBase is the prefix the inventory's stored keys are relative to.
func (l *loadedSource) storedBase() string {
	if dl := l.manifest.DocumentLibrary; dl.Incremental() {
		return dl.RepositoryPrefix
	}
	return l.dataPrefix()
}

// climbsAbove reports whether rel (a key relative to a backup's prefix) names a
// place above that prefix once its "." and ".." segments are resolved. S3 takes keys
// literally, so "data/../x" is a key of the backup's own there, and such keys of a
// library are backed up and restored as written; but a path-normalising proxy or
// S3-compatible server on the way would resolve them, and a stored key must never
// name an object outside the backup, however the key is read.
func climbsAbove(rel string) bool {
	depth := 0
	for _, seg := range strings.Split(rel, "/") {
		switch seg {
		case "", ".":
		case "..":
			if depth == 0 {
				return true
			}
			depth--
		default:
			depth++
		}
	}
	return false
}

// leavesDir reports whether rel (a key relative to some prefix) lies outside dir
// once its "." and ".." segments are resolved. S3 takes keys literally, so
// "data/a/../b" is a key of its own there; but a path-normalising proxy or
// S3-compatible server on the way would read "b", and a stored key must never name
// an object outside the backup, however the key is read.
func leavesDir(rel, dir string) bool {
	var resolved []string
	for _, seg := range strings.Split(rel, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(resolved) == 0 {
				return true // above the prefix itself
			}
			resolved = resolved[:len(resolved)-1]
		default:
			resolved = append(resolved, seg)
		}
	}
	return len(resolved) == 0 || resolved[0] != strings.TrimSuffix(dir, "/")
}
