// Command dump benchmarks the dumper (cmd/lc2-dump) on a generated PostgreSQL
// database; hack/bench-dump.sh builds lc2-dump and runs it (make bench-dump).
//
// It starts a throwaway PostgreSQL (fsync on) and moto, grows one table to each
// size in turn, and at each size times our dump (pg_dump -Fc piped through lc2-dump
// into a multipart upload to moto, verification included) against pg_dump -Fc -f to
// a file on tmpfs, both under /usr/bin/time -v for their peak RSS. At the largest
// size it also times our restore from the bucket against pg_restore of the local
// file. Sizes are database sizes (pg_database_size); throughput is database MiB
// per second of wall time. Our dump's time is given twice: up to the start of its
// verification (from dump.json), which is what pg_dump -f does, and in all.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	awsprovider "github.com/liferay/lc2-backup-controller/internal/provider/aws"
	"github.com/liferay/lc2-backup-controller/test/bench/internal/benchenv"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

const (
	password = "bench-Password-1"
	bucket   = "bench-dump"
	mib      = 1 << 20
)

type benchConfig struct {
	lc2Dump, workdir string
	gib              float64
	// versitygw, when set, is the S3 server instead of moto: a Go server on the posix
	// backend, to tell the uploader's cost from the emulator's.
	versitygw string
}

func main() {
	var c benchConfig
	flag.StringVar(&c.lc2Dump, "lc2-dump", "lc2-dump", "path of the lc2-dump binary")
	flag.StringVar(&c.workdir, "workdir", os.TempDir(), "directory on tmpfs for pg_dump's file")
	flag.Float64Var(&c.gib, "gib", 2, "the largest database size in GiB; the first size is a quarter of it")
	flag.StringVar(&c.versitygw, "versitygw", "", "path of a versitygw binary to store the dumps in instead of moto")
	flag.Parse()
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "bench-dump:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c benchConfig) error {
	pg, err := harness.StartPostgresWith(ctx, harness.PostgresOptions{Durable: true, Password: password})
	if err != nil {
		return err
	}
	defer pg.Stop()
	stop, err := startStore(ctx, c)
	if err != nil {
		return err
	}
	defer stop()
	if err := createBucket(ctx); err != nil {
		return err
	}
	source, err := pg.NewDatabase(ctx, "bench")
	if err != nil {
		return err
	}
	db, err := sql.Open("postgres", source)
	if err != nil {
		return fmt.Errorf("open the source database: %w", err)
	}
	defer func() { _ = db.Close() }() // bench teardown
	b := &bench{c: c, pg: pg, db: db, source: dbName(source)}
	if _, err := db.ExecContext(ctx, `CREATE TABLE bench_rows (id bigint PRIMARY KEY, created timestamptz NOT NULL,
		n integer NOT NULL, payload text NOT NULL)`); err != nil {
		return fmt.Errorf("create the table: %w", err)
	}
	if b.store, err = awsprovider.New(ctx, awsprovider.Options{}); err != nil {
		return err
	}
	fmt.Printf("| database | ours: dump + upload | ours: with verification | pg_dump -Fc -f tmpfs | ours (dump + upload) / pg_dump | dump size | lc2-dump peak RSS | pg_dump peak RSS |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|\n")
	sizes := []int64{int64(c.gib * (1 << 30) / 4), int64(c.gib * (1 << 30))}
	for i, target := range sizes {
		size, err := b.grow(ctx, target)
		if err != nil {
			return err
		}
		if err := b.compareDumps(ctx, i, size); err != nil {
			return err
		}
	}
	return b.compareRestores(ctx)
}

type bench struct {
	c      benchConfig
	pg     *harness.Postgres
	db     *sql.DB
	source string
	rows   int64
	prefix string // of the latest dump in the bucket
	file   string // the latest pg_dump file
	store  provider.Provider
}

// startStore starts the S3 server the dumps go to, moto or versitygw, and points
// this process's environment (which lc2-dump inherits) at it.
func startStore(ctx context.Context, c benchConfig) (stop func(), err error) {
	if c.versitygw == "" {
		moto, err := harness.StartMoto(ctx)
		if err != nil {
			return nil, err
		}
		moto.SetAWSEnv()
		fmt.Println("S3 server: moto")
		return moto.Stop, nil
	}
	env, err := benchenv.Start(ctx, benchenv.Config{Name: "bench-dump", Workdir: filepath.Join(c.workdir, "versitygw"), Versitygw: c.versitygw})
	if err != nil {
		return nil, err
	}
	for _, kv := range env.Server.ClientEnv(env.Server.Endpoint) {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "AWS_") {
			if err := os.Setenv(k, v); err != nil {
				env.Close()
				return nil, fmt.Errorf("set %s: %w", k, err)
			}
		}
	}
	fmt.Println("S3 server: versitygw (posix backend, on the work directory)")
	return env.Close, nil
}

func createBucket(ctx context.Context) error {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load the AWS configuration: %w", err)
	}
	name := bucket
	_, err = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &name})
	if err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	return nil
}

func dbName(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(parsed.Path, "/")
}

// grow inserts rows of text (hex digests: about as compressible as Liferay's
// content) until the database is target bytes, and returns its size.
func (b *bench) grow(ctx context.Context, target int64) (int64, error) {
	const batch = 200000
	for {
		var size int64
		if err := b.db.QueryRowContext(ctx, "SELECT pg_database_size(current_database())").Scan(&size); err != nil {
			return 0, fmt.Errorf("database size: %w", err)
		}
		if size >= target {
			_, err := b.db.ExecContext(ctx, "VACUUM ANALYZE bench_rows")
			return size, err
		}
		_, err := b.db.ExecContext(ctx, `INSERT INTO bench_rows
			SELECT g, timestamptz '2024-01-01' + g * interval '1 second', g % 1000,
			       md5(g::text) || ' ' || md5((g * 7)::text) || ' ' || repeat(md5((g % 5000)::text), 3) || ' ' || md5(random()::text)
			FROM generate_series($1::bigint, $2::bigint) g`, b.rows+1, b.rows+batch)
		if err != nil {
			return 0, fmt.Errorf("grow the table: %w", err)
		}
		b.rows += batch
	}
}

// timed is a process's wall time and peak RSS as /usr/bin/time -v reports them.
type timed struct {
	wall time.Duration
	rss  int64 // bytes
}

// runTimed runs a command under /usr/bin/time -v with env added to this process's.
func (b *bench) runTimed(ctx context.Context, env []string, name string, args ...string) (timed, error) {
	report := filepath.Join(b.c.workdir, "time.txt")
	cmd := exec.CommandContext(ctx, "/usr/bin/time", append([]string{"-v", "-o", report, name}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return timed{}, fmt.Errorf("%s: %w\n%s", name, err, out)
	}
	return parseTime(report)
}

func parseTime(path string) (timed, error) {
	f, err := os.Open(path)
	if err != nil {
		return timed{}, fmt.Errorf("read /usr/bin/time's report: %w", err)
	}
	defer func() { _ = f.Close() }() // read-only
	var t timed
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "Maximum resident set size (kbytes): "); ok {
			kb, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return timed{}, fmt.Errorf("read the peak RSS %q: %w", v, err)
			}
			t.rss = kb << 10
		}
		if v, ok := strings.CutPrefix(line, "Elapsed (wall clock) time (h:mm:ss or m:ss): "); ok {
			if t.wall, err = parseClock(v); err != nil {
				return timed{}, err
			}
		}
	}
	if t.wall == 0 {
		return timed{}, errors.New("/usr/bin/time reported no wall time")
	}
	return t, sc.Err()
}

// parseClock reads "1:02:03.45" or "2:03.45".
func parseClock(v string) (time.Duration, error) {
	parts := strings.Split(v, ":")
	var total float64
	for _, p := range parts {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return 0, fmt.Errorf("read the wall time %q: %w", v, err)
		}
		total = total*60 + f
	}
	return time.Duration(total * float64(time.Second)), nil
}

func (b *bench) conn(database string) []string {
	return []string{dump.EnvHost + "=127.0.0.1", dump.EnvPort + "=" + strconv.Itoa(b.pg.Port), dump.EnvDatabase + "=" + database,
		dump.EnvUser + "=postgres", dump.EnvPassword + "=" + password, dump.EnvSSLMode + "=disable",
		dump.EnvProvider + "=aws", dump.EnvBucket + "=" + bucket}
}

func (b *bench) compareDumps(ctx context.Context, round int, size int64) error {
	b.prefix = fmt.Sprintf("bench/%d/", round)
	ours, err := b.runTimed(ctx, append(b.conn(b.source), dump.EnvPrefix+"="+b.prefix), b.c.lc2Dump, "backup")
	if err != nil {
		return err
	}
	if b.file != "" {
		_ = os.Remove(b.file) // the previous size's: tmpfs is memory
	}
	b.file = filepath.Join(b.c.workdir, fmt.Sprintf("bench-%d.pgdump", round))
	pgEnv := []string{"PGHOST=127.0.0.1", "PGPORT=" + strconv.Itoa(b.pg.Port), "PGUSER=postgres", "PGPASSWORD=" + password, "PGDATABASE=" + b.source}
	theirs, err := b.runTimed(ctx, pgEnv, "pg_dump", "-Fc", "-f", b.file)
	if err != nil {
		return err
	}
	st, err := os.Stat(b.file)
	if err != nil {
		return fmt.Errorf("stat the dump: %w", err)
	}
	res, err := dump.ReadResult(ctx, b.store, bucket, b.prefix)
	if err != nil {
		return err
	}
	if res.State != dump.StateSucceeded || res.Verification == nil {
		return fmt.Errorf("our dump %s: %s", res.State, res.Message)
	}
	// From the start of the dump to the start of its verification: connecting and
	// counting the largest tables included, the re-read and full read excluded.
	upload := res.Verification.StartTime.Sub(res.StartTime)
	rate := func(d time.Duration) float64 { return float64(size) / mib / d.Seconds() }
	fmt.Printf("| %.2f GiB | %.1f MiB/s (%.1f s) | %.1f MiB/s (%.1f s) | %.1f MiB/s (%.1f s) | %.2f× | %.0f MiB | %.1f MiB | %.1f MiB |\n",
		float64(size)/(1<<30), rate(upload), upload.Seconds(), rate(ours.wall), ours.wall.Seconds(), rate(theirs.wall), theirs.wall.Seconds(),
		theirs.wall.Seconds()/upload.Seconds(), float64(st.Size())/mib, float64(ours.rss)/mib, float64(theirs.rss)/mib)
	return nil
}

func (b *bench) compareRestores(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Hour)
	defer cancel()
	ours, err := b.pg.NewDatabase(ctx, "restore_ours")
	if err != nil {
		return err
	}
	oursTime, err := b.runTimed(ctx, append(b.conn(dbName(ours)), dump.EnvPrefix+"="+b.prefix), b.c.lc2Dump, "restore")
	if err != nil {
		return err
	}
	theirs, err := b.pg.NewDatabase(ctx, "restore_theirs")
	if err != nil {
		return err
	}
	pgEnv := []string{"PGHOST=127.0.0.1", "PGPORT=" + strconv.Itoa(b.pg.Port), "PGUSER=postgres", "PGPASSWORD=" + password}
	// The flags lc2-dump restore passes (one transaction included), so the two differ
	// only in where the archive comes from and in lc2-dump's own checks.
	theirsTime, err := b.runTimed(ctx, pgEnv, "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "-d", dbName(theirs), b.file)
	if err != nil {
		return err
	}
	fmt.Printf("\n| restore | ours (store → pg_restore) | pg_restore of a tmpfs file | ours / pg_restore | lc2-dump peak RSS |\n|---|---|---|---|---|\n")
	fmt.Printf("| %s | %.1f s | %.1f s | %.2f× | %.1f MiB |\n", b.prefix, oursTime.wall.Seconds(), theirsTime.wall.Seconds(),
		theirsTime.wall.Seconds()/oursTime.wall.Seconds(), float64(oursTime.rss)/mib)
	return nil
}
