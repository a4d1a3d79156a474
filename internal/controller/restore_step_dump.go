package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/dumprun"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// reconcileRestoreDump loads the backup's dump into the database of
// spec.database.connectionSecretRef. The dumper does it (a Job, or the manager's
// child process), never this process: it streams the stored dump into pg_restore (one
// transaction) or the mariadb client, checks the bytes against the dump's record and
// the manifest, counts the rows of the tables the dump counted, and writes its result,
// restore.json, into this restore's record. The outcome is read from that record,
// never from logs. It owns the DatabaseRestored condition (for a dump; the snapshot
// step owns it otherwise) and status.database.dump.
//
// Restart safety: the run is named after the restore, so a retried pass finds the run
// it started; a run lost with a restarted manager is started again with a new token,
// and only the new run's record is read.
func (r *RestoreRequestReconciler) reconcileRestoreDump(ctx context.Context, s *restoreScope) (stepResult, error) {
	rr, st := s.rr, s.status()
	if !restoresDump(rr) || st.IsConditionTrue(backupv1alpha1.ConditionDatabaseRestored) {
		return stepDone, nil
	}
	if st.Database == nil || st.Database.Dump == nil || st.Database.Dump.JobName == "" {
		return r.startDumpLoad(ctx, s, false)
	}
	task := dumpLoadRun(rr)
	outcome, err := r.Dumps.Outcome(ctx, task)
	if err != nil {
		return stepResult{}, fmt.Errorf("read the dump load's state: %w", err)
	}
	switch outcome.State {
	case dumprun.StateRunning:
		return stepResult{requeueAfter: r.Options.DumpPollInterval}, nil
	case dumprun.StateMissing:
		return r.startDumpLoad(ctx, s, true)
	}
	return r.finishDumpLoad(ctx, s, task, outcome)
}

// dumpTarget names where a restore loads its dump, for messages: the Secret's
// database, or the new instance's.
func dumpTarget(rr *backupv1alpha1.RestoreRequest) string {
	db := rr.Spec.Database
	if createsInstance(rr) {
		return fmt.Sprintf("the new instance %s (the database and master user of Secret %s/%s)", db.TargetInstanceID, rr.Namespace, db.ConnectionSecretRef.Name)
	}
	return fmt.Sprintf("the database of Secret %s/%s", rr.Namespace, db.ConnectionSecretRef.Name)
}

// restoresDump is a restore that loads a dump into a Secret's database or a new
// instance.
func restoresDump(rr *backupv1alpha1.RestoreRequest) bool {
	db := rr.Spec.Database
	return db != nil && db.ConnectionSecretRef != nil && !rr.Spec.VerifyOnly
}

// dumpLoadRun and dumpVerifyRun name a restore's dumper runs; Stop and Outcome need
// no more than the name and the owner.
func dumpLoadRun(rr *backupv1alpha1.RestoreRequest) dumprun.Task {
	return dumprun.Task{Owner: rr, Name: "lc2-restore-" + string(rr.UID)}
}

func dumpVerifyRun(rr *backupv1alpha1.RestoreRequest) dumprun.Task {
	return dumprun.Task{Owner: rr, Name: "lc2-verify-" + string(rr.UID)}
}

// startDumpLoad claims the restore's record (where the dumper writes its result) and
// launches the load with a new run token.
func (r *RestoreRequestReconciler) startDumpLoad(ctx context.Context, s *restoreScope, again bool) (stepResult, error) {
	rr, st := s.rr, s.status()
	rec := recordOf(rr)
	if err := r.claimRecord(ctx, s, rec); err != nil {
		return stepResult{}, err
	}
	start := metav1.NewTime(s.now.Truncate(time.Second))
	env := []corev1.EnvVar{{Name: dump.EnvRestoreRecordPrefix, Value: rec.prefix}, {Name: dump.EnvRun, Value: runToken(start)}}
	if rr.Spec.Database.ExistingData == backupv1alpha1.ExistingDataOverwrite {
		// Validation checked the confirming annotation before anything was written.
		env = append(env, corev1.EnvVar{Name: dump.EnvConfirmNonEmpty, Value: strconv.FormatBool(true)})
	}
	secret := rr.Spec.Database.ConnectionSecretRef.Name
	endpoint := ""
	if createsInstance(rr) {
		// The new instance's endpoint replaces the Secret's host and port; one that
		// does not parse must not fall back to them (they may name another server).
		endpoint = r.Options.dumperEndpoint(st.Database.InstanceID, st.Database.Endpoint)
		if _, _, err := net.SplitHostPort(endpoint); err != nil {
			return stepResult{}, failWith(backupv1alpha1.ReasonDatabaseFailed, "instance %s reports the endpoint %q, which is not host:port", st.Database.InstanceID, endpoint)
		}
	}
	env = append(env, corev1.EnvVar{Name: dump.EnvSecretRef, Value: rr.Namespace + "/" + secret})
	env = append(env, connectionEnv(secret, endpoint, r.iamRegion(s))...)
	task := r.dumperRun(s, dumpLoadRun(rr), "restore", env, secret)
	if err := r.Dumps.Start(ctx, task); err != nil {
		return stepResult{}, dumperStartFailed(err, "start the dump load")
	}
	if st.Database == nil {
		st.Database = &backupv1alpha1.DatabaseRestoreStatus{}
	}
	source := s.src.dumpLocation()
	st.Database.Dump = &backupv1alpha1.DumpRestoreStatus{JobName: task.Name, StartTime: &start, Source: source,
		RecordLocation: fmt.Sprintf("s3://%s/%s", rec.bucket, layout.RestoreResultKey(rec.prefix))}
	message := fmt.Sprintf("loading the dump %s into %s", source, dumpTarget(rr))
	if again {
		message = "the dumper's run was lost (a restarted manager or a deleted Job); " + message + " again"
	}
	st.SetCondition(backupv1alpha1.ConditionDatabaseRestored, metav1.ConditionFalse, backupv1alpha1.ReasonLoadingDump, message, s.now)
	s.after(func() {
		ctrl.LoggerFrom(ctx).Info("dump load started", "run", task.Name, "again", again)
		r.recorder().normal(rr, backupv1alpha1.ReasonLoadingDump, "RestoreDatabase", "Dump load %s started: %s", task.Name, message)
	})
	return stepResult{requeueAfter: r.Options.DumpPollInterval}, nil
}

// iamRegion is the region a load that logs in with an RDS IAM token signs it for: the
// backup's store's (aws); "" for a load with the Secret's password, or a store
// without a region.
func (r *RestoreRequestReconciler) iamRegion(s *restoreScope) string {
	if db := s.rr.Spec.Database; db == nil || db.Authentication != backupv1alpha1.DatabaseAuthIAM {
		return ""
	}
	return provider.RegionOf(s.prov)
}

// dumperRun completes a restore's run of the dumper: the store and the backup's place
// (where the dump and its record are), the dump's SHA-256 as the verified manifest
// records it, the manager's store settings, and the store keys a local store's Job
// takes from the connection Secret (secret; "" for none).
func (r *RestoreRequestReconciler) dumperRun(s *restoreScope, run dumprun.Task, command string, env []corev1.EnvVar, secret string) dumprun.Task {
	prov := s.provName
	d := s.src.manifest.Database.Dump
	env = append([]corev1.EnvVar{
		{Name: dump.EnvProvider, Value: string(prov)},
		{Name: dump.EnvBucket, Value: s.src.bucket},
		{Name: dump.EnvPrefix, Value: s.src.backupPrefix()},
		{Name: dump.EnvExpectSHA256, Value: d.SHA256},
	}, env...)
	if secret != "" {
		env = append(env, storeKeysEnv(prov, secret)...)
	}
	env = append(env, r.Options.DumperEnv...)
	return dumperTask(s.rr, prov, run.Name, command, env, r.Options.BackupDeadline)
}

// finishDumpLoad reads the ended run's record and accepts the load only when the run
// exited 0 and its record, of this run, says Succeeded; the finished run is removed
// once that is stored.
func (r *RestoreRequestReconciler) finishDumpLoad(ctx context.Context, s *restoreScope, task dumprun.Task, outcome dumprun.Outcome) (stepResult, error) {
	rr, st := s.rr, s.status()
	rec := recordOf(rr)
	key := layout.RestoreResultKey(rec.prefix)
	result, err := r.readRestoreResult(ctx, s.prov, rec.bucket, key)
	if err != nil {
		return stepResult{}, err
	}
	if result == nil || result.Run != runToken(*st.Database.Dump.StartTime) {
		return stepResult{}, failWith(backupv1alpha1.ReasonDatabaseFailed,
			"the dumper %s without writing its record s3://%s/%s; its output is in the manager's log (process runner) or the Job's pod log",
			describeOutcome(outcome), rec.bucket, key)
	}
	if result.State != dump.StateSucceeded {
		return stepResult{}, failWith(dumpFailureReason(result.Reason), "%s (the dumper %s)%s", result.Message, describeOutcome(outcome), partialLoadNote(result))
	}
	if outcome.State != dumprun.StateSucceeded {
		return stepResult{}, failWith(backupv1alpha1.ReasonDatabaseFailed,
			"the dumper recorded a finished load but then %s; the load is not trusted", describeOutcome(outcome))
	}
	end := metav1.NewTime(result.EndTime)
	d := st.Database.Dump
	d.CompletionTime, d.Engine, d.SizeBytes, d.TablesChecked = &end, result.Engine, result.SizeBytes, int32(len(result.Tables))
	msg := fmt.Sprintf("the %s dump %s (%d bytes, checked against its record and the manifest) is loaded into %s; the row counts of its %d largest tables match the dump's",
		result.Engine, d.Source, d.SizeBytes, dumpTarget(rr), d.TablesChecked)
	st.SetCondition(backupv1alpha1.ConditionDatabaseRestored, metav1.ConditionTrue, backupv1alpha1.ReasonDumpLoaded, msg, s.now)
	st.SetCondition(backupv1alpha1.ConditionSearchReindexRequired, metav1.ConditionTrue, backupv1alpha1.ReasonDatabaseRestoredWithoutIndex,
		backupv1alpha1.SearchReindexMessage, s.now)
	s.after(func() {
		r.recorder().normal(rr, backupv1alpha1.ReasonDumpLoaded, "RestoreDatabase", "Dump loaded: %s", msg)
		if err := r.Dumps.Stop(ctx, task); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "remove the finished dump load", "run", task.Name)
		}
	})
	return stepDone, nil
}

// partialLoadNote says what a failed load may have left in the target: PostgreSQL
// loads in one transaction, MySQL and MariaDB commit table by table.
func partialLoadNote(result *dump.RestoreResult) string {
	if result.Reason != dump.ReasonRestoreFailed || result.Engine == "" || result.Engine == dump.EnginePostgres {
		return ""
	}
	return "; the tables loaded before the failure stay in the target database"
}

// readRestoreResult reads restore.json; nil when there is none.
func (r *RestoreRequestReconciler) readRestoreResult(ctx context.Context, prov provider.Provider, bucket, key string) (*dump.RestoreResult, error) {
	data, err := provider.ReadSmallObject(ctx, prov, bucket, key)
	r.observeCall("DownloadObject", err)
	if provider.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the dump load's record s3://%s/%s: %w", bucket, key, err)
	}
	result := &dump.RestoreResult{}
	if err := json.Unmarshal(data, result); err != nil {
		return nil, failWith(backupv1alpha1.ReasonDatabaseFailed, "the dump load's record s3://%s/%s is not valid JSON: %v", bucket, key, err)
	}
	return result, nil
}

// verifyDump is verifyOnly's full read of the backup's dump, in the dumper: the
// stored object is re-read (its size and SHA-256 must be its record's, and the
// record's SHA-256 the manifest's) through pg_restore -f /dev/null or a full
// decompress to the dump-completed trailer. It writes nothing, so its outcome is the
// run's exit code; the reason is in the run's output. done is false while it runs.
func (r *RestoreRequestReconciler) verifyDump(ctx context.Context, s *restoreScope, ver *backupv1alpha1.VerificationStatus) (done bool, err error) {
	m, st := s.src.manifest, s.status()
	if m.Database == nil || m.Database.Dump == nil {
		return true, nil
	}
	prior := st.Verification
	if prior != nil && prior.Dump != nil && prior.Dump.Result != "" {
		ver.Dump = prior.Dump
		return true, nil
	}
	run := dumpVerifyRun(s.rr)
	outcome, err := r.Dumps.Outcome(ctx, run)
	if err != nil {
		return false, fmt.Errorf("read the dump check's state: %w", err)
	}
	check := &backupv1alpha1.DumpVerificationStatus{JobName: run.Name, Location: s.src.dumpLocation()}
	ver.Dump = check
	switch outcome.State {
	case dumprun.StateMissing:
		// Never started, or lost with a restarted manager: the check writes nothing,
		// so running it (again) is always safe.
		task := r.dumperRun(s, run, "verify", nil, "")
		if err := r.Dumps.Start(ctx, task); err != nil {
			return false, dumperStartFailed(err, "start the dump check")
		}
		msg := fmt.Sprintf("reading the dump %s in full in the dumper (%s)", check.Location, run.Name)
		st.SetCondition(backupv1alpha1.ConditionVerified, metav1.ConditionFalse, backupv1alpha1.ReasonVerifyingDump, msg, s.now)
		s.after(func() {
			r.recorder().normal(s.rr, backupv1alpha1.ReasonVerifyingDump, "Verify", "Dump check started: %s", msg)
		})
		return false, nil
	case dumprun.StateRunning:
		return false, nil
	case dumprun.StateSucceeded:
		check.Result = backupv1alpha1.DumpVerificationPassed
	default:
		check.Result = backupv1alpha1.DumpVerificationFailed
		addVerificationProblem(ver, "dump %s: the full read failed (the dumper %s); the run's output says why: the Job's pod log, or the manager's log with the process runner",
			check.Location, describeOutcome(outcome))
	}
	s.after(func() {
		if err := r.Dumps.Stop(ctx, run); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "remove the finished dump check", "run", run.Name)
		}
	})
	return true, nil
}

// stopRestoreDumper ends a restore's dumper runs, if any run (failed, cancelled or
// deleted): a stopped PostgreSQL load rolls back. A failure to stop is logged; the
// run's deadline and its owner reference still end it.
func (r *RestoreRequestReconciler) stopRestoreDumper(ctx context.Context, rr *backupv1alpha1.RestoreRequest) {
	if rr.Spec.Database == nil && !rr.Spec.VerifyOnly {
		return
	}
	for _, run := range []dumprun.Task{dumpLoadRun(rr), dumpVerifyRun(rr)} {
		if err := r.Dumps.Stop(ctx, run); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "stop the dumper", "run", run.Name)
		}
	}
}

// backupPrefix is the backup's own prefix in bucket: where its manifest is, and its
// dump with dump.json under database/.
func (l *loadedSource) backupPrefix() string { return strings.TrimSuffix(l.key, layout.ManifestName) }

// dumpLocation is the URL of the backup's dump.
func (l *loadedSource) dumpLocation() string {
	return fmt.Sprintf("s3://%s/%s%s", l.bucket, l.backupPrefix(), l.manifest.Database.Dump.Key)
}
