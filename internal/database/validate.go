package database

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// ValidationError names the field of a record that cannot be stored.
type ValidationError struct {
	// Record is what was refused ("backup record" when empty, "restore record",
	// "restore key").
	Record string
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	rec := e.Record
	if rec == "" {
		rec = backupRecord
	}
	return fmt.Sprintf("invalid %s: field %s: %s", rec, e.Field, e.Reason)
}

// What a ValidationError refers to.
const (
	backupRecord  = "backup record"
	restoreRecord = "restore record"
	restoreKey    = "restore key"
)

var (
	uidPattern   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	labelPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	namePattern  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

	providers = map[string]bool{"aws": true, "gcp": true, "azure": true}
	phases    = map[string]bool{
		string(backupv1alpha1.PhasePending): true, string(backupv1alpha1.PhaseInProgress): true, string(backupv1alpha1.PhaseSucceeded): true,
		string(backupv1alpha1.PhaseFailed): true, string(backupv1alpha1.PhaseExpired): true,
	}
	dlModes       = map[string]bool{string(backupv1alpha1.ModeFull): true, string(backupv1alpha1.ModeIncremental): true}
	consistencies = map[string]bool{string(backupv1alpha1.ConsistencyPointInTime): true, string(backupv1alpha1.ConsistencyLive): true}
)

// Column limits, matching the schema.
const (
	maxMessageBytes = 32768
	maxReason       = 128
)

type checker struct {
	record string
	err    *ValidationError
}

func (c *checker) fail(field, format string, args ...any) {
	if c.err == nil {
		c.err = &ValidationError{Record: c.record, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
}

// text checks that s is valid UTF-8 without NUL bytes and at most max characters
// (max < 0: unlimited); required rejects the empty string.
func (c *checker) text(field, s string, max int, required bool) {
	switch {
	case required && s == "":
		c.fail(field, "is required")
	case !utf8.ValidString(s):
		c.fail(field, "is not valid UTF-8")
	case strings.ContainsRune(s, 0):
		c.fail(field, "contains a NUL byte")
	case max >= 0 && utf8.RuneCountInString(s) > max:
		c.fail(field, "is %d characters long, the limit is %d", utf8.RuneCountInString(s), max)
	}
}

func (c *checker) match(field, s string, re *regexp.Regexp, what string) {
	if s != "" && !re.MatchString(s) {
		c.fail(field, "%q is not %s", truncate(s, 80), what)
	}
}

// oneOf checks that s is one of allowed, which names lists for the error.
func (c *checker) oneOf(field, s string, allowed map[string]bool, names string) {
	if !allowed[s] {
		c.fail(field, "%q is not one of %s", truncate(s, 40), names)
	}
}

func (c *checker) nonNegative(field string, v int64) {
	if v < 0 {
		c.fail(field, "is negative (%d)", v)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// Validate reports the first field of r that the schema would reject, as a
// *ValidationError, so a bad value gives a clear error before touching the database.
func (r *BackupRecord) Validate() error {
	if r == nil {
		return &ValidationError{Field: "record", Reason: "is nil"}
	}
	c := &checker{record: backupRecord}
	c.object(r.UID, r.Namespace, r.Name)
	c.label("project_id", r.ProjectID, true)
	c.label("environment", r.Environment, true)
	c.oneOf("provider", r.Provider, providers, "aws, gcp, azure")
	c.oneOf("phase", r.Phase, phases, "Pending, InProgress, Succeeded, Failed, Expired")
	c.reasonMessage(r.Reason, r.Message)
	c.text("db_backup_type", r.DBBackupType, 16, false)
	c.text("db_instance_id", r.DBInstanceID, 63, false)
	c.text("db_snapshot_id", r.DBSnapshotID, 255, false)
	c.text("db_snapshot_arn", r.DBSnapshotARN, 2048, false)
	c.text("db_engine", r.DBEngine, 64, false)
	c.text("db_engine_version", r.DBEngineVersion, 64, false)
	c.nonNegative("db_size_bytes", r.DBSizeBytes)
	c.databaseDump(r)
	c.text("dl_source_bucket", r.DLSourceBucket, 63, false)
	c.text("dl_source_prefix", r.DLSourcePrefix, 1024, false)
	c.text("dl_destination_bucket", r.DLDestinationBucket, 63, false)
	c.text("dl_destination_prefix", r.DLDestinationPrefix, 1024, false)
	c.nonNegative("dl_object_count", r.DLObjectCount)
	c.nonNegative("dl_objects_excluded", r.DLObjectsExcluded)
	c.nonNegative("dl_total_bytes", r.DLTotalBytes)
	c.documentLibraryMode(r)
	c.text("manifest_location", r.ManifestLocation, 2048, false)
	c.text("manifest_checksum", r.ManifestChecksum, 128, false)
	if r.RetentionDays < 0 || r.RetentionDays > 3650 {
		c.fail("retention_days", "%d is outside 0-3650", r.RetentionDays)
	}
	c.times(r.RequestedAt, r.StartTime, r.CompletionTime, r.ExpiresAt)
	if c.err != nil {
		return c.err
	}
	return nil
}

// databaseDump checks the columns of migration 0004: only a dump backup has a dump,
// and a stored dump has its location, size, SHA-256 and end.
func (c *checker) databaseDump(r *BackupRecord) {
	c.text("db_dump_location", r.DBDumpLocation, 2048, false)
	c.nonNegative("db_dump_size_bytes", r.DBDumpSizeBytes)
	c.text("db_dump_server_version", r.DBDumpServerVersion, 64, false)
	c.text("db_dump_tool", r.DBDumpTool, 128, false)
	checkTime(c, "db_dump_start_time", r.DBDumpStartTime)
	checkTime(c, "db_dump_completion_time", r.DBDumpCompletionTime)
	if r.DBDumpSHA256 != "" && !sha256Hex.MatchString(r.DBDumpSHA256) {
		c.fail("db_dump_sha256", "%q is not 64 lowercase hex digits", r.DBDumpSHA256)
	}
	if r.DBDumpLocation == "" {
		if r.DBDumpSHA256 != "" || r.DBDumpSizeBytes != 0 || r.DBDumpCompletionTime != nil {
			c.fail("db_dump_location", "is empty, but the row has a dump's size, SHA-256 or end")
		}
		return
	}
	if r.DBBackupType != string(backupv1alpha1.DatabaseBackupDump) {
		c.fail("db_dump_location", "is set, but db_backup_type is %q, not dump", r.DBBackupType)
	}
	if r.DBDumpSHA256 == "" || r.DBDumpCompletionTime == nil {
		c.fail("db_dump_location", "is set without db_dump_sha256 and db_dump_completion_time")
	}
	if r.DBDumpStartTime != nil && r.DBDumpCompletionTime != nil && r.DBDumpCompletionTime.Before(*r.DBDumpStartTime) {
		c.fail("db_dump_completion_time", "is before db_dump_start_time")
	}
}

// sha256Hex is a lowercase hex SHA-256.
var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// documentLibraryMode checks the columns of migration 0003: the mode, the
// copied/referenced split and the repository (Incremental only; copied plus
// referenced at most the backup's object count and size), the consistency and
// the point in time.
func (c *checker) documentLibraryMode(r *BackupRecord) {
	if r.DLMode != "" {
		c.oneOf("dl_mode", r.DLMode, dlModes, "Full, Incremental")
	}
	c.nonNegative("dl_objects_copied", r.DLObjectsCopied)
	c.nonNegative("dl_objects_referenced", r.DLObjectsReferenced)
	c.nonNegative("dl_bytes_copied", r.DLBytesCopied)
	c.nonNegative("dl_bytes_referenced", r.DLBytesReferenced)
	c.text("dl_repository", r.DLRepository, 2048, false)
	if r.DLConsistency != "" {
		c.oneOf("dl_consistency", r.DLConsistency, consistencies, "PointInTime, Live")
	}
	checkTime(c, "dl_point_in_time", r.DLPointInTime)
	if r.DLMode != string(backupv1alpha1.ModeIncremental) {
		// A Full backup (an empty mode is Full) copied everything it holds into its
		// own prefix: there is no split and no repository.
		for _, f := range []struct {
			field string
			v     int64
		}{
			{"dl_objects_copied", r.DLObjectsCopied}, {"dl_objects_referenced", r.DLObjectsReferenced},
			{"dl_bytes_copied", r.DLBytesCopied}, {"dl_bytes_referenced", r.DLBytesReferenced},
		} {
			if f.v != 0 {
				c.fail(f.field, "is %d, but only an Incremental backup has one (dl_mode %q)", f.v, r.DLMode)
			}
		}
		if r.DLRepository != "" {
			c.fail("dl_repository", "is set, but only an Incremental backup has one (dl_mode %q)", r.DLMode)
		}
		return
	}
	// Each object is copied or referenced, not both. Written as a difference: the
	// counts are non-negative, so it cannot overflow.
	if r.DLObjectsCopied > r.DLObjectCount-r.DLObjectsReferenced {
		c.fail("dl_objects_copied", "%d plus dl_objects_referenced %d exceeds dl_object_count %d",
			r.DLObjectsCopied, r.DLObjectsReferenced, r.DLObjectCount)
	}
	if r.DLBytesCopied > r.DLTotalBytes-r.DLBytesReferenced {
		c.fail("dl_bytes_copied", "%d plus dl_bytes_referenced %d exceeds dl_total_bytes %d",
			r.DLBytesCopied, r.DLBytesReferenced, r.DLTotalBytes)
	}
}

// The checks shared by the records of backups and restores.

// object checks the identity of the Kubernetes object a record is about.
func (c *checker) object(uid, namespace, name string) {
	c.uuid("uid", uid, true)
	c.label("namespace", namespace, true)
	c.text("name", name, 253, true)
	c.match("name", name, namePattern, "a DNS subdomain name")
}

// uuid checks a Kubernetes uid column (uid, backup_request_uid).
func (c *checker) uuid(field, s string, required bool) {
	c.text(field, s, 36, required)
	c.match(field, s, uidPattern, "a UUID")
}

// label checks a DNS label column (namespace, project_id, environment).
func (c *checker) label(field, s string, required bool) {
	c.text(field, s, 63, required)
	c.match(field, s, labelPattern, "a DNS label")
}

// reasonMessage checks a status's reason and message against their column limits.
func (c *checker) reasonMessage(reason, message string) {
	c.text("reason", reason, maxReason, false)
	c.text("message", message, -1, false)
	if len(message) > maxMessageBytes {
		c.fail("message", "is %d bytes long, the limit is %d", len(message), maxMessageBytes)
	}
}

// times checks a request's timestamps: requested_at is required, each is within
// checkTime's years, and completion_time is not before start_time. expiresAt is
// nil for records without expires_at (restores).
func (c *checker) times(requestedAt time.Time, startTime, completionTime, expiresAt *time.Time) {
	if requestedAt.IsZero() {
		c.fail("requested_at", "is required")
	}
	checkTime(c, "requested_at", &requestedAt)
	checkTime(c, "start_time", startTime)
	checkTime(c, "completion_time", completionTime)
	checkTime(c, "expires_at", expiresAt)
	if startTime != nil && completionTime != nil && completionTime.Before(*startTime) {
		c.fail("completion_time", "%s is before start_time %s", completionTime.UTC().Format(time.RFC3339), startTime.UTC().Format(time.RFC3339))
	}
}

// PostgreSQL timestamps span 4713 BC to 294276 AD; keep to sane years.
func checkTime(c *checker, field string, t *time.Time) {
	if t != nil && !t.IsZero() && (t.Year() < 1970 || t.Year() > 9999) {
		c.fail(field, "year %d is outside 1970-9999", t.Year())
	}
}
