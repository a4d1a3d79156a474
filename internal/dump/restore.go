package dump

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// RestoreResult is how a restore of a dump ended.
type RestoreResult struct {
	// Version is ResultVersion when written.
	Version int `json:"version"`
	// Run is the run's token (LC2_DUMP_RUN), written back unchanged.
	Run     string `json:"run,omitempty"`
	State   State  `json:"state"`
	Reason  Reason `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Engine is the target server's; Key the dump restored.
	Engine    string        `json:"engine,omitempty"`
	Bucket    string        `json:"bucket,omitempty"`
	Key       string        `json:"key,omitempty"`
	SizeBytes int64         `json:"sizeBytes"`
	StartTime time.Time     `json:"startTime"`
	EndTime   time.Time     `json:"endTime"`
	Processes []ProcessExit `json:"processes,omitempty"`
	// Tables are the row counts, after the load, of the tables dump.json counted
	// (its largestTables); every one must equal the dump's count.
	Tables []TableRows `json:"tables,omitempty"`
}

// Restore loads the dump recorded under cfg.Prefix into cfg's database, which must
// be empty unless cfg.ConfirmNonEmpty. The object streams from the store into
// pg_restore (or, decompressed, into the mariadb client); its size and SHA-256 are
// checked against dump.json as it passes.
func Restore(ctx context.Context, cfg RestoreConfig, store provider.Provider) *RestoreResult {
	res := &RestoreResult{Version: ResultVersion, StartTime: time.Now().UTC(), Bucket: cfg.Bucket}
	procs := &processes{}
	err := restore(ctx, &cfg, store, res, procs)
	res.Processes = procs.all()
	res.EndTime = time.Now().UTC()
	res.State, res.Reason, res.Message = outcome(err, ReasonRestoreFailed)
	return res
}

func restore(ctx context.Context, cfg *RestoreConfig, store provider.Provider, res *RestoreResult, procs *processes) error {
	dump, err := ReadResult(ctx, store, cfg.Bucket, cfg.Prefix)
	if err != nil {
		return fail(ReasonRestoreFailed, nil, "the dump's record could not be read: %s", provider.Describe(err))
	}
	if dump.State != StateSucceeded {
		return fail(ReasonRestoreFailed, nil, "the dump under %s did not succeed (%s: %s)", cfg.Prefix, dump.Reason, dump.Message)
	}
	if err := dump.checkPlace(cfg.Bucket, cfg.Prefix, cfg.ExpectSHA256); err != nil {
		return fail(ReasonVerifyFailed, err, "the dump's record is not trusted")
	}
	res.Key = dump.Key
	srv, err := connect(ctx, &cfg.Connection)
	if err != nil {
		return err
	}
	defer func() { _ = srv.db.Close() }() // only read from
	res.Engine = srv.engine
	if (dump.Format == FormatCustom) != (srv.engine == EnginePostgres) {
		return fail(ReasonRestoreFailed, nil, "a %s dump cannot be restored into a %s server", dump.Engine, srv.engine)
	}
	tables, err := srv.tableCount(ctx)
	if err != nil {
		return fail(ReasonConnectionFailed, err, "could not inspect the target database")
	}
	if tables > 0 && !cfg.ConfirmNonEmpty {
		return fail(ReasonTargetNotEmpty, nil, "the target database %q on %s already has %d tables; restore into an empty database, or confirm overwriting it",
			cfg.Database, cfg.address(), tables)
	}
	rc, err := store.DownloadObject(ctx, dump.Bucket, dump.Key)
	if err != nil {
		return fail(ReasonRestoreFailed, nil, "the stored dump could not be read: %s", provider.Describe(err))
	}
	defer func() { _ = rc.Close() }() // read-only
	body := &hashingReader{r: rc, h: sha256.New()}
	if dump.Format == FormatCustom {
		err = loadPostgres(ctx, &cfg.Connection, body, cfg.ConfirmNonEmpty, procs)
	} else {
		err = loadSQL(ctx, &cfg.Connection, body, dump.Compression, procs)
	}
	if err != nil {
		return fail(ReasonRestoreFailed, err, "the load into %q failed; the database may hold part of the dump", cfg.Database)
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return fail(ReasonRestoreFailed, err, "the stored dump could not be read to its end")
	}
	res.SizeBytes = body.n
	if sum := hex.EncodeToString(body.h.Sum(nil)); body.n != dump.SizeBytes || sum != dump.SHA256 {
		return fail(ReasonVerifyFailed, nil, "the stored dump is %d bytes with SHA-256 %s, but dump.json records %d bytes with SHA-256 %s; the restored database may be incomplete",
			body.n, sum, dump.SizeBytes, dump.SHA256)
	}
	return checkRowCounts(ctx, srv, dump.LargestTables, res)
}

// checkRowCounts counts, in the restored database, the rows of every table dump.json
// counted when the dump began; a table missing or with another count fails the
// restore: the load is not what was dumped.
func checkRowCounts(ctx context.Context, srv *server, want []TableRows, res *RestoreResult) error {
	var differ []string
	for _, w := range want {
		got, err := srv.countRows(ctx, w.Table)
		if err != nil {
			return fail(ReasonRowsMismatch, err, "the restored table %s could not be counted", w.Table)
		}
		res.Tables = append(res.Tables, TableRows{Table: w.Table, Rows: got})
		if got != w.Rows {
			differ = append(differ, fmt.Sprintf("%s has %d rows, the dump %d", w.Table, got, w.Rows))
		}
	}
	if len(differ) > 0 {
		return fail(ReasonRowsMismatch, nil, "the restored database differs from the dump: %s", strings.Join(differ, "; "))
	}
	return nil
}

// loadPostgres runs pg_restore into the target in one transaction, so a load that
// fails or is stopped leaves the target as it was. Ownership and grants are left out:
// the target's user owns what it restores. A confirmed overwrite first drops the
// dump's own objects where they exist (--clean --if-exists), and nothing else.
func loadPostgres(ctx context.Context, conn *Connection, archive io.Reader, overwrite bool, procs *processes) error {
	t, err := lookTool("pg_restore")
	if err != nil {
		return err
	}
	args := []string{"--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--no-password"}
	if overwrite {
		args = append(args, "--clean", "--if-exists")
	}
	args = append(args, "--dbname="+conn.Database)
	env, err := conn.postgresEnv(ctx)
	if err != nil {
		return err
	}
	return runFed(ctx, t, args, env, archive, procs)
}

// loadSQL decompresses a SQL dump into the mariadb (or mysql) client; the whole
// dump must pass, up to its dump-completed line.
func loadSQL(ctx context.Context, conn *Connection, compressed io.Reader, compression string, procs *processes) error {
	t, err := lookTool("mariadb", "mysql")
	if err != nil {
		return err
	}
	// Only MySQL's own client needs to be told to send a token in cleartext; MariaDB's
	// would warn that the option is obsolete.
	cleartextGroup := ""
	if conn.IAM != nil && t.readVersion(ctx) == nil && t.family == EngineMySQL {
		cleartextGroup = "mysql"
	}
	defaults, cleanup, err := conn.mysqlDefaultsFile(ctx, cleartextGroup)
	if err != nil {
		return err
	}
	defer cleanup()
	args := []string{"--defaults-file=" + defaults, "--default-character-set=utf8mb4", "--max-allowed-packet=1G", "--", conn.Database}
	pr, pw := io.Pipe()
	decompressed := make(chan error, 1)
	go func() {
		err := readToTrailer(compressed, compression, pw)
		_ = pw.CloseWithError(err) // nil: EOF for the client
		decompressed <- err
	}()
	runErr := runFed(ctx, t, args, childEnv(), pr, procs)
	_ = pr.CloseWithError(errReaderStopped) // the client stopped reading: unblock the decompressor
	readErr := <-decompressed
	if runErr != nil {
		return runErr
	}
	return readErr
}

// runFed runs a tool with stdin from r and records how it ended.
func runFed(ctx context.Context, t *tool, args, env []string, r io.Reader, procs *processes) error {
	cmd := exec.CommandContext(ctx, t.path, args...)
	cmd.Env = env
	cmd.Stdin = r
	stderr := &tailBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		procs.add(exitOf(t.name, args, cmd))
		return fmt.Errorf("start %s: %w", t.name, err)
	}
	return waitTool(cmd, t.name, args, stderr, procs)
}
