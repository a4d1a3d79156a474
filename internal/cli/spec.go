package cli

import (
	"fmt"
	"slices"
	"strings"
	"time"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/schedule"
)

// backupFlags are the spec flags of backup create; an empty value (0 for
// retentionDays) leaves the field to the schedule or the previous backup.
type backupFlags struct {
	project, dbInstance, sourceBucket, sourcePrefix, destinationBucket string
	retentionDays                                                      int32
	// excludeGenerated is --exclude-generated-files when given.
	excludeGenerated *bool
	// mode is --mode: Full or Incremental.
	mode string
	// databaseType is --database-type (snapshot or dump); connectionSecret is
	// --connection-secret, the Secret naming the database a dump reads.
	databaseType, connectionSecret string
	// databaseAuth is --database-auth: password or iam (spec.database.dump.authentication).
	databaseAuth string
	// provider is --provider: aws, gcp, azure or local.
	provider string
}

// backupOrigin is where backup create takes the spec from, in this order: the
// schedule (--from-schedule, or the namespace's only schedule of the environment),
// the newest BackupRequest of the environment, or the flags alone.
type backupOrigin struct {
	schedule *backupv1alpha1.BackupSchedule
	previous *backupv1alpha1.BackupRequest
}

// backupName is the name of a backup of env created at now: "<env>-<YYYYMMDDHHMMSS>"
// (UTC), like kubectl cnpg backup.
func backupName(env string, now time.Time) string { return env + "-" + schedule.SlotStamp(now) }

// manualRunStamp is where, under a schedule's prefix, a run started by hand at now
// writes: never a slot's stamp (all digits), so never a scheduled run's prefix.
func manualRunStamp(now time.Time) string { return "manual-" + schedule.SlotStamp(now) }

// newBackup is the BackupRequest backup create makes for env at now: its spec from
// origin with the flags applied over it. A run from a schedule writes beside the
// schedule's own runs, under "manual-<stamp>" instead of a slot's stamp
// (BackupSchedule.RunSpec), so it never takes the prefix of a scheduled run of the
// same second; it names the schedule in RunOfScheduleAnnotation, without the schedule
// label or an owner reference, so the schedule neither counts nor expires it. Without
// a schedule the destination is "<projectId>/<env>/<name>/". It fails naming the flag
// a required field is missing from.
func newBackup(namespace, env string, now time.Time, origin backupOrigin, f backupFlags) (*backupv1alpha1.BackupRequest, error) {
	name := backupName(env, now)
	br := &backupv1alpha1.BackupRequest{}
	br.Namespace, br.Name = namespace, name
	stamp := manualRunStamp(now)
	switch {
	case origin.schedule != nil:
		sched := origin.schedule
		if sched.Spec.Template.Environment != env {
			return nil, fmt.Errorf("schedule %s backs up environment %q, not %q", sched.Name, sched.Spec.Template.Environment, env)
		}
		br.Spec = sched.RunSpec(stamp)
		br.Annotations = map[string]string{backupv1alpha1.RunOfScheduleAnnotation: sched.Name}
	case origin.previous != nil:
		br.Spec = *origin.previous.Spec.DeepCopy()
	default:
		br.Spec = backupv1alpha1.BackupRequestSpec{Environment: env, Provider: backupv1alpha1.ProviderAWS}
	}
	applyToSpec(&br.Spec, f)
	if dl := br.Spec.DocumentLibrary; dl != nil {
		switch {
		case origin.schedule == nil:
			dl.DestinationPrefix = backupv1alpha1.ObjectPrefix(br.Spec.ProjectID + "/" + env + "/" + name + "/")
		case dl.DestinationPrefix == "":
			// A document library the template lacks, given by flags: the run's prefix.
			dl.DestinationPrefix = backupv1alpha1.ObjectPrefix(origin.schedule.RunPrefix(stamp))
		}
	}
	if err := missingFlags(&br.Spec); err != nil {
		return nil, err
	}
	if f.mode != "" && br.Spec.DocumentLibrary == nil {
		return nil, fmt.Errorf("--mode %s: the backup has no document library (give --source-bucket and --destination-bucket)", f.mode)
	}
	return br, nil
}

// checkMode refuses a --mode the API would refuse, naming the flag and the field.
func checkMode(mode string) error {
	switch backupv1alpha1.DocumentLibraryMode(mode) {
	case "", backupv1alpha1.ModeFull, backupv1alpha1.ModeIncremental:
		return nil
	}
	return fmt.Errorf("--mode %q: spec.documentLibrary.mode must be %s or %s", mode, backupv1alpha1.ModeFull, backupv1alpha1.ModeIncremental)
}

// applyToSpec sets the flags given on a BackupRequest spec.
func applyToSpec(s *backupv1alpha1.BackupRequestSpec, f backupFlags) {
	if f.project != "" {
		s.ProjectID = f.project
	}
	if f.provider != "" {
		s.Provider = backupv1alpha1.CloudProvider(f.provider)
	}
	if f.dbInstance != "" {
		s.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupSnapshot, InstanceID: f.dbInstance}
	}
	applyDatabaseFlags(s, f)
	if f.sourceBucket != "" || f.destinationBucket != "" || f.sourcePrefix != "" {
		if s.DocumentLibrary == nil {
			s.DocumentLibrary = &backupv1alpha1.DocumentLibraryBackupSpec{}
		}
		dl := s.DocumentLibrary
		setIf(&dl.SourceBucket, backupv1alpha1.BucketName(f.sourceBucket))
		setIf(&dl.SourcePrefix, backupv1alpha1.ObjectPrefix(f.sourcePrefix))
		setIf(&dl.DestinationBucket, backupv1alpha1.BucketName(f.destinationBucket))
	}
	if s.DocumentLibrary != nil && f.excludeGenerated != nil {
		s.DocumentLibrary.ExcludeGeneratedFiles = *f.excludeGenerated
	}
	if s.DocumentLibrary != nil && f.mode != "" {
		s.DocumentLibrary.Mode = backupv1alpha1.DocumentLibraryMode(f.mode)
	}
	if f.retentionDays != 0 {
		s.RetentionDays = &f.retentionDays
	}
}

// applyDatabaseFlags sets --database-type, --connection-secret and --database-auth: a
// Secret makes the backup a dump of the database it names (directly, as the only
// source built), --database-auth makes it a dump that logs in so, and a snapshot
// backup carries no dump settings.
func applyDatabaseFlags(s *backupv1alpha1.BackupRequestSpec, f backupFlags) {
	if f.databaseType == "" && f.connectionSecret == "" && f.databaseAuth == "" {
		return
	}
	if s.Database == nil {
		s.Database = &backupv1alpha1.DatabaseBackupSpec{}
	}
	db := s.Database
	switch {
	case f.databaseType != "":
		db.Type = backupv1alpha1.DatabaseBackupType(f.databaseType)
	case f.connectionSecret != "" || f.databaseAuth != "":
		db.Type = backupv1alpha1.DatabaseBackupDump
	}
	if f.connectionSecret != "" {
		if db.Dump == nil {
			db.Dump = &backupv1alpha1.DatabaseDumpSpec{}
		}
		db.Dump.ConnectionSecretRef = &backupv1alpha1.SecretReference{Name: f.connectionSecret}
		db.Dump.Source = backupv1alpha1.DumpSourceInstance
	}
	if auth, ok := databaseAuths[strings.ToLower(f.databaseAuth)]; ok {
		if db.Dump == nil {
			db.Dump = &backupv1alpha1.DatabaseDumpSpec{}
		}
		db.Dump.Authentication = auth
	}
	if db.Type == backupv1alpha1.DatabaseBackupSnapshot {
		db.Dump = nil
	}
}

// databaseAuths are the values of --database-auth.
var databaseAuths = map[string]backupv1alpha1.DatabaseAuthentication{
	"password": backupv1alpha1.DatabaseAuthPassword, "iam": backupv1alpha1.DatabaseAuthIAM,
}

// checkDatabaseFlags refuses --database-type, --connection-secret and --database-auth
// values the API would refuse, naming the flag and the field.
func checkDatabaseFlags(f backupFlags) error {
	if _, ok := databaseAuths[strings.ToLower(f.databaseAuth)]; f.databaseAuth != "" && !ok {
		return fmt.Errorf("--database-auth %q: spec.database.dump.authentication must be password or iam", f.databaseAuth)
	}
	switch backupv1alpha1.DatabaseBackupType(f.databaseType) {
	case "", backupv1alpha1.DatabaseBackupDump:
	case backupv1alpha1.DatabaseBackupSnapshot:
		if f.connectionSecret != "" {
			return fmt.Errorf("--connection-secret names the database a dump reads: it needs --database-type dump, not snapshot")
		}
		if f.databaseAuth != "" {
			return fmt.Errorf("--database-auth is how a dump logs in: it needs --database-type dump, not snapshot")
		}
	default:
		return fmt.Errorf("--database-type %q: spec.database.type must be %s or %s", f.databaseType, backupv1alpha1.DatabaseBackupSnapshot, backupv1alpha1.DatabaseBackupDump)
	}
	return nil
}

func setIf[T ~string](field *T, v T) {
	if v != "" {
		*field = v
	}
}

// missingFlags names the flags of the required fields nothing supplied.
func missingFlags(s *backupv1alpha1.BackupRequestSpec) error {
	var missing []string
	if s.ProjectID == "" {
		missing = append(missing, "--project")
	}
	if dl := s.DocumentLibrary; dl != nil {
		if dl.SourceBucket == "" {
			missing = append(missing, "--source-bucket")
		}
		if dl.DestinationBucket == "" {
			missing = append(missing, "--destination-bucket")
		}
	}
	if s.Database == nil && s.DocumentLibrary == nil {
		missing = append(missing, "--db-instance or --source-bucket with --destination-bucket")
	}
	if db := s.Database; db != nil && db.InstanceID == "" {
		if db.Type != backupv1alpha1.DatabaseBackupDump {
			missing = append(missing, "--db-instance")
		} else if db.Dump == nil || db.Dump.ConnectionSecretRef == nil {
			missing = append(missing, "--connection-secret (or --db-instance)")
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("no BackupSchedule or earlier BackupRequest of environment %s supplies the whole spec: missing %s", s.Environment, strings.Join(missing, ", "))
}

// scheduleOfEnvironment is the one schedule backing up env, nil when there is none,
// or an error listing them when there are several.
func scheduleOfEnvironment(schedules []backupv1alpha1.BackupSchedule, env string) (*backupv1alpha1.BackupSchedule, error) {
	var found []*backupv1alpha1.BackupSchedule
	for i := range schedules {
		if schedules[i].Spec.Template.Environment == env && schedules[i].DeletionTimestamp.IsZero() {
			found = append(found, &schedules[i])
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, s := range found {
		names[i] = s.Name
	}
	slices.Sort(names)
	return nil, fmt.Errorf("%d BackupSchedules back up environment %s (%s): choose one with --from-schedule", len(found), env, strings.Join(names, ", "))
}

// newestBackupOf is the most recently created BackupRequest of env, or nil.
func newestBackupOf(backups []backupv1alpha1.BackupRequest, env string) *backupv1alpha1.BackupRequest {
	var newest *backupv1alpha1.BackupRequest
	for i := range backups {
		br := &backups[i]
		if br.Spec.Environment != env {
			continue
		}
		if newest == nil || br.CreationTimestamp.After(newest.CreationTimestamp.Time) ||
			(br.CreationTimestamp.Equal(&newest.CreationTimestamp) && br.Name > newest.Name) {
			newest = br
		}
	}
	return newest
}
