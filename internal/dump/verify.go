package dump

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// Full-read methods recorded in Verification.Method.
const (
	methodPgRestore = "pg_restore -f /dev/null"
	methodTrailer   = "decompress and dump-completed trailer"
)

// dumpCompletedTrailer starts the last line mysqldump and mariadb-dump write after
// everything else (with comments on, their default).
var dumpCompletedTrailer = []byte("-- Dump completed")

// WriteResult writes res as the dump.json under prefix.
func WriteResult(ctx context.Context, store provider.Provider, bucket, prefix string, res *Result) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode dump.json: %w", err)
	}
	key := layout.DumpResultKey(prefix)
	if err := store.UploadObject(ctx, bucket, key, append(data, '\n')); err != nil {
		return fmt.Errorf("write s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// WriteRestoreResult writes res as the restore.json under a RestoreRequest's record prefix.
func WriteRestoreResult(ctx context.Context, store provider.Provider, bucket, recordPrefix string, res *RestoreResult) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode restore.json: %w", err)
	}
	key := layout.RestoreResultKey(recordPrefix)
	if err := store.UploadObject(ctx, bucket, key, append(data, '\n')); err != nil {
		return fmt.Errorf("write s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// ReadResult reads the dump.json under prefix.
func ReadResult(ctx context.Context, store provider.Provider, bucket, prefix string) (*Result, error) {
	key := layout.DumpResultKey(prefix)
	data, err := provider.ReadSmallObject(ctx, store, bucket, key)
	if err != nil {
		return nil, fmt.Errorf("read the dump's record: %w", err)
	}
	var res Result
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("decode s3://%s/%s: %w", bucket, key, err)
	}
	return &res, nil
}

// Verify re-checks the dump recorded in the dump.json under prefix, as a restore's
// verifyOnly does: the stored object's size and SHA-256 must be dump.json's, and a
// full read of it must pass. The error is a Failure (ReasonVerifyFailed) when the
// dump does not check out. wantSHA256 is the dump's SHA-256 as the backup's sealed manifest records it
// (lowercase hex, optionally "sha256:"-prefixed; "" when not known): dump.json must
// record the same.
func Verify(ctx context.Context, store provider.Provider, bucket, prefix, wantSHA256 string) (*Verification, error) {
	res, err := ReadResult(ctx, store, bucket, prefix)
	if err != nil {
		return nil, fail(ReasonVerifyFailed, err, "the dump's record could not be read")
	}
	if res.State != StateSucceeded {
		return nil, fail(ReasonVerifyFailed, nil, "the dump under %s did not succeed (%s: %s)", prefix, res.Reason, res.Message)
	}
	if err := res.checkPlace(bucket, prefix, wantSHA256); err != nil {
		return nil, fail(ReasonVerifyFailed, err, "the dump's record is not trusted")
	}
	return checkObject(ctx, store, res, &processes{})
}

// checkPlace refuses a record naming an object outside prefix's database/ folder in
// bucket (a record is only as trustworthy as the bucket, and must not send a
// restore to another backup's, or another project's, object), or one whose SHA-256
// is not what the manifest recorded.
func (r *Result) checkPlace(bucket, prefix, wantSHA256 string) error {
	dir := prefix + layout.DatabaseDir
	if rel, ok := strings.CutPrefix(r.Key, prefix); r.Bucket != bucket || !ok || !layout.IsDatabaseKey(rel) {
		return fmt.Errorf("it names s3://%s/%s, which is not in s3://%s/%s", r.Bucket, r.Key, bucket, dir)
	}
	if want := strings.TrimPrefix(wantSHA256, "sha256:"); want != "" && want != r.SHA256 {
		return fmt.Errorf("it records SHA-256 %s, but the backup's manifest %s", r.SHA256, want)
	}
	return nil
}

// checkObject reads the stored dump of res once: its size and SHA-256 are counted
// while the full read (pg_restore to /dev/null, or decompressing to the trailer)
// consumes it.
func checkObject(ctx context.Context, store provider.Provider, res *Result, procs *processes) (*Verification, error) {
	ver := &Verification{Method: methodTrailer, StartTime: time.Now().UTC()}
	defer func() { ver.EndTime = time.Now().UTC() }()
	if res.Format == FormatCustom {
		ver.Method = methodPgRestore
	}
	rc, err := store.DownloadObject(ctx, res.Bucket, res.Key)
	if err != nil {
		return ver, fail(ReasonVerifyFailed, nil, "the stored dump s3://%s/%s could not be read: %s", res.Bucket, res.Key, provider.Describe(err))
	}
	defer func() { _ = rc.Close() }() // read-only
	body := &hashingReader{r: rc, h: sha256.New()}
	if res.Format == FormatCustom {
		err = pgRestoreToNull(ctx, body, procs)
	} else {
		err = readToTrailer(body, res.Compression, io.Discard)
	}
	// The full read may stop short of the end (pg_restore need not read trailing
	// bytes): the size and hash cover every byte all the same.
	if _, drainErr := io.Copy(io.Discard, body); drainErr != nil {
		return ver, fail(ReasonVerifyFailed, drainErr, "the stored dump s3://%s/%s could not be read to its end", res.Bucket, res.Key)
	}
	ver.StoredSizeBytes, ver.StoredSHA256 = body.n, hex.EncodeToString(body.h.Sum(nil))
	switch {
	case ver.StoredSizeBytes != res.SizeBytes || ver.StoredSHA256 != res.SHA256:
		return ver, fail(ReasonVerifyFailed, nil, "the stored dump s3://%s/%s is %d bytes with SHA-256 %s, but %d bytes with SHA-256 %s were sent",
			res.Bucket, res.Key, ver.StoredSizeBytes, ver.StoredSHA256, res.SizeBytes, res.SHA256)
	case err != nil:
		return ver, fail(ReasonVerifyFailed, err, "the full read of the stored dump s3://%s/%s failed (%s)", res.Bucket, res.Key, ver.Method)
	}
	ver.Passed = true
	return ver, nil
}

// pgRestoreToNull feeds an archive to pg_restore, which reads all of it writing
// the SQL to /dev/null. (pg_restore -l would read only the table of contents and
// accept a truncated archive.)
func pgRestoreToNull(ctx context.Context, archive io.Reader, procs *processes) error {
	t, err := lookTool("pg_restore")
	if err != nil {
		return err
	}
	return runFed(ctx, t, []string{"--file=/dev/null"}, childEnv(), archive, procs)
}

// readToTrailer decompresses a SQL dump into sink and checks that it ends with the
// dump-completed line: a dump cut short has none, however well it decompresses.
func readToTrailer(compressed io.Reader, compression string, sink io.Writer) error {
	var sql io.Reader
	switch compression {
	case CompressionGzip:
		zr, err := gzip.NewReader(compressed)
		if err != nil {
			return fmt.Errorf("read the gzip stream: %w", err)
		}
		defer func() { _ = zr.Close() }() // a reader: nothing to flush
		sql = zr
	case CompressionZstd:
		zr, err := zstd.NewReader(compressed, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return fmt.Errorf("read the zstd stream: %w", err)
		}
		defer zr.Close()
		sql = zr
	default:
		return fmt.Errorf("unknown compression %q", compression)
	}
	tail := &lastLine{}
	if _, err := io.Copy(io.MultiWriter(sink, tail), sql); err != nil {
		return fmt.Errorf("decompress the dump: %w", err)
	}
	if !bytes.HasPrefix(tail.line(), dumpCompletedTrailer) {
		return errors.New("the dump has no \"-- Dump completed\" line at its end: it was cut short")
	}
	return nil
}

// lastLine keeps the last line written to it (without its newline), bounded.
type lastLine struct{ buf []byte }

const lastLineMax = 512

func (l *lastLine) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	if len(l.buf) > 2*lastLineMax {
		l.buf = append(l.buf[:0], l.buf[len(l.buf)-lastLineMax:]...)
	}
	return len(p), nil
}

func (l *lastLine) line() []byte {
	b := bytes.TrimRight(l.buf, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return b
}
