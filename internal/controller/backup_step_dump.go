package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/dumprun"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// reconcileDump runs the logical dump (type: dump) in the dumper, a Job or the
// manager's child process, and reads how it went from the dumper's record, dump.json,
// never from logs. It owns the DatabaseDumped condition and status.database.dump. The
// run's name is derived from the backup, so a pass retried after a failed status write
// finds the run it started instead of starting another.
func (r *BackupRequestReconciler) reconcileDump(ctx context.Context, s *backupScope) (stepResult, error) {
	br, st := s.br, s.status()
	if !isDump(br) || st.IsConditionTrue(backupv1alpha1.ConditionDatabaseDumped) {
		return stepDone, nil
	}
	if st.Database == nil || st.Database.Dump == nil || st.Database.Dump.JobName == "" {
		return r.startDump(ctx, s, false)
	}
	task := r.dumpTask(br)
	outcome, err := r.Dumps.Outcome(ctx, task)
	if err != nil {
		return stepResult{}, fmt.Errorf("read the dump's state: %w", err)
	}
	switch outcome.State {
	case dumprun.StateRunning:
		return stepResult{requeueAfter: r.Options.DumpPollInterval}, nil
	case dumprun.StateMissing:
		// Lost with a restarted manager (its child process died with it) or a Job
		// deleted by someone: run it again. The dumper writes only this backup's own
		// dump files, and its record last.
		return r.startDump(ctx, s, true)
	}
	return r.finishDump(ctx, s, task, outcome)
}

func isDump(br *backupv1alpha1.BackupRequest) bool {
	return br.Spec.Database != nil && br.Spec.Database.Type == backupv1alpha1.DatabaseBackupDump
}

// startDump launches the dumper and records the run: its name, and its start time,
// which is also the run token the dumper writes back into dump.json, so a record left
// by an earlier run is never read as this run's.
func (r *BackupRequestReconciler) startDump(ctx context.Context, s *backupScope, again bool) (stepResult, error) {
	br, st := s.br, s.status()
	start := metav1.NewTime(s.now.Truncate(time.Second))
	task := r.dumpTask(br)
	task.Env = append(task.Env, corev1.EnvVar{Name: dump.EnvRun, Value: runToken(start)})
	if err := r.Dumps.Start(ctx, task); err != nil {
		return stepResult{}, dumperStartFailed(err, "start the dump")
	}
	if st.Database == nil {
		st.Database = &backupv1alpha1.DatabaseBackupStatus{}
	}
	st.Database.Dump = &backupv1alpha1.DatabaseDumpStatus{JobName: task.Name, StartTime: &start}
	bucket, prefix, _ := r.destination(br)
	message := fmt.Sprintf("dumping the database named by Secret %s into s3://%s/%s", secretName(br), bucket, prefix+layout.DatabaseDir)
	if again {
		message = "the dumper's run was lost (a restarted manager or a deleted Job); " + message + " again"
	}
	st.SetCondition(backupv1alpha1.ConditionDatabaseDumped, metav1.ConditionFalse, backupv1alpha1.ReasonDumping, message, s.now)
	s.after(func() {
		ctrl.LoggerFrom(ctx).Info("dump started", "run", task.Name, "again", again)
		r.recorder().normal(br, backupv1alpha1.ReasonDumping, "Dump", "Dump %s started: %s", task.Name, message)
	})
	return stepResult{requeueAfter: r.Options.DumpPollInterval}, nil
}

// finishDump reads the ended run's record and accepts the dump only when the run,
// the record and the stored object agree; the finished Job is removed once that is
// stored.
func (r *BackupRequestReconciler) finishDump(ctx context.Context, s *backupScope, task dumprun.Task, outcome dumprun.Outcome) (stepResult, error) {
	br, st := s.br, s.status()
	bucket, prefix, _ := r.destination(br)
	recordKey := layout.DumpResultKey(prefix)
	result, record, err := r.readDumpResult(ctx, s.prov, bucket, recordKey)
	if err != nil {
		return stepResult{}, err
	}
	if result == nil || result.Run != runToken(*st.Database.Dump.StartTime) {
		return stepResult{}, failWith(backupv1alpha1.ReasonDumpFailed,
			"the dumper %s without writing its record s3://%s/%s; its output is in the manager's log (process runner) or the Job's pod log",
			describeOutcome(outcome), bucket, recordKey)
	}
	if result.State != dump.StateSucceeded {
		return stepResult{}, failWith(dumpFailureReason(result.Reason), "%s (the dumper %s)", result.Message, describeOutcome(outcome))
	}
	if outcome.State != dumprun.StateSucceeded {
		return stepResult{}, failWith(backupv1alpha1.ReasonDumpFailed,
			"the dumper recorded a verified dump but then %s; the dump is not trusted", describeOutcome(outcome))
	}
	if err := r.checkStoredDump(ctx, s.prov, bucket, prefix, result); err != nil {
		return stepResult{}, err
	}
	// Listed before the dump counts, so whatever ends the backup later, its inventory
	// says what the dump step wrote.
	if _, err := r.listDumpFiles(ctx, s.prov, bucket, prefix, result.Key, result.SHA256, result.SizeBytes, record); err != nil {
		return stepResult{}, err
	}
	recordDump(st, bucket, result)
	location := st.Database.Dump.Location
	st.SetCondition(backupv1alpha1.ConditionDatabaseDumped, metav1.ConditionTrue, backupv1alpha1.ReasonDumped,
		fmt.Sprintf("%s %s dumped by %s to %s (%s, sha256 %s), stored and read back in full", result.Engine, result.ServerVersion,
			st.Database.Dump.Tool, location, manifest.HumanBytes(result.SizeBytes), result.SHA256), s.now)
	took := result.EndTime.Sub(st.Database.Dump.StartTime.Time).Seconds()
	s.after(func() {
		if r.Metrics != nil {
			r.Metrics.Dumped(br, result.SizeBytes, took)
		}
		r.recorder().normal(br, backupv1alpha1.ReasonDumped, "Dump", "Dump stored at %s (%s), verified", location, manifest.HumanBytes(result.SizeBytes))
		if err := r.Dumps.Stop(ctx, task); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "remove the finished dump run", "run", task.Name)
		}
	})
	return stepDone, nil
}

// readDumpResult reads dump.json, returning it decoded and as stored; nil when there
// is none.
func (r *BackupRequestReconciler) readDumpResult(ctx context.Context, prov provider.Provider, bucket, key string) (*dump.Result, []byte, error) {
	data, err := provider.ReadSmallObject(ctx, prov, bucket, key)
	r.observeCall("DownloadObject", err)
	if provider.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read the dump's record s3://%s/%s: %w", bucket, key, err)
	}
	result := &dump.Result{}
	if err := json.Unmarshal(data, result); err != nil {
		return nil, nil, failWith(backupv1alpha1.ReasonDumpFailed, "the dump's record s3://%s/%s is not valid JSON: %v", bucket, key, err)
	}
	return result, data, nil
}

// checkStoredDump refuses a record that names an object outside this backup's
// database/ folder, or one the store does not hold at the recorded size.
func (r *BackupRequestReconciler) checkStoredDump(ctx context.Context, prov provider.Provider, bucket, prefix string, result *dump.Result) error {
	dir := prefix + layout.DatabaseDir
	if rel, ok := strings.CutPrefix(result.Key, prefix); result.Bucket != bucket || !ok || !layout.IsDatabaseKey(rel) {
		return failWith(backupv1alpha1.ReasonDumpVerifyFailed, "the dump's record names s3://%s/%s, which is not in this backup's s3://%s/%s", result.Bucket, result.Key, bucket, dir)
	}
	listed, err := prov.ListObjectsUpTo(ctx, bucket, result.Key, 1)
	r.observeCall("ListObjects", err)
	if err != nil {
		return fmt.Errorf("look up the stored dump s3://%s/%s: %w", bucket, result.Key, err)
	}
	if len(listed) == 0 || listed[0].Key != result.Key || listed[0].Size != result.SizeBytes {
		return failWith(backupv1alpha1.ReasonDumpVerifyFailed, "the store does not hold s3://%s/%s at the %d bytes its record states", bucket, result.Key, result.SizeBytes)
	}
	return nil
}

// recordDump fills status.database.dump (and the engine, when no snapshot named it)
// from a verified record.
func recordDump(st *backupv1alpha1.BackupRequestStatus, bucket string, result *dump.Result) {
	end := metav1.NewTime(result.EndTime)
	d := st.Database.Dump
	d.Location = fmt.Sprintf("s3://%s/%s", bucket, result.Key)
	d.SizeBytes, d.SHA256 = result.SizeBytes, result.SHA256
	d.Engine, d.ServerVersion = result.Engine, result.ServerVersion
	d.Tool = strings.TrimSpace(result.Tool + " " + result.ToolVersion)
	d.CompletionTime = &end
	if st.Database.Engine == "" {
		st.Database.Engine, st.Database.EngineVersion = result.Engine, result.ServerVersion
	}
}

// dumpFailureReason maps the dumper's reason (of a dump, or of a load into a
// restore's database) onto the condition's.
func dumpFailureReason(reason dump.Reason) backupv1alpha1.Reason {
	switch reason {
	case dump.ReasonMissingSetting:
		return backupv1alpha1.ReasonConnectionSecretInvalid
	case dump.ReasonConnectionFailed:
		return backupv1alpha1.ReasonDatabaseUnreachable
	case dump.ReasonAuthenticationFailed:
		return backupv1alpha1.ReasonDatabaseAuthenticationFailed
	case dump.ReasonServerTooNew:
		return backupv1alpha1.ReasonDumpServerTooNew
	case dump.ReasonVerifyFailed:
		return backupv1alpha1.ReasonDumpVerifyFailed
	case dump.ReasonTargetNotEmpty:
		return backupv1alpha1.ReasonTargetNotEmpty
	case dump.ReasonRowsMismatch:
		return backupv1alpha1.ReasonRowsMismatch
	case dump.ReasonRestoreFailed:
		return backupv1alpha1.ReasonDatabaseFailed
	}
	return backupv1alpha1.ReasonDumpFailed
}

func describeOutcome(o dumprun.Outcome) string {
	switch o.State {
	case dumprun.StateSucceeded:
		return "exited 0"
	case dumprun.StateFailed:
		return o.Message
	}
	return strings.ToLower(string(o.State))
}

// runToken is the run's start time as the dumper writes it back (LC2_DUMP_RUN).
func runToken(start metav1.Time) string { return start.UTC().Format(time.RFC3339) }

func secretName(br *backupv1alpha1.BackupRequest) string {
	if d := br.Spec.Database.Dump; d != nil && d.ConnectionSecretRef != nil {
		return br.Namespace + "/" + d.ConnectionSecretRef.Name
	}
	return ""
}

// dumpTask is the dumper's run for br: named after the backup, owned by it, and
// configured only through its environment, the Secret's keys by reference.
func (r *BackupRequestReconciler) dumpTask(br *backupv1alpha1.BackupRequest) dumprun.Task {
	bucket, prefix, _ := r.destination(br)
	env := []corev1.EnvVar{
		{Name: dump.EnvProvider, Value: string(br.Spec.Provider)},
		{Name: dump.EnvBucket, Value: bucket},
		{Name: dump.EnvPrefix, Value: prefix},
		{Name: dump.EnvSecretRef, Value: secretName(br)},
	}
	if d := br.Spec.Database.Dump; d != nil && d.ConnectionSecretRef != nil {
		env = append(env, connectionEnv(d.ConnectionSecretRef.Name, r.dumpInstanceEndpoint(br), r.iamRegion(br))...)
		env = append(env, storeKeysEnv(br.Spec.Provider, d.ConnectionSecretRef.Name)...)
	}
	if db := br.Status.Database; snapshotSourced(br) && db != nil {
		env = append(env, corev1.EnvVar{Name: dump.EnvSourceSnapshot, Value: db.SnapshotID})
	}
	env = append(env, r.Options.DumperEnv...)
	return dumperTask(br, br.Spec.Provider, "lc2-dump-"+string(br.UID), "backup", env, r.Options.BackupDeadline)
}

// stopDump ends a dump still running for br (failed, cancelled or deleted): the
// dumper aborts its upload. A failure to stop is logged; the run's deadline and its
// owner reference still end it.
func (r *BackupRequestReconciler) stopDump(ctx context.Context, br *backupv1alpha1.BackupRequest) {
	if !isDump(br) || br.Status.Database == nil || br.Status.Database.Dump == nil {
		return
	}
	if err := r.Dumps.Stop(ctx, r.dumpTask(br)); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "stop the dump", "run", br.Status.Database.Dump.JobName)
	}
}

// manifestDump is the manifest's record of a verified dump (nil without one), its
// keys relative to the backup's prefix.
func (r *BackupRequestReconciler) manifestDump(br *backupv1alpha1.BackupRequest) *manifest.DumpInfo {
	db := br.Status.Database
	if !isDump(br) || db == nil || db.Dump == nil || db.Dump.CompletionTime == nil {
		return nil
	}
	bucket, prefix, _ := r.destination(br)
	key := strings.TrimPrefix(db.Dump.Location, fmt.Sprintf("s3://%s/%s", bucket, prefix))
	format, compression := layout.DumpFormat(key)
	return &manifest.DumpInfo{
		Key: key, SizeBytes: db.Dump.SizeBytes, SHA256: sha256Ref(db.Dump.SHA256),
		ResultKey: layout.DatabaseDir + layout.DumpResultName,
		Engine:    db.Dump.Engine, ServerVersion: db.Dump.ServerVersion, Tool: db.Dump.Tool,
		Format: format, Compression: compression,
	}
}

// sha256Ref is a SHA-256 in the manifest's "sha256:<hex>" form.
func sha256Ref(sum string) string {
	if strings.HasPrefix(sum, "sha256:") {
		return sum
	}
	return "sha256:" + sum
}
