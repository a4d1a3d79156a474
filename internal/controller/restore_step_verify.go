package controller

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// maxVerificationProblems bounds status.verification.problems.
const maxVerificationProblems = 100

// reconcileVerify checks a backup without writing anything (verifyOnly): the manifest
// and every inventory part verified when the source was resolved; here the snapshot
// must exist and be available, and every object the inventory lists must be in the
// backup with its size and ETag. It owns the Verified condition and status.verification.
func (r *RestoreRequestReconciler) reconcileVerify(ctx context.Context, s *restoreScope) (stepResult, error) {
	if !s.rr.Spec.VerifyOnly || s.status().IsConditionTrue(backupv1alpha1.ConditionVerified) {
		return stepDone, nil
	}
	ver := &backupv1alpha1.VerificationStatus{}
	done, err := r.verifyDump(ctx, s, ver)
	if err != nil {
		return stepResult{}, err
	}
	if !done {
		s.status().Verification = ver
		return stepResult{requeueAfter: r.Options.DumpPollInterval}, nil
	}
	snapshotOK, err := r.verifySnapshot(ctx, s, ver)
	if err != nil {
		return stepResult{}, err
	}
	if err := r.verifyObjects(ctx, s, ver); err != nil {
		return stepResult{}, err
	}
	return r.recordVerification(s, ver, snapshotOK)
}

// addVerificationProblem records one problem, up to maxVerificationProblems so the
// status stays bounded however broken the backup is.
func addVerificationProblem(ver *backupv1alpha1.VerificationStatus, format string, args ...any) {
	if len(ver.Problems) < maxVerificationProblems {
		ver.Problems = append(ver.Problems, fmt.Sprintf(format, args...))
	}
}

// verifySnapshot checks the manifest's database snapshot exists and is available; it
// reports false (with a problem recorded) when not, and an error only when the cloud
// could not answer.
func (r *RestoreRequestReconciler) verifySnapshot(ctx context.Context, s *restoreScope, ver *backupv1alpha1.VerificationStatus) (bool, error) {
	db := s.src.manifest.Database
	if db == nil || db.SnapshotID == "" {
		return true, nil
	}
	snap, err := s.prov.GetDatabaseSnapshotStatus(ctx, db.SnapshotID)
	r.observeCall("GetDatabaseSnapshotStatus", err)
	switch {
	case provider.IsNotFound(err):
		addVerificationProblem(ver, "snapshot %s is missing", db.SnapshotID)
		return false, nil
	case err != nil:
		return false, fmt.Errorf("check snapshot %s: %w", db.SnapshotID, err)
	case snap.State != provider.SnapshotAvailable:
		addVerificationProblem(ver, "snapshot %s is %s, not available", db.SnapshotID, snap.RawStatus)
		return false, nil
	}
	return true, nil
}

// verifyObjects lists the backup's objects once and checks every inventory entry
// against that listing, counting what is missing or different in ver: the document
// library's objects, then the database files (the dump and its record).
func (r *RestoreRequestReconciler) verifyObjects(ctx context.Context, s *restoreScope, ver *backupv1alpha1.VerificationStatus) error {
	if err := r.verifyLibraryObjects(ctx, s, ver); err != nil {
		return err
	}
	return r.verifyDatabaseFiles(ctx, s, ver)
}

// verifyLibraryObjects checks the document library's inventory entries.
func (r *RestoreRequestReconciler) verifyLibraryObjects(ctx context.Context, s *restoreScope, ver *backupv1alpha1.VerificationStatus) error {
	m := s.src.manifest
	dl := m.DocumentLibrary
	if dl == nil {
		return nil
	}
	bucket := s.src.dataBucket()
	present, err := r.listPresent(ctx, s, bucket, s.src.objectsPrefix())
	if err != nil {
		return err
	}
	for e, err := range s.src.inventoryEntries(ctx, r, s.prov) {
		if err != nil {
			return err
		}
		checkStoredObject(ver, bucket, dl.StoredObjectKey(e.StoredKey), e, present)
	}
	return nil
}

// verifyDatabaseFiles checks the dump files as the database part lists them. A dump
// manifest written before they were listed has only the dump's key and size to check.
func (r *RestoreRequestReconciler) verifyDatabaseFiles(ctx context.Context, s *restoreScope, ver *backupv1alpha1.VerificationStatus) error {
	db := s.src.manifest.Database
	if db == nil || db.Dump == nil {
		return nil
	}
	bucket, prefix := s.src.ownBucket(), s.src.ownPrefix()
	present, err := r.listPresent(ctx, s, bucket, prefix+layout.DatabaseDir)
	if err != nil {
		return err
	}
	if db.Inventory == nil {
		if !layout.IsDatabaseKey(db.Dump.Key) {
			return failWith(backupv1alpha1.ReasonChecksumMismatch, "the manifest's database.dump.key %q is not a database file of the backup (%s)", db.Dump.Key, layout.DatabaseDir)
		}
		checkStoredObject(ver, bucket, prefix+db.Dump.Key, inventory.Entry{StoredKey: db.Dump.Key, Size: db.Dump.SizeBytes}, present)
		return nil
	}
	for e, err := range s.src.databaseEntries(ctx, r, s.prov) {
		if err != nil {
			return err
		}
		checkStoredObject(ver, bucket, prefix+e.StoredKey, e, present)
	}
	return nil
}

// listPresent lists the objects under prefix of bucket once, by key.
func (r *RestoreRequestReconciler) listPresent(ctx context.Context, s *restoreScope, bucket, prefix string) (map[string]provider.ObjectMetadata, error) {
	listed, err := s.prov.ListObjects(ctx, bucket, prefix)
	r.observeCall("ListObjects", err)
	if err != nil {
		return nil, fmt.Errorf("list the objects of backup %s: %w", s.src.manifest.BackupID, err)
	}
	present := make(map[string]provider.ObjectMetadata, len(listed))
	for _, o := range listed {
		present[o.Key] = o
	}
	return present, nil
}

// checkStoredObject counts the inventory entry e, stored at key, in ver: missing from
// present, or there with another size or ETag than e records.
func checkStoredObject(ver *backupv1alpha1.VerificationStatus, bucket, key string, e inventory.Entry, present map[string]provider.ObjectMetadata) {
	ver.ObjectsChecked++
	o, ok := present[key]
	switch {
	case !ok:
		ver.ObjectsMissing++
		addVerificationProblem(ver, "missing: s3://%s/%s", bucket, key)
	case o.Size != e.Size:
		ver.ObjectsDifferent++
		addVerificationProblem(ver, "different: s3://%s/%s is %d bytes, the inventory records %d", bucket, key, o.Size, e.Size)
	case e.ETag != "" && o.ETag != e.ETag:
		ver.ObjectsDifferent++
		addVerificationProblem(ver, "different: s3://%s/%s has ETag %s, the inventory records %s", bucket, key, o.ETag, e.ETag)
	}
}

// recordVerification writes status.verification and the Verified condition: an
// incomplete backup fails the request, an intact one gets an event.
func (r *RestoreRequestReconciler) recordVerification(s *restoreScope, ver *backupv1alpha1.VerificationStatus, snapshotOK bool) (stepResult, error) {
	rr, st, m := s.rr, s.status(), s.src.manifest
	st.Verification = ver
	dumpOK := ver.Dump == nil || ver.Dump.Result == backupv1alpha1.DumpVerificationPassed
	if !snapshotOK || !dumpOK || ver.ObjectsMissing > 0 || ver.ObjectsDifferent > 0 {
		msg := fmt.Sprintf("backup %s is incomplete: %d of %d objects missing, %d different", m.BackupID, ver.ObjectsMissing, ver.ObjectsChecked, ver.ObjectsDifferent)
		if !snapshotOK || !dumpOK {
			// The dump and the snapshot are checked first, so their problem is the first one.
			msg += "; " + ver.Problems[0]
		}
		st.SetCondition(backupv1alpha1.ConditionVerified, metav1.ConditionFalse, backupv1alpha1.ReasonBackupIncomplete, msg, s.now)
		return stepResult{}, failWith(backupv1alpha1.ReasonBackupIncomplete, "%s", msg)
	}
	msg := fmt.Sprintf("backup %s is intact: manifest and inventory checksums verify, all %d objects present with their size and ETag", m.BackupID, ver.ObjectsChecked)
	if m.Database != nil && m.Database.SnapshotID != "" {
		msg += fmt.Sprintf(", snapshot %s available", m.Database.SnapshotID)
	}
	if ver.Dump != nil {
		msg += fmt.Sprintf(", dump %s read in full and matching its record and the manifest", ver.Dump.Location)
	}
	st.SetCondition(backupv1alpha1.ConditionVerified, metav1.ConditionTrue, backupv1alpha1.ReasonBackupIntact, msg, s.now)
	s.after(func() {
		r.recorder().normal(rr, backupv1alpha1.ReasonBackupIntact, "Verify", "Backup verified: %s", msg)
	})
	return stepDone, nil
}
