package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/repository"
)

// validation collects every problem found before anything is written, each naming
// the spec field, with the reason of each.
type validation struct {
	problems []string
	reasons  []backupv1alpha1.Reason
}

func (v *validation) add(reason backupv1alpha1.Reason, format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
	v.reasons = append(v.reasons, reason)
}

// reason is the single reason of every problem, or ValidationFailed for a mix.
func (v *validation) reason() backupv1alpha1.Reason {
	for _, r := range v.reasons[1:] {
		if r != v.reasons[0] {
			return backupv1alpha1.ReasonValidationFailed
		}
	}
	return v.reasons[0]
}

// reconcileValidate checks, before anything is written, every target and the backup
// against the safety rules, collects all problems into status.validationErrors and
// fails with ValidationFailed when there is any. It owns the SourceVerified condition
// and runs exactly once: once SourceVerified is True it never runs again, so a target
// prefix this restore itself started to fill cannot make a resumed restore fail. The
// pass that passes validation ends there, so the verdict is stored before any write.
func (r *RestoreRequestReconciler) reconcileValidate(ctx context.Context, s *restoreScope) (stepResult, error) {
	rr, st := s.rr, s.status()
	if st.IsConditionTrue(backupv1alpha1.ConditionSourceVerified) {
		return stepDone, nil
	}
	v := &validation{}
	oneShot := !rr.Spec.VerifyOnly && !allowRepeat(rr)
	if oneShot && r.History != nil {
		r.lookups.start(rr, r.History, restoreKey(rr))
	}
	if err := r.validateTargets(ctx, s, v); err != nil {
		return stepResult{}, err
	}
	if len(v.problems) == 0 && oneShot {
		wait, err := r.checkNotRestoredBefore(ctx, s, v)
		if err != nil || wait != nil {
			return stepResult{requeueAfter: historyRetryOr(wait)}, err
		}
	}
	if len(v.problems) > 0 {
		reason := v.reason()
		msg := "validation failed: " + strings.Join(v.problems, "; ")
		st.ValidationErrors = v.problems
		st.SetCondition(backupv1alpha1.ConditionSourceVerified, metav1.ConditionFalse, reason, msg, s.now)
		s.after(func() {
			for i, p := range v.problems {
				r.recorder().warning(rr, v.reasons[i], "Validate", "%s", p)
			}
		})
		return stepResult{}, failWith(backupv1alpha1.ReasonValidationFailed, "%s", msg)
	}
	st.ValidationErrors = nil
	msg := fmt.Sprintf("backup %s verified and every target checked; nothing was written before this point", st.Source.BackupID)
	st.SetCondition(backupv1alpha1.ConditionSourceVerified, metav1.ConditionTrue, backupv1alpha1.ReasonSourceVerified, msg, s.now)
	s.after(func() {
		r.recorder().normal(rr, backupv1alpha1.ReasonSourceVerified, "Validate", "Restore validated: %s", msg)
	})
	// Stored before the first write: requeue at once for the next step.
	return stepResult{requeueAfter: time.Nanosecond}, nil
}

func historyRetryOr(wait *time.Duration) time.Duration {
	if wait == nil {
		return 0
	}
	return *wait
}

func allowRepeat(rr *backupv1alpha1.RestoreRequest) bool {
	return strings.EqualFold(rr.Annotations[backupv1alpha1.AllowRepeatAnnotation], "true")
}

// validateTargets runs the checks that read the cloud: the backup's bucket and every
// target belong to the project, the snapshot is there and available, the target
// instance does not exist, the target prefix is empty or the overwrite confirmed.
func (r *RestoreRequestReconciler) validateTargets(ctx context.Context, s *restoreScope, v *validation) error {
	rr, m := s.rr, s.src.manifest
	// The manifest's bucket and the backup's places were checked before they were read
	// (resolveSource); the snapshot is checked here, where it is first looked at.
	if db := rr.Spec.Database; db != nil {
		if err := r.validateDatabase(ctx, s, v, db); err != nil {
			return err
		}
	} else if rr.Spec.VerifyOnly && m.Database != nil {
		// verifyOnly reports a missing snapshot itself; one of another project is refused.
		if m.Database.SnapshotID != "" {
			if _, err := r.snapshotOwned(ctx, s, v, m.Database.SnapshotID); err != nil {
				return err
			}
		}
		if m.Database.Dump != nil {
			validateDumpReadable(s, v, "spec.verifyOnly")
		}
	}
	if dl := rr.Spec.DocumentLibrary; dl != nil {
		return r.validateDocumentLibraryTarget(ctx, s, v, dl)
	}
	return nil
}

// validateDocumentLibraryTarget checks that the backup holds a document library, that
// the target is outside the backup and every backup and belongs to the project, and
// that its prefix is empty or the overwrite confirmed.
func (r *RestoreRequestReconciler) validateDocumentLibraryTarget(ctx context.Context, s *restoreScope, v *validation, dl *backupv1alpha1.DocumentLibraryRestoreSpec) error {
	m := s.src.manifest
	if m.DocumentLibrary == nil {
		v.add(backupv1alpha1.ReasonValidationFailed, "spec.documentLibrary: the backup %s holds no document library", m.BackupID)
		return nil
	}
	target, prefix := string(dl.TargetBucket), dl.TargetKeyPrefix()
	if s.src.overlapsTarget(target, prefix) {
		v.add(backupv1alpha1.ReasonValidationFailed,
			"spec.documentLibrary.targetPrefix: s3://%s/%s overlaps the backup itself (s3://%s/%s), the repositories or the restore records; choose a prefix outside it",
			target, prefix, target, s.src.dataPrefix())
		return nil
	}
	if err := r.checkBucketOwned(ctx, s, v, target, "spec.documentLibrary.targetBucket", "target bucket"); err != nil {
		return err
	}
	if err := r.checkTargetOutsideBackups(ctx, s, v, target, prefix); err != nil {
		return err
	}
	return r.checkExistingObjects(ctx, s, v, dl.ExistingObjects, target, prefix)
}

// overlapsTarget reports whether the target prefix in bucket target overlaps the
// backup's own files, the project's repositories or its restore records.
func (l *loadedSource) overlapsTarget(target, prefix string) bool {
	project := l.manifest.ProjectID
	return target == l.dataBucket() && (provider.PrefixesOverlap(prefix, l.dataPrefix()) || provider.PrefixesOverlap(prefix, restoresPrefix(project)) ||
		provider.PrefixesOverlap(prefix, project+"/"+repository.Dir))
}

// checkExistingObjects applies spec.documentLibrary.existingObjects to the target:
// Overwrite must be confirmed by annotation, Refuse needs an empty prefix.
func (r *RestoreRequestReconciler) checkExistingObjects(ctx context.Context, s *restoreScope, v *validation, existingObjects backupv1alpha1.ExistingObjectsPolicy, target, prefix string) error {
	switch existingObjects {
	case backupv1alpha1.ExistingObjectsOverwrite:
		want := target + "/" + prefix
		if got, ok := s.rr.Annotations[backupv1alpha1.ConfirmOverwriteAnnotation]; !ok || got != want {
			v.add(backupv1alpha1.ReasonOverwriteNotAllowed,
				"spec.documentLibrary.existingObjects: Overwrite replaces objects under s3://%s/%s; confirm it with the annotation %s: %q (found %q)",
				target, prefix, backupv1alpha1.ConfirmOverwriteAnnotation, want, got)
		}
	case backupv1alpha1.ExistingObjectsSkip:
	default: // Refuse
		existing, err := s.prov.ListObjectsUpTo(ctx, target, prefix, 1)
		r.observeCall("ListObjectsUpTo", err)
		if err != nil {
			return fmt.Errorf("check that s3://%s/%s is empty: %w", target, prefix, err)
		}
		if len(existing) > 0 {
			v.add(backupv1alpha1.ReasonTargetNotEmpty,
				"spec.documentLibrary.targetPrefix: s3://%s/%s already holds objects (for example %s); choose an empty prefix, or set spec.documentLibrary.existingObjects to Skip (restore only missing files) or Overwrite",
				target, prefix, existing[0].Key)
		}
	}
	return nil
}

// validateDatabase checks the backup's snapshot and that the target instance is new;
// for a dump loaded into a Secret's database, validateDumpTarget; for a dump loaded
// into a new instance, validateNewInstanceDump and that the instance is new.
func (r *RestoreRequestReconciler) validateDatabase(ctx context.Context, s *restoreScope, v *validation, db *backupv1alpha1.DatabaseRestoreSpec) error {
	if db.TargetInstanceID == "" {
		return r.validateDumpTarget(ctx, s, v, db)
	}
	m := s.src.manifest
	switch {
	case db.ConnectionSecretRef != nil:
		if err := r.validateNewInstanceDump(ctx, s, v, db); err != nil {
			return err
		}
	case m.Database != nil && m.Database.SnapshotID == "" && m.Database.Dump != nil:
		v.add(backupv1alpha1.ReasonValidationFailed,
			"spec.database.targetInstanceId: the backup %s holds a dump (%s), not a snapshot; to create instance %s and load the dump into it, add spec.database.connectionSecretRef naming a Secret with the new instance's master user, password and database (docs/restore.md)",
			m.BackupID, m.Database.Dump.Key, db.TargetInstanceID)
	case m.Database == nil || m.Database.SnapshotID == "":
		v.add(backupv1alpha1.ReasonValidationFailed, "spec.database: the backup %s has no database snapshot", m.BackupID)
	default:
		snap, err := r.snapshotOwned(ctx, s, v, m.Database.SnapshotID)
		switch {
		case err != nil:
			return err
		case snap == nil:
			v.add(backupv1alpha1.ReasonSourceNotReady, "spec.database: the backup's snapshot %s no longer exists", m.Database.SnapshotID)
		case snap.State != provider.SnapshotAvailable:
			v.add(backupv1alpha1.ReasonSourceNotReady, "spec.database: the backup's snapshot %s is %s, not available", m.Database.SnapshotID, snap.RawStatus)
		}
	}
	inst, err := s.prov.DescribeDatabaseInstance(ctx, db.TargetInstanceID)
	r.observeCall("DescribeDatabaseInstance", err)
	switch {
	case provider.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("check that instance %s does not exist: %w", db.TargetInstanceID, err)
	case inst.Owner.UID == string(s.rr.UID):
		// Started by this restore (validation is stored before the first write, so
		// only a hand-made copy of the owner tags gets here): adopted later.
	default:
		v.add(backupv1alpha1.ReasonTargetExists,
			"spec.database.targetInstanceId: instance %s already exists; a restore never replaces an instance: choose a new identifier", db.TargetInstanceID)
	}
	return nil
}

// validateDumpTarget checks a dump load into the database of
// spec.database.connectionSecretRef before anything is written: the backup holds a
// dump the dumper can read, the Secret is there with every key, and an overwrite is
// confirmed. Whether the database is empty only the dumper can tell (the controller
// never connects to a project's database): it refuses a non-empty one before loading
// anything.
func (r *RestoreRequestReconciler) validateDumpTarget(ctx context.Context, s *restoreScope, v *validation, db *backupv1alpha1.DatabaseRestoreSpec) error {
	rr := s.rr
	if !validateHoldsDump(s, v) {
		return nil
	}
	name := db.ConnectionSecretRef.Name
	if db.ExistingData == backupv1alpha1.ExistingDataOverwrite {
		if got, ok := rr.Annotations[backupv1alpha1.ConfirmDatabaseOverwriteAnnotation]; !ok || got != name {
			v.add(backupv1alpha1.ReasonOverwriteNotAllowed,
				"spec.database.existingData: Overwrite replaces the dump's tables in the database of Secret %s; confirm it with the annotation %s: %q (found %q)",
				name, backupv1alpha1.ConfirmDatabaseOverwriteAnnotation, name, got)
		}
	}
	iam := db.Authentication == backupv1alpha1.DatabaseAuthIAM
	if iam && r.iamRegion(s) == "" {
		v.add(backupv1alpha1.ReasonValidationFailed,
			"spec.database.authentication IAM signs an RDS IAM token for the region of the backup's store, and store %q has none: only provider aws has RDS", s.provName)
		return nil
	}
	return r.validateSecret(ctx, s, v, name, connectionKeys, iam)
}

// validateNewInstanceDump checks a dump load into the new instance of
// spec.database.targetInstanceId before anything is written: the backup holds a
// dump the dumper can read, the Secret is there with the master user, password and
// database, and the instance's engine and class are known. (CEL refuses
// existingData: a new instance is empty.)
func (r *RestoreRequestReconciler) validateNewInstanceDump(ctx context.Context, s *restoreScope, v *validation, db *backupv1alpha1.DatabaseRestoreSpec) error {
	if !validateHoldsDump(s, v) {
		return nil
	}
	m := s.src.manifest
	if m.Database.Dump.Engine == "" {
		v.add(backupv1alpha1.ReasonValidationFailed, "spec.database.targetInstanceId: the backup %s does not record its dump's engine, so the new instance's engine is unknown", m.BackupID)
	}
	if r.instanceSettings(s).InstanceClass == "" {
		v.add(backupv1alpha1.ReasonValidationFailed,
			"spec.database.instanceClass: the backup %s records no source instance, so the new instance %s needs its class (for example db.t3.medium)", m.BackupID, db.TargetInstanceID)
	}
	name := db.ConnectionSecretRef.Name
	secret, err := readConnectionSecret(ctx, r.APIReader, s.rr.Namespace, name, "spec.database.connectionSecretRef", masterKeys, false)
	var f *failure
	switch {
	case errors.As(err, &f):
		v.add(f.reason, "spec.database.connectionSecretRef: %s", f.message)
	case err != nil:
		return err
	case len(secret.Data[dump.SecretKeyEngine]) > 0 && string(secret.Data[dump.SecretKeyEngine]) != m.Database.Dump.Engine:
		v.add(backupv1alpha1.ReasonConnectionSecretInvalid,
			"spec.database.connectionSecretRef: Secret %s/%s names the engine %q, and the new instance gets the dump's, %q: remove the key or correct it",
			s.rr.Namespace, name, secret.Data[dump.SecretKeyEngine], m.Database.Dump.Engine)
	}
	return nil
}

// validateHoldsDump refuses a restore through spec.database.connectionSecretRef of a
// backup without a dump, or with one the dumper cannot read, and reports whether
// there is a dump.
func validateHoldsDump(s *restoreScope, v *validation) bool {
	m := s.src.manifest
	if m.Database == nil || m.Database.Dump == nil {
		has := "no database"
		if m.Database != nil && m.Database.SnapshotID != "" {
			has = fmt.Sprintf("a snapshot (%s), which does not load into a Secret's database: spec.database.targetInstanceId alone restores it into a new instance", m.Database.SnapshotID)
		}
		v.add(backupv1alpha1.ReasonValidationFailed, "spec.database.connectionSecretRef: the backup %s holds no dump to load, only %s", m.BackupID, has)
		return false
	}
	validateDumpReadable(s, v, "spec.database.connectionSecretRef")
	return true
}

// validateSecret adds a problem unless the connection Secret exists with every key of
// required (the password but for iam); only a failure to read it is an error.
func (r *RestoreRequestReconciler) validateSecret(ctx context.Context, s *restoreScope, v *validation, name string, required []string, iam bool) error {
	err := checkConnectionSecret(ctx, r.APIReader, s.rr.Namespace, name, "spec.database.connectionSecretRef", required, iam)
	var f *failure
	if errors.As(err, &f) {
		v.add(f.reason, "spec.database.connectionSecretRef: %s", f.message)
		return nil
	}
	return err
}

// validateDumpReadable refuses a dump the dumper cannot read: one whose key leaves
// the backup's database/ folder, or one on a store the dumper has no client for.
func validateDumpReadable(s *restoreScope, v *validation, field string) {
	key := s.src.manifest.Database.Dump.Key
	if !layout.IsDatabaseKey(key) {
		v.add(backupv1alpha1.ReasonChecksumMismatch, "%s: the manifest names the dump %q, which is not in the backup's %s folder; the backup is not trusted", field, key, layout.DatabaseDir)
	}
	if s.provName == backupv1alpha1.ProviderGCP {
		v.add(backupv1alpha1.ReasonProviderNotSupported, "%s: the dumper cannot read dumps from Cloud Storage yet (docs/dumps.md)", field)
	}
}

// checkBucketOwned adds a problem unless the target bucket carries the project's
// ownership tag, as a backup's source must.
func (r *RestoreRequestReconciler) checkBucketOwned(ctx context.Context, s *restoreScope, v *validation, bucket, field, what string) error {
	tag, err := r.bucketTag(ctx, s, bucket)
	switch {
	case err != nil:
		return err
	case tag.owned(false):
		return nil
	case !tag.exists:
		v.add(backupv1alpha1.ReasonNotFound, "%s: %s %s does not exist", field, what, bucket)
		return nil
	}
	key, project := r.Options.OwnershipTagKey, s.project
	has := fmt.Sprintf("has no %s tag, so it does not belong to project %q", key, project)
	if tag.project != "" {
		has = fmt.Sprintf("belongs to project %q (tag %s), not to project %q", tag.project, key, project)
	}
	v.add(backupv1alpha1.ReasonResourceNotOwned, "%s: %s %s %s; if it is %s's, tag it (%s)", field, what, bucket, has, project, provider.BucketTagCommand(s.prov, bucket, key, project))
	return nil
}

// bucketOwnership is what a bucket's tags say about the restoring project.
type bucketOwnership struct {
	// off is true when ownership checks are off (--resource-ownership=none).
	off, exists bool
	// project is the project the ownership tag names ("" when untagged); mine is
	// whether that is the restoring project, shared whether the bucket is tagged as
	// shared by every project's backups.
	project      string
	mine, shared bool
}

// owned reports whether the bucket may be used: ownership is off, it is the
// project's, or (when sharedOK) it is a shared backup bucket.
func (b bucketOwnership) owned(sharedOK bool) bool {
	return b.off || (b.exists && (b.mine || (sharedOK && b.shared)))
}

// bucketTag reads bucket's tags once for the ownership rules; an error other than
// "no such bucket" is returned, to be retried.
func (r *RestoreRequestReconciler) bucketTag(ctx context.Context, s *restoreScope, bucket string) (bucketOwnership, error) {
	if r.Options.ResourceOwnership == OwnershipNone {
		return bucketOwnership{off: true}, nil
	}
	tags, err := s.prov.BucketTags(ctx, bucket)
	r.observeCall("BucketTags", err)
	if provider.IsNotFound(err) {
		return bucketOwnership{}, nil
	}
	if err != nil {
		return bucketOwnership{}, fmt.Errorf("read the tags of bucket %s: %w", bucket, err)
	}
	found := tags[r.Options.OwnershipTagKey]
	return bucketOwnership{exists: true, project: found, mine: found == s.project,
		shared: tags[backupv1alpha1.SharedBackupBucketTag] == "true"}, nil
}

// restoreKey is the restore's identity for the one-shot rule: the backup and the targets.
func restoreKey(rr *backupv1alpha1.RestoreRequest) RestoreHistoryKey {
	return RestoreHistoryKey{RestoreIdentity: rr.Identity(), ExcludeUID: string(rr.UID)}
}

// checkNotRestoredBefore applies the one-shot rule: a Succeeded RestoreRequest in the
// cluster, or a completed restore in the history database, with the same backup and
// targets refuses this one (a restore re-applied from Git after a prune must not roll
// anything back). The database is asked off the reconcile goroutine; until it answers
// (or while it fails) the restore waits, with a condition saying so: with archival
// configured it never goes ahead without the answer. wait is non-nil while waiting.
func (r *RestoreRequestReconciler) checkNotRestoredBefore(ctx context.Context, s *restoreScope, v *validation) (*time.Duration, error) {
	rr, st := s.rr, s.status()
	key := restoreKey(rr)
	var others backupv1alpha1.RestoreRequestList
	if err := r.List(ctx, &others, client.MatchingFields{restoreSourceBackupIndex: key.BackupID}); err != nil {
		return nil, fmt.Errorf("list restores of backup %s: %w", key.BackupID, err)
	}
	for i := range others.Items {
		o := &others.Items[i]
		if o.UID != rr.UID && o.Status.Phase == backupv1alpha1.RestorePhaseSucceeded && !o.Spec.VerifyOnly && restoreKey(o) == withUID(key, o.UID) {
			v.add(backupv1alpha1.ReasonAlreadyRestored, "%s", alreadyRestored(key, o.Namespace+"/"+o.Name))
			return nil, nil
		}
	}
	if r.History == nil {
		return nil, nil
	}
	found, err, ready := r.lookups.get(rr, r.History, key)
	var waiting string
	switch {
	case !ready:
		waiting = "waiting for the history database to tell whether this backup was already restored into these targets"
	case err != nil:
		waiting = fmt.Sprintf("waiting for the history database, which failed to answer whether this backup was already restored into these targets (%v); retrying in %s",
			err, r.lookups.retryAfter(rr.UID))
	case found != nil:
		v.add(backupv1alpha1.ReasonAlreadyRestored, "%s", alreadyRestored(key, fmt.Sprintf("%s/%s at %s", found.Namespace, found.Name, found.CompletedAt.UTC().Format(time.RFC3339))))
		return nil, nil
	default:
		return nil, nil
	}
	st.SetCondition(backupv1alpha1.ConditionSourceVerified, metav1.ConditionUnknown, backupv1alpha1.ReasonInProgress, waiting, s.now)
	wait := time.Duration(0) // woken by the lookup's answer
	if ready {
		wait = r.lookups.retryAfter(rr.UID)
	}
	return &wait, nil
}

func withUID(k RestoreHistoryKey, uid types.UID) RestoreHistoryKey {
	k.ExcludeUID = string(uid)
	return k
}

func alreadyRestored(k RestoreHistoryKey, by string) string {
	return fmt.Sprintf("spec: backup %s was already restored into these targets by %s; a completed restore is not repeated (a re-applied RestoreRequest must not roll data back); annotate %s: \"true\" to restore it again",
		k.BackupID, by, backupv1alpha1.AllowRepeatAnnotation)
}

// restoresPrefix is where the restores of project keep their records in a backup bucket.
func restoresPrefix(project string) string { return project + "/" + restoresDir }

const restoresDir = ".restores/"
