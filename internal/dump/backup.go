package dump

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os/exec"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// largestTablesCounted is how many tables' rows dump.json records.
const largestTablesCounted = 10

// streamBufferBytes is the read size of the tool's output: memory stays bounded by
// it, the compressor's window and the uploader's part buffers, whatever the size.
const streamBufferBytes = 256 << 10

// errReaderStopped unblocks a stream's writer when its reader stopped early.
var errReaderStopped = errors.New("the stream's reader stopped")

// Backup takes a dump of cfg's database into store (which must also be a
// provider.StreamUploader), verifies the stored object and returns dump.json's
// record of it: State Succeeded, or Failed with a reason and a message and no dump
// object left at the key. Backup does not write dump.json; the caller does.
func Backup(ctx context.Context, cfg Config, store provider.Provider) *Result {
	res := &Result{Version: ResultVersion, StartTime: time.Now().UTC(), Bucket: cfg.Bucket,
		Database: cfg.Database, SourceSnapshot: cfg.SourceSnapshot}
	run := &backupRun{cfg: &cfg, store: store, res: res, procs: &processes{}}
	err := run.backup(ctx)
	res.Processes = run.procs.all()
	res.EndTime = time.Now().UTC()
	res.State, res.Reason, res.Message = outcome(err, ReasonDumpFailed)
	return res
}

type backupRun struct {
	cfg   *Config
	store provider.Provider
	res   *Result
	procs *processes
	tool  *tool
	// snapshot is the exported PostgreSQL snapshot the counts were taken in, for
	// pg_dump --snapshot; empty: pg_dump takes its own.
	snapshot string
}

func (b *backupRun) backup(ctx context.Context) error {
	uploader, ok := b.store.(provider.StreamUploader)
	if !ok {
		return fail(ReasonUploadFailed, nil, "the store cannot take an upload of unknown length")
	}
	srv, err := connect(ctx, &b.cfg.Connection)
	if err != nil {
		return err
	}
	defer func() { _ = srv.db.Close() }() // read-only session: nothing to lose on close
	b.res.Engine, b.res.ServerVersion = srv.engine, srv.version
	if b.tool, err = b.lookDumpTool(ctx, srv.engine); err != nil {
		return err
	}
	b.res.Tool, b.res.ToolVersion = b.tool.name, b.tool.version
	if err := refuseNewerServer(srv, b.tool); err != nil {
		return err
	}
	if b.res.EstimatedBytes, err = srv.sizeEstimate(ctx); err != nil {
		return fail(ReasonConnectionFailed, err, "could not read the database's size")
	}
	var counted querier = srv.db
	release := func() {}
	if tx, snapshot, ok := srv.pinSnapshot(ctx); ok {
		release = func() { _ = tx.Rollback() } // read-only: nothing to lose; a second call is ErrTxDone
		counted, b.snapshot = tx, snapshot
	}
	defer release()
	// The rows are counted while the dump runs, in the snapshot pg_dump imports, so
	// the counts are still the dump's own; counted first, their full scans of the
	// largest tables would delay the dump by as long.
	countCtx, stopCount := context.WithCancel(ctx)
	defer stopCount()
	countDone := make(chan error, 1)
	go func() {
		tables, err := srv.largestTables(countCtx, counted, largestTablesCounted)
		b.res.LargestTables = tables
		countDone <- err
	}()
	err = b.stream(ctx, uploader, srv.engine)
	if err != nil {
		stopCount() // the dump failed: its counts are not needed
	}
	countErr := <-countDone
	release() // pg_dump has imported the snapshot, or failed; the counts are done
	if err != nil {
		return err // the dump's own failure says more than a count stopped with it
	}
	if countErr != nil {
		return errors.Join(fail(ReasonConnectionFailed, countErr, "could not count the rows of the largest tables"), b.removeDump(ctx))
	}
	ver, err := checkObject(ctx, b.store, b.res, b.procs)
	b.res.Verification = ver
	if err != nil {
		// A dump that does not read back must not be mistaken for one.
		return errors.Join(err, b.removeDump(ctx))
	}
	return nil
}

// removeDump deletes the stored dump of a run that failed after its upload, even
// when ctx has ended.
func (b *backupRun) removeDump(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	_, err := b.store.DeleteObjects(ctx, b.res.Bucket, []string{b.res.Key})
	return err
}

func (b *backupRun) lookDumpTool(ctx context.Context, engine string) (*tool, error) {
	names := []string{"mariadb-dump", "mysqldump"}
	if engine == EnginePostgres {
		names = []string{"pg_dump"}
	}
	t, err := lookTool(names...)
	if err == nil {
		err = t.readVersion(ctx)
	}
	if err != nil {
		return nil, fail(ReasonDumpFailed, err, "the dump tool is not usable")
	}
	return t, nil
}

// dumpCommand is the tool's arguments (never a password), its environment and the
// dump's format, compression and key.
func (b *backupRun) dumpCommand(ctx context.Context, engine string) (args, env []string, cleanup func(), err error) {
	c := &b.cfg.Connection
	if engine == EnginePostgres {
		b.res.Format, b.res.Compression = FormatCustom, compressionPG
		b.res.Key = layout.DumpKey(b.cfg.Prefix, "pgdump")
		// The database comes from PGDATABASE: a name with "=" would be read as a
		// connection string on the command line.
		args = []string{"--format=custom", "--no-password"}
		if b.snapshot != "" {
			args = append(args, "--snapshot="+b.snapshot)
		}
		env, err := c.postgresEnv(ctx)
		return args, env, func() {}, err
	}
	b.res.Format, b.res.Compression = FormatSQL, CompressionGzip
	ext := "sql.gz"
	if b.cfg.Compression == CompressionZstd {
		b.res.Compression, ext = CompressionZstd, "sql.zst"
	}
	b.res.Key = layout.DumpKey(b.cfg.Prefix, ext)
	cleartextGroup := ""
	if b.tool.family == EngineMySQL {
		cleartextGroup = "mysqldump" // MySQL's own mysqldump
	}
	defaults, cleanup, err := c.mysqlDefaultsFile(ctx, cleartextGroup)
	if err != nil {
		return nil, nil, nil, fail(ReasonDumpFailed, err, "could not prepare the dump tool")
	}
	// --defaults-file must come first; --hex-blob keeps binary columns intact
	// whatever the client character set.
	return []string{"--defaults-file=" + defaults, "--single-transaction", "--routines", "--triggers", "--events",
		"--hex-blob", "--default-character-set=utf8mb4", "--", c.Database}, childEnv(), cleanup, nil
}

// stream runs the dump tool and pipes its output, compressed for SQL, through the
// hash and the byte count into the upload. Any failure of the tool reaches the
// upload as the body's read error, so the upload is aborted.
func (b *backupRun) stream(ctx context.Context, uploader provider.StreamUploader, engine string) error {
	// Right before the tool starts: an IAM token is minted here.
	args, env, cleanup, err := b.dumpCommand(ctx, engine)
	if err != nil {
		return err
	}
	defer cleanup()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.tool.path, args...)
	cmd.Env = env
	stderr := &tailBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fail(ReasonDumpFailed, err, "could not start %s", b.tool.name)
	}
	if err := cmd.Start(); err != nil {
		b.procs.add(exitOf(b.tool.name, args, cmd))
		return fail(ReasonDumpFailed, err, "could not start %s", b.tool.name)
	}
	pr, pw := io.Pipe()
	// stopped says the tool was stopped because the upload stopped reading: its
	// failure is then the upload's doing.
	type outcome struct {
		err     error
		stopped bool
	}
	produced := make(chan outcome, 1)
	go func() {
		copyErr := b.pipeOutput(stdout, pw)
		if copyErr != nil {
			cancel() // the upload stopped reading: the tool must not wait on a full pipe
		}
		toolErr := waitTool(cmd, b.tool.name, args, stderr, b.procs)
		if toolErr == nil {
			toolErr = copyErr
		}
		_ = pw.CloseWithError(toolErr) // nil: EOF, the upload completes
		produced <- outcome{err: toolErr, stopped: copyErr != nil}
	}()

	body := &hashingReader{r: pr, h: sha256.New()}
	if hook := b.cfg.StreamHook; hook != nil {
		body.after, body.hook = hook.AfterBytes, func() { hook.Func(cmd.Process) }
	}
	contentType := "application/octet-stream"
	if b.res.Format == FormatSQL {
		contentType = "application/" + b.res.Compression
	}
	up, upErr := uploader.UploadStream(ctx, provider.StreamUploadRequest{Bucket: b.res.Bucket, Key: b.res.Key,
		Body: body, SizeHint: b.res.EstimatedBytes, ContentType: contentType})
	_ = pr.CloseWithError(errReaderStopped) // unblocks the writer if the upload stopped early
	tool := <-produced
	switch {
	case upErr != nil && (tool.err == nil || tool.stopped):
		return fail(ReasonUploadFailed, nil, "the upload of s3://%s/%s failed and was aborted: %s", b.res.Bucket, b.res.Key, provider.Describe(upErr))
	case tool.err != nil:
		return fail(ReasonDumpFailed, tool.err, "the dump failed and its upload was aborted")
	case up.SizeBytes != body.n:
		return fail(ReasonDumpFailed, nil, "the store took %d bytes of a %d-byte dump", up.SizeBytes, body.n)
	}
	b.res.SizeBytes, b.res.SHA256, b.res.PartSizeBytes = body.n, hex.EncodeToString(body.h.Sum(nil)), up.PartSizeBytes
	return nil
}

// pipeOutput copies the tool's output into w, compressed for a SQL dump.
func (b *backupRun) pipeOutput(stdout io.Reader, pw *io.PipeWriter) error {
	var w io.Writer = pw
	var compressor io.WriteCloser
	switch b.res.Compression {
	case CompressionGzip:
		compressor = gzip.NewWriter(pw)
	case CompressionZstd:
		zw, err := zstd.NewWriter(pw, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return fmt.Errorf("start the zstd compressor: %w", err)
		}
		compressor = zw
	}
	if compressor != nil {
		w = compressor
	}
	buf := make([]byte, streamBufferBytes)
	for {
		n, readErr := stdout.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return errors.Join(err, closeCompressor(compressor))
			}
		}
		if readErr == io.EOF {
			return closeCompressor(compressor)
		}
		if readErr != nil {
			return errors.Join(fmt.Errorf("read the dump tool's output: %w", readErr), closeCompressor(compressor))
		}
	}
}

func closeCompressor(c io.WriteCloser) error {
	if c == nil {
		return nil
	}
	if err := c.Close(); err != nil {
		return fmt.Errorf("finish the compressed stream: %w", err)
	}
	return nil
}

// hashingReader hashes and counts what is read through it, and calls hook once
// when after bytes have passed.
type hashingReader struct {
	r     io.Reader
	h     hash.Hash
	n     int64
	after int64
	hook  func()
}

func (r *hashingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if r.hook != nil && r.n >= r.after {
		r.hook()
		r.hook = nil
	}
	return n, err
}
