// Package dump takes, checks and restores a logical dump of a project database:
// pg_dump or mariadb-dump streamed through this process straight into the backup
// store, hashed and counted as the bytes pass, then re-read and fully read before the
// dump counts. It runs in the dumper (cmd/lc2-dump), in a Job or as the manager's
// child process, never in the manager itself; the controller reads only Result.
package dump

import "time"

// ResultVersion is the schema version of dump.json this package writes.
const ResultVersion = 1

// Result is dump.json: the dumper's record of one dump, written next to the dump
// object after the dump was verified (State Succeeded) or after it failed (State
// Failed, with no dump object left behind). The controller reads the outcome from
// it, never from logs, and the restore drill compares its table counts.
type Result struct {
	// Version is ResultVersion when written.
	Version int `json:"version"`
	// Run is the run's token (LC2_DUMP_RUN), written back unchanged.
	Run string `json:"run,omitempty"`
	// State is Succeeded or Failed.
	State State `json:"state"`
	// Reason is why a dump failed (one of the Reason constants); empty on success.
	Reason Reason `json:"reason,omitempty"`
	// Message says what failed for a user: the setting or key involved, never a secret.
	Message string `json:"message,omitempty"`

	// Engine is postgres, mysql or mariadb; ServerVersion what the server reported.
	Engine        string `json:"engine,omitempty"`
	ServerVersion string `json:"serverVersion,omitempty"`
	// Database is the dumped database's name.
	Database string `json:"database,omitempty"`
	// Tool and ToolVersion name the dump program (pg_dump, mariadb-dump, mysqldump).
	Tool        string `json:"tool,omitempty"`
	ToolVersion string `json:"toolVersion,omitempty"`
	// Format is "custom" (pg_dump -Fc) or "sql"; Compression is "pg-internal" for
	// pg_dump's own, "gzip" or "zstd" for a SQL dump.
	Format      string `json:"format,omitempty"`
	Compression string `json:"compression,omitempty"`

	// Key is the dump object's key in Bucket; SizeBytes and SHA256 are counted as the
	// bytes passed and checked against a re-read of the stored object.
	Bucket    string `json:"bucket,omitempty"`
	Key       string `json:"key,omitempty"`
	SizeBytes int64  `json:"sizeBytes"`
	SHA256    string `json:"sha256,omitempty"`
	// EstimatedBytes is the database's size estimate the part size was chosen from;
	// PartSizeBytes the part size used.
	EstimatedBytes int64 `json:"estimatedBytes,omitempty"`
	PartSizeBytes  int64 `json:"partSizeBytes,omitempty"`

	// SourceSnapshot is the snapshot the dumped instance was restored from, if any.
	SourceSnapshot string `json:"sourceSnapshot,omitempty"`
	// StartTime and EndTime bound the dump, verification included.
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime"`

	// Processes is every process the dump and the verification ran, with how it ended.
	Processes []ProcessExit `json:"processes,omitempty"`
	// Verification is the check of the stored object.
	Verification *Verification `json:"verification,omitempty"`
	// LargestTables are the row counts of the ten largest tables when the dump began:
	// on PostgreSQL in the snapshot pg_dump dumps (pg_dump --snapshot), on
	// MySQL/MariaDB just before the dump's own transaction.
	LargestTables []TableRows `json:"largestTables,omitempty"`
}

// State is how a dump ended.
type State string

const (
	StateSucceeded State = "Succeeded"
	StateFailed    State = "Failed"
)

// outcome is how a run that returned err ended: Succeeded, or Failed with the
// failure's reason (fallback for an error that names none) and its message.
func outcome(err error, fallback Reason) (State, Reason, string) {
	if err == nil {
		return StateSucceeded, "", ""
	}
	f := asFailure(err, fallback)
	return StateFailed, f.Reason, f.Error()
}

// Reason is why a dump failed, for the controller to map onto a condition reason.
type Reason string

const (
	// ReasonMissingSetting: a connection setting (a Secret key) is missing or empty.
	ReasonMissingSetting Reason = "MissingSetting"
	// ReasonConnectionFailed: the server could not be reached.
	ReasonConnectionFailed Reason = "ConnectionFailed"
	// ReasonAuthenticationFailed: the server refused the user or password.
	ReasonAuthenticationFailed Reason = "AuthenticationFailed"
	// ReasonServerTooNew: the server's major version is newer than the shipped tool's.
	ReasonServerTooNew Reason = "ServerTooNew"
	// ReasonDumpFailed: a process of the dump pipe exited non-zero or was signalled,
	// or the stream ended short; the upload was aborted.
	ReasonDumpFailed Reason = "DumpFailed"
	// ReasonUploadFailed: the store refused the upload; it was aborted.
	ReasonUploadFailed Reason = "UploadFailed"
	// ReasonVerifyFailed: the stored object's size or SHA-256 differ from what was
	// sent, or its full read failed.
	ReasonVerifyFailed Reason = "VerifyFailed"
	// ReasonTargetNotEmpty: a restore's target database already holds tables and
	// overwriting it was not confirmed.
	ReasonTargetNotEmpty Reason = "TargetNotEmpty"
	// ReasonRestoreFailed: a restore's load failed (the target may hold part of the
	// dump) or the dump to restore is unusable.
	ReasonRestoreFailed Reason = "RestoreFailed"
	// ReasonRowsMismatch: after a restore, a table dump.json counted holds another
	// number of rows (or is missing).
	ReasonRowsMismatch Reason = "RowsMismatch"
)

// ProcessExit is how one process of a dump, verification or restore ended. Args
// never hold a password.
type ProcessExit struct {
	Name     string   `json:"name"`
	Args     []string `json:"args,omitempty"`
	ExitCode int      `json:"exitCode"`
	// Signal names the signal that ended the process, if one did.
	Signal string `json:"signal,omitempty"`
}

// Verification is the check of a stored dump.
type Verification struct {
	// Method names the full read: "pg_restore -f /dev/null", or "decompress and
	// dump-completed trailer" for a SQL dump.
	Method string `json:"method"`
	// StoredSizeBytes and StoredSHA256 are what a re-read of the stored object gave.
	StoredSizeBytes int64  `json:"storedSizeBytes"`
	StoredSHA256    string `json:"storedSHA256"`
	Passed          bool   `json:"passed"`
	// StartTime and EndTime bound the check.
	StartTime time.Time `json:"startTime,omitzero"`
	EndTime   time.Time `json:"endTime,omitzero"`
}

// TableRows is a table's exact row count when the dump began.
type TableRows struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}
