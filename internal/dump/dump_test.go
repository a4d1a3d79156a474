package dump_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq"

	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
	"github.com/liferay/lc2-backup-controller/test/harness"
	"github.com/liferay/lc2-backup-controller/test/harness/liferay"
)

const (
	secretRef = "retail-prd/lportal-db"
	// pgPassword is the PostgreSQL superuser's password: the harness makes TCP
	// logins give it, so a wrong one is refused.
	pgPassword = "pg-Secret#1"
)

// counts make a small database of every table.
var counts = liferay.Counts{
	Companies: 1, GroupsPerCompany: 2, FoldersPerGroup: 2, FilesPerFolder: 2, VersionsPerFile: 2,
	BulkRows: 1500, BulkRowBytes: 4000, MaxFileSize: 100000,
}

// largeCounts make a database whose dump, compressed, is several times
// killAfterBytes: a dump killed there is killed mid-stream, with more than a part
// (provider.MinStreamPartSize) already passed to the store.
var largeCounts = liferay.Counts{
	Companies: 1, GroupsPerCompany: 2, FoldersPerGroup: 1, FilesPerFolder: 1, VersionsPerFile: 1,
	BulkRows: 12000, BulkRowBytes: 8000, MaxFileSize: 100000,
}

const killAfterBytes = provider.MinStreamPartSize + 1<<20

var (
	pg    *harness.Postgres
	maria *harness.MariaDB
	moto  *harness.Moto
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx := context.Background()
	var err error
	if pg, err = harness.StartPostgresWith(ctx, harness.PostgresOptions{Password: pgPassword}); err != nil {
		fmt.Fprintln(os.Stderr, "start postgres:", err)
		return 1
	}
	defer pg.Stop()
	if maria, err = harness.StartMariaDB(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "start mariadb:", err)
		return 1
	}
	defer maria.Stop()
	if moto, err = harness.StartMoto(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "start moto:", err)
		return 1
	}
	defer moto.Stop()
	moto.SetAWSEnv()
	return m.Run()
}

// engine is one of the two servers, with what a test needs of it.
type engine struct {
	name   string // dump.Engine*
	schema liferay.Engine
	driver string
	// newDatabase creates an empty database and returns its connection and its
	// driver DSN.
	newDatabase func(t *testing.T) (dump.Connection, string)
}

var engines = []engine{
	{name: dump.EnginePostgres, schema: liferay.PostgreSQL, driver: "postgres", newDatabase: newPostgresDatabase},
	{name: dump.EngineMariaDB, schema: liferay.MySQL, driver: "mysql", newDatabase: newMariaDBDatabase},
}

func newPostgresDatabase(t *testing.T) (dump.Connection, string) {
	t.Helper()
	dsn, err := pg.NewDatabase(context.Background(), "dump")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return dump.Connection{Host: "127.0.0.1", Port: pg.Port, Database: strings.TrimPrefix(u.Path, "/"),
		User: "postgres", Password: pgPassword, SSLMode: "disable", SecretRef: secretRef}, dsn
}

func newMariaDBDatabase(t *testing.T) (dump.Connection, string) {
	t.Helper()
	dsn, err := maria.NewDatabase(context.Background(), "dump")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return dump.Connection{Host: maria.Host(), Port: maria.Port(), Database: cfg.DBName,
		User: maria.User(), Password: maria.Password(), SSLMode: "disable", SecretRef: secretRef}, dsn
}

// source is a seeded database, shared by the tests of an engine and size (they
// only read it).
type source struct {
	conn dump.Connection
	sums map[string]liferay.TableSum
	rows map[string]int64
}

var (
	sourcesMu sync.Mutex
	sources   = map[sourceKey]*source{}
)

type sourceKey struct {
	engine string
	counts liferay.Counts
}

func seeded(t *testing.T, e engine, c liferay.Counts) *source {
	t.Helper()
	sourcesMu.Lock()
	defer sourcesMu.Unlock()
	if s := sources[sourceKey{e.name, c}]; s != nil {
		return s
	}
	ctx := context.Background()
	conn, dsn := e.newDatabase(t)
	db := open(t, e.driver, dsn)
	seed, err := liferay.Seed(ctx, db, e.schema, 7, c)
	if err != nil {
		t.Fatal(err)
	}
	sums, err := liferay.Checksums(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	s := &source{conn: conn, sums: sums, rows: seed.Rows}
	sources[sourceKey{e.name, c}] = s
	return s
}

func open(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func backupConfig(st *testStore, conn dump.Connection, prefix string) dump.Config {
	return dump.Config{Connection: conn, Bucket: st.bucket, Prefix: prefix, SourceSnapshot: "snap-1"}
}

func wantSucceeded(t *testing.T, res *dump.Result) {
	t.Helper()
	if res.State != dump.StateSucceeded {
		t.Fatalf("dump %s (%s): %s; processes %+v", res.State, res.Reason, res.Message, res.Processes)
	}
}

// backup takes a dump and writes its dump.json, as the dumper does.
func backup(t *testing.T, cfg dump.Config, store *testStore) *dump.Result {
	t.Helper()
	res := dump.Backup(context.Background(), cfg, store)
	if err := dump.WriteResult(context.Background(), store, cfg.Bucket, cfg.Prefix, res); err != nil {
		t.Fatal(err)
	}
	return res
}

// A dump of each engine, restored into an empty database, gives the same tables,
// row for row; dump.json describes the stored object exactly. On the fake and on
// the AWS provider against moto.
func TestDumpRestoresIdenticalTables(t *testing.T) {
	for _, sk := range storeKinds {
		for _, e := range engines {
			t.Run(sk.name+"/"+e.name, func(t *testing.T) {
				testRoundTrip(t, sk.open(t), e, nil)
			})
		}
	}
	// The Secret says mysql; the server says MariaDB, and dump.json records the server.
	t.Run("fake/mariadb-zstd", func(t *testing.T) {
		testRoundTrip(t, openFake(t), engines[1], func(c *dump.Config) {
			c.Compression, c.Engine = dump.CompressionZstd, dump.EngineMySQL
		})
	})
	t.Run("fake/postgres-engine-given", func(t *testing.T) {
		testRoundTrip(t, openFake(t), engines[0], func(c *dump.Config) { c.Engine = dump.EnginePostgres })
	})
	// A Secret with neither engine nor sslmode: the PostgreSQL probe's SSL request
	// meets MariaDB's greeting and fails at once, and MariaDB is found.
	t.Run("fake/mariadb-no-sslmode", func(t *testing.T) {
		testRoundTrip(t, openFake(t), engines[1], func(c *dump.Config) { c.SSLMode = "" })
	})
	// libpq's default, prefer, on a server without TLS.
	t.Run("fake/postgres-no-sslmode", func(t *testing.T) {
		testRoundTrip(t, openFake(t), engines[0], func(c *dump.Config) { c.SSLMode = "" })
	})
}

// testRoundTrip dumps the seeded database of e, with its configuration changed by
// tweak (nil: as the Secret has it), and restores it.
func testRoundTrip(t *testing.T, st *testStore, e engine, tweak func(*dump.Config)) {
	ctx := context.Background()
	src := seeded(t, e, counts)
	prefix := "retail-prd/2026-12-07/"
	cfg := backupConfig(st, src.conn, prefix)
	if tweak != nil {
		tweak(&cfg)
	}
	compression := cfg.Compression
	res := backup(t, cfg, st)
	wantSucceeded(t, res)

	stored, ok := st.read(t, res.Key)
	if !ok {
		t.Fatalf("no object at %s", res.Key)
	}
	ext := "pgdump"
	if e.name != dump.EnginePostgres {
		ext = map[string]string{"": "sql.gz", dump.CompressionZstd: "sql.zst"}[compression]
	}
	if wantKey := layout.DumpKey(prefix, ext); res.Key != wantKey || res.Bucket != st.bucket {
		t.Errorf("stored at s3://%s/%s, want s3://%s/%s", res.Bucket, res.Key, st.bucket, wantKey)
	}
	if res.SizeBytes != int64(len(stored)) || res.SHA256 != sha256Hex(stored) {
		t.Errorf("dump.json says %d bytes %s, the store holds %d bytes %s", res.SizeBytes, res.SHA256, len(stored), sha256Hex(stored))
	}
	if v := res.Verification; v == nil || !v.Passed || v.StoredSizeBytes != res.SizeBytes || v.StoredSHA256 != res.SHA256 {
		t.Errorf("verification %+v does not confirm the stored object", v)
	}
	checkRecord(t, e.name, compression, res, src)

	target, targetDSN := e.newDatabase(t)
	rr := dump.Restore(ctx, dump.RestoreConfig{Connection: target, Bucket: st.bucket, Prefix: prefix}, st)
	if rr.State != dump.StateSucceeded {
		t.Fatalf("restore %s (%s): %s", rr.State, rr.Reason, rr.Message)
	}
	if rr.SizeBytes != res.SizeBytes || rr.Key != res.Key {
		t.Errorf("restored %d bytes of %s, want %d of %s", rr.SizeBytes, rr.Key, res.SizeBytes, res.Key)
	}
	got, err := liferay.Checksums(ctx, open(t, e.driver, targetDSN))
	if err != nil {
		t.Fatal(err)
	}
	for table, want := range src.sums {
		if got[table] != want {
			t.Errorf("%s restored as %+v, want %+v", table, got[table], want)
		}
	}

	// The target now has tables: a second restore is refused unless confirmed.
	rr = dump.Restore(ctx, dump.RestoreConfig{Connection: target, Bucket: st.bucket, Prefix: prefix}, st)
	if rr.State != dump.StateFailed || rr.Reason != dump.ReasonTargetNotEmpty || !strings.Contains(rr.Message, target.Database) {
		t.Errorf("restore into a non-empty database: %s (%s) %q, want Failed (TargetNotEmpty) naming %s", rr.State, rr.Reason, rr.Message, target.Database)
	}
	if len(rr.Processes) != 0 {
		t.Errorf("the refused restore ran %+v", rr.Processes)
	}
}

// A PostgreSQL dump restores as a user that is not a superuser, into a database it
// owns, as on RDS: ownership and grants are left out, and nothing in the archive
// needs more.
func TestPostgresRestoreAsAnOrdinaryUser(t *testing.T) {
	ctx := context.Background()
	src := seeded(t, engines[0], counts)
	st := openFake(t)
	res := backup(t, backupConfig(st, src.conn, "ordinary/"), st)
	wantSucceeded(t, res)

	admin := open(t, "postgres", pg.URL)
	role := fmt.Sprintf("app_%d", bucketSeq.Add(1))
	if _, err := admin.ExecContext(ctx, "CREATE ROLE "+role+" LOGIN PASSWORD 'app-Password-3' NOSUPERUSER NOCREATEDB NOCREATEROLE"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+role+" OWNER "+role); err != nil {
		t.Fatal(err)
	}
	target := src.conn
	target.Database, target.User, target.Password = role, role, "app-Password-3"
	rr := dump.Restore(ctx, dump.RestoreConfig{Connection: target, Bucket: st.bucket, Prefix: "ordinary/"}, st)
	if rr.State != dump.StateSucceeded {
		t.Fatalf("restore as %s: %s (%s): %s", role, rr.State, rr.Reason, rr.Message)
	}
	u, err := url.Parse(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User, u.Path = url.UserPassword(role, "app-Password-3"), "/"+role
	got, err := liferay.Checksums(ctx, open(t, "postgres", u.String()))
	if err != nil {
		t.Fatal(err)
	}
	for table, want := range src.sums {
		if got[table] != want {
			t.Errorf("%s restored as %+v, want %+v", table, got[table], want)
		}
	}
}

// A MariaDB dump restores as a user whose privileges are its own database's only.
func TestMariaDBRestoreAsAnOrdinaryUser(t *testing.T) {
	ctx := context.Background()
	src := seeded(t, engines[1], counts)
	st := openFake(t)
	res := backup(t, backupConfig(st, src.conn, "ordinary/"), st)
	wantSucceeded(t, res)

	target, targetDSN := newMariaDBDatabase(t)
	user := fmt.Sprintf("app_%d", bucketSeq.Add(1))
	admin := open(t, "mysql", maria.DSN())
	for _, stmt := range []string{
		"CREATE USER '" + user + "'@'%' IDENTIFIED BY 'app-Password-4'",
		"GRANT ALL PRIVILEGES ON `" + target.Database + "`.* TO '" + user + "'@'%'",
	} {
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	target.User, target.Password = user, "app-Password-4"
	rr := dump.Restore(ctx, dump.RestoreConfig{Connection: target, Bucket: st.bucket, Prefix: "ordinary/"}, st)
	if rr.State != dump.StateSucceeded {
		t.Fatalf("restore as %s: %s (%s): %s", user, rr.State, rr.Reason, rr.Message)
	}
	got, err := liferay.Checksums(ctx, open(t, "mysql", targetDSN))
	if err != nil {
		t.Fatal(err)
	}
	for table, want := range src.sums {
		if got[table] != want {
			t.Errorf("%s restored as %+v, want %+v", table, got[table], want)
		}
	}
}

// A MariaDB dump is taken by a user whose privileges are its own database's only,
// as a Liferay's connection Secret usually holds.
func TestMariaDBDumpAsAnOrdinaryUser(t *testing.T) {
	ctx := context.Background()
	src := seeded(t, engines[1], counts)
	user := fmt.Sprintf("liferay_%d", bucketSeq.Add(1))
	admin := open(t, "mysql", maria.DSN())
	for _, stmt := range []string{
		"CREATE USER '" + user + "'@'%' IDENTIFIED BY 'liferay-Password-5'",
		"GRANT ALL PRIVILEGES ON `" + src.conn.Database + "`.* TO '" + user + "'@'%'",
	} {
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	conn := src.conn
	conn.User, conn.Password = user, "liferay-Password-5"
	st := openFake(t)
	res := backup(t, backupConfig(st, conn, "ordinary-dump/"), st)
	wantSucceeded(t, res)
}

// checkRecord checks dump.json's description of the dump and the server.
func checkRecord(t *testing.T, engineName, compression string, res *dump.Result, src *source) {
	t.Helper()
	wantTool, wantFormat, wantCompression := "pg_dump", dump.FormatCustom, "pg-internal"
	if engineName != dump.EnginePostgres {
		wantTool, wantFormat, wantCompression = "mariadb-dump", dump.FormatSQL, dump.CompressionGzip
		if compression != "" {
			wantCompression = compression
		}
	}
	if res.Engine != engineName || res.ServerVersion == "" || res.Tool != wantTool || res.ToolVersion == "" ||
		res.Format != wantFormat || res.Compression != wantCompression || res.Database != src.conn.Database ||
		res.SourceSnapshot != "snap-1" || res.EstimatedBytes <= 0 || res.Version != dump.ResultVersion {
		t.Errorf("dump.json = %+v", res)
	}
	if res.StartTime.IsZero() || res.EndTime.Before(res.StartTime) {
		t.Errorf("start %v, end %v", res.StartTime, res.EndTime)
	}
	// Every table of the seed is among the ten largest (there are nine), with its
	// rows. PostgreSQL has Liferay's tables in lower case (its DDL does not quote
	// them); InnoDB's table sizes are estimates, so the order is not checked.
	if len(res.LargestTables) != len(src.rows) {
		t.Errorf("largestTables %+v, want the %d seeded tables", res.LargestTables, len(src.rows))
	}
	for _, tr := range res.LargestTables {
		want, ok := int64(0), false
		for table, rows := range src.rows {
			if strings.EqualFold(table, tr.Table) {
				want, ok = rows, true
			}
		}
		if !ok || tr.Rows != want {
			t.Errorf("largestTables has %s with %d rows, want %d", tr.Table, tr.Rows, want)
		}
	}
	wantProcs := []string{wantTool}
	if engineName == dump.EnginePostgres {
		wantProcs = append(wantProcs, "pg_restore")
	}
	var names []string
	for _, p := range res.Processes {
		names = append(names, p.Name)
		if p.Name == "pg_dump" && !slices.ContainsFunc(p.Args, func(a string) bool { return strings.HasPrefix(a, "--snapshot=") }) {
			t.Errorf("pg_dump %v did not dump the snapshot the rows were counted in", p.Args)
		}
		if p.ExitCode != 0 || p.Signal != "" {
			t.Errorf("process %+v did not exit 0", p)
		}
		for _, a := range p.Args {
			if strings.Contains(a, src.conn.Password) {
				t.Errorf("process %s has the password in its args", p.Name)
			}
		}
	}
	if strings.Join(names, ",") != strings.Join(wantProcs, ",") {
		t.Errorf("processes %v, want %v", names, wantProcs)
	}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), src.conn.Password) {
		t.Error("dump.json holds the password")
	}
}

// A dump whose tool dies mid-stream, after more than a part has gone to the store,
// fails, and neither an object nor a multipart upload is left.
func TestDumpKilledMidStreamLeavesNoObject(t *testing.T) {
	for _, sk := range storeKinds {
		for _, e := range engines {
			t.Run(sk.name+"/"+e.name, func(t *testing.T) {
				src := seeded(t, e, largeCounts)
				st := sk.open(t)
				cfg := backupConfig(st, src.conn, "killed/")
				killed := false
				cfg.StreamHook = &dump.StreamHook{AfterBytes: killAfterBytes, Func: func(p *os.Process) {
					if err := p.Signal(syscall.SIGKILL); err != nil {
						t.Errorf("kill the dump tool: %v", err)
					}
					killed = true
				}}
				res := dump.Backup(context.Background(), cfg, st)
				if !killed {
					t.Fatalf("the dump ended before %d bytes had passed: %s", killAfterBytes, res.Message)
				}
				if res.State != dump.StateFailed || res.Reason != dump.ReasonDumpFailed {
					t.Fatalf("dump %s (%s): %s, want Failed (DumpFailed)", res.State, res.Reason, res.Message)
				}
				if len(res.Processes) != 1 || res.Processes[0].Signal != "killed" {
					t.Errorf("processes %+v, want the dump tool killed", res.Processes)
				}
				if !strings.Contains(res.Message, "killed") {
					t.Errorf("message %q does not say the tool was killed", res.Message)
				}
				if objs, err := st.ListObjects(context.Background(), st.bucket, "killed/"); err != nil || len(objs) != 0 {
					t.Errorf("objects left under the prefix: %v (%v)", objs, err)
				}
				if left := st.unfinished(t); len(left) != 0 {
					t.Errorf("multipart uploads left: %v", left)
				}
				if f, ok := st.store.(*fake.Provider); ok {
					// The premise: the upload had parts when the tool died.
					if ups := f.StreamUploads(); len(ups) != 1 || ups[0].Parts < 1 || ups[0].State != fake.StreamAborted {
						t.Errorf("stream uploads %+v, want one aborted with a part read", ups)
					}
				}
			})
		}
	}
}

// A database that goes away mid-dump fails the dump (the tool's own error, not a
// signal), and nothing is left at the key. The server is stopped from the hook, once
// more than a part has passed, and started again for the other tests.
func TestServerGoneMidDumpFailsTheDump(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			src := seeded(t, e, largeCounts)
			st := openFake(t)
			cfg := backupConfig(st, src.conn, "gone/")
			stopped := false
			cfg.StreamHook = &dump.StreamHook{AfterBytes: killAfterBytes, Func: func(*os.Process) {
				if e.name == dump.EnginePostgres {
					if err := pg.StopServer(); err != nil {
						t.Errorf("stop postgres: %v", err)
					}
				} else {
					maria.StopServer()
				}
				stopped = true
			}}
			res := dump.Backup(context.Background(), cfg, st)
			start := pg.StartServer
			if e.name != dump.EnginePostgres {
				start = maria.StartServer
			}
			if err := start(context.Background()); err != nil {
				t.Fatalf("start the server again: %v", err)
			}
			if !stopped {
				t.Fatalf("the dump ended before %d bytes had passed: %s", killAfterBytes, res.Message)
			}
			if res.State != dump.StateFailed || res.Reason != dump.ReasonDumpFailed {
				t.Fatalf("dump %s (%s): %s, want Failed (DumpFailed)", res.State, res.Reason, res.Message)
			}
			t.Logf("dump.json message: %s", res.Message)
			if len(res.Processes) != 1 || res.Processes[0].ExitCode == 0 || res.Processes[0].Signal != "" {
				t.Errorf("processes %+v, want the dump tool exited non-zero", res.Processes)
			}
			if objs, err := st.ListObjects(context.Background(), st.bucket, "gone/"); err != nil || len(objs) != 0 {
				t.Errorf("objects left under the prefix: %v (%v)", objs, err)
			}
			if left := st.unfinished(t); len(left) != 0 {
				t.Errorf("uploads left unfinished: %v", left)
			}
		})
	}
}

// A store that refuses the upload fails the dump with UploadFailed, and the dump
// tool, left without a reader, is stopped rather than left hanging on its pipe.
func TestRefusedUploadFailsTheDump(t *testing.T) {
	src := seeded(t, engines[0], largeCounts)
	f := fake.New(fakeBucket)
	f.FailWith("UploadStream", provider.NewError(provider.KindAccessDenied, "PutObject", fakeBucket, errors.New("denied")).
		WithMessage("access denied to s3://"+fakeBucket+" (s3:PutObject)"))
	res := dump.Backup(context.Background(), dump.Config{Connection: src.conn, Bucket: fakeBucket, Prefix: "refused/"}, f)
	if res.State != dump.StateFailed || res.Reason != dump.ReasonUploadFailed || !strings.Contains(res.Message, "access denied") {
		t.Fatalf("dump %s (%s): %s, want Failed (UploadFailed) saying access denied", res.State, res.Reason, res.Message)
	}
	if len(res.Processes) != 1 || res.Processes[0].Name != "pg_dump" || res.Processes[0].ExitCode == 0 && res.Processes[0].Signal == "" {
		t.Errorf("processes %+v, want pg_dump stopped", res.Processes)
	}
	if objs, err := f.ListObjects(context.Background(), fakeBucket, ""); err != nil || len(objs) != 0 {
		t.Errorf("objects stored: %v (%v)", objs, err)
	}
}

// shortReads is a store whose reads of an object end halfway: what a store that
// lost part of an object would serve.
type shortReads struct{ *fake.Provider }

func (s shortReads) DownloadObject(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	data, ok := s.ReadObject(bucket, key)
	if !ok {
		return s.Provider.DownloadObject(ctx, bucket, key)
	}
	return io.NopCloser(bytes.NewReader(data[:len(data)/2])), nil
}

// A dump whose stored object does not read back as sent fails, and the object is
// deleted: no dump is left that could be mistaken for a good one.
func TestDumpThatDoesNotReadBackIsDeleted(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			src := seeded(t, e, counts)
			st := shortReads{fake.New(fakeBucket)}
			res := dump.Backup(context.Background(), dump.Config{Connection: src.conn, Bucket: fakeBucket, Prefix: "short/"}, st)
			if res.State != dump.StateFailed || res.Reason != dump.ReasonVerifyFailed || !strings.Contains(res.Message, "were sent") {
				t.Fatalf("dump %s (%s): %s, want Failed (VerifyFailed) naming the sizes", res.State, res.Reason, res.Message)
			}
			if v := res.Verification; v == nil || v.Passed || v.StoredSizeBytes != res.SizeBytes/2 {
				t.Errorf("verification %+v, want failed after %d bytes", v, res.SizeBytes/2)
			}
			if objs, err := st.ListObjects(context.Background(), fakeBucket, ""); err != nil || len(objs) != 0 {
				t.Errorf("objects left: %v (%v)", objs, err)
			}
		})
	}
}

// A stored dump that is cut short does not verify: against dump.json's size and
// hash when only the object was cut, and by the full read when dump.json records
// the short object itself (a stream that ended early).
func TestTruncatedDumpFailsVerify(t *testing.T) {
	for _, sk := range storeKinds {
		for _, e := range engines {
			t.Run(sk.name+"/"+e.name, func(t *testing.T) {
				ctx := context.Background()
				src := seeded(t, e, counts)
				st := sk.open(t)
				prefix := "truncated/"
				res := backup(t, backupConfig(st, src.conn, prefix), st)
				wantSucceeded(t, res)
				if ver, err := dump.Verify(ctx, st, st.bucket, prefix, ""); err != nil || !ver.Passed {
					t.Fatalf("the intact dump does not verify: %+v, %v", ver, err)
				}
				stored, _ := st.read(t, res.Key)
				short := stored[:len(stored)/2]
				st.put(t, res.Key, short)

				ver, err := dump.Verify(ctx, st, st.bucket, prefix, "")
				wantVerifyFailed(t, ver, err, "were sent")

				// dump.json recording the short object: only the full read can tell.
				if e.name != dump.EnginePostgres {
					short = gzipWithoutTrailer(t, stored)
					st.put(t, res.Key, short)
				}
				rewritten := *res
				rewritten.SizeBytes, rewritten.SHA256 = int64(len(short)), sha256Hex(short)
				data, err := json.Marshal(&rewritten)
				if err != nil {
					t.Fatal(err)
				}
				st.put(t, layout.DumpResultKey(prefix), data)
				ver, err = dump.Verify(ctx, st, st.bucket, prefix, "")
				wantVerifyFailed(t, ver, err, "full read")
				if ver.StoredSizeBytes != int64(len(short)) {
					t.Errorf("verify read %d bytes, the object has %d", ver.StoredSizeBytes, len(short))
				}
			})
		}
	}
}

func wantVerifyFailed(t *testing.T, ver *dump.Verification, err error, says string) {
	t.Helper()
	var f *dump.Failure
	if !asFailure(err, &f) || f.Reason != dump.ReasonVerifyFailed || !strings.Contains(f.Message, says) {
		t.Fatalf("verify of a truncated dump: %v, want VerifyFailed saying %q", err, says)
	}
	if ver == nil || ver.Passed {
		t.Errorf("verification %+v passed", ver)
	}
}

// A wrong password fails naming the Secret and its key, never the password, and
// nothing is dumped.
func TestWrongPasswordNamesTheSecretKey(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			src := seeded(t, e, counts)
			st := openFake(t)
			cfg := backupConfig(st, src.conn, "wrong/")
			cfg.Password = "not-the-Password-42"
			res := dump.Backup(context.Background(), cfg, st)
			if res.State != dump.StateFailed || res.Reason != dump.ReasonAuthenticationFailed {
				t.Fatalf("dump %s (%s): %s, want Failed (AuthenticationFailed)", res.State, res.Reason, res.Message)
			}
			if want := `key "password" of Secret ` + secretRef; !strings.Contains(res.Message, want) {
				t.Errorf("message %q does not say %q", res.Message, want)
			}
			data, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), cfg.Password) || strings.Contains(string(data), src.conn.Password) {
				t.Errorf("dump.json holds a password: %s", data)
			}
			if n := st.streams(); n != 0 || len(res.Processes) != 0 {
				t.Errorf("%d uploads and processes %+v after a refused login", n, res.Processes)
			}
		})
	}
}

// A dump tool older than the server is refused before anything is dumped. No older
// pg_dump or mariadb-dump can be installed here, so a shim earlier on PATH prints
// an older version (and fails the test if it is ever run to dump).
func TestToolOlderThanServerIsRefused(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			src := seeded(t, e, counts)
			name, version := "pg_dump", "pg_dump (PostgreSQL) 14.13"
			if e.name != dump.EnginePostgres {
				name, version = "mariadb-dump", "mariadb-dump  Ver 10.19 Distrib 10.6.20-MariaDB, for debian-linux-gnu (x86_64)"
			}
			shimDir := t.TempDir()
			shim := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = --version ]; then echo '%s'; exit 0; fi\necho 'the shim was run to dump' >&2\nexit 3\n", version)
			if err := os.WriteFile(filepath.Join(shimDir, name), []byte(shim), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", shimDir+string(os.PathListSeparator)+os.Getenv("PATH"))
			st := openFake(t)
			res := dump.Backup(context.Background(), backupConfig(st, src.conn, "old-tool/"), st)
			if res.State != dump.StateFailed || res.Reason != dump.ReasonServerTooNew {
				t.Fatalf("dump %s (%s): %s, want Failed (ServerTooNew)", res.State, res.Reason, res.Message)
			}
			if !strings.Contains(res.Message, res.ServerVersion) || !strings.Contains(res.Message, res.ToolVersion) || res.ToolVersion == "" {
				t.Errorf("message %q does not name the server's version %s and the tool's %s", res.Message, res.ServerVersion, res.ToolVersion)
			}
			if n := st.streams(); n != 0 || len(res.Processes) != 0 {
				t.Errorf("%d uploads and processes %+v after the refusal", n, res.Processes)
			}
		})
	}
}

func asFailure(err error, f **dump.Failure) bool { return errors.As(err, f) }

// gzipWithoutTrailer is a SQL dump, recompressed without its last line (the
// dump-completed trailer): a well-formed gzip stream of a dump cut short.
func gzipWithoutTrailer(t *testing.T, stored []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(stored))
	if err != nil {
		t.Fatal(err)
	}
	sqlText, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.TrimRight(sqlText, "\n")
	cut := bytes.LastIndexByte(body, '\n')
	if !bytes.HasPrefix(body[cut+1:], []byte("-- Dump completed")) {
		t.Fatalf("the dump's last line is %q", body[cut+1:])
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(body[:cut+1]); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A restore and a verify trust dump.json only as far as it stays in its own backup
// and agrees with the manifest; a restore whose tables do not hold the rows the dump
// counted fails, naming the table.
func TestRestoreChecksTheRecordAndTheRowCounts(t *testing.T) {
	ctx := context.Background()
	e := engines[0]
	st := openFake(t)
	src := seeded(t, e, counts)
	prefix := "retail-prd/2026-12-07-trust/"
	res := backup(t, backupConfig(st, src.conn, prefix), st)
	wantSucceeded(t, res)
	restoreInto := func(mutate func(*dump.Result), want string) *dump.RestoreResult {
		t.Helper()
		forged := *res
		forged.LargestTables = append([]dump.TableRows(nil), res.LargestTables...)
		mutate(&forged)
		if err := dump.WriteResult(ctx, st, st.bucket, prefix, &forged); err != nil {
			t.Fatal(err)
		}
		target, _ := e.newDatabase(t)
		rr := dump.Restore(ctx, dump.RestoreConfig{Connection: target, Bucket: st.bucket, Prefix: prefix, ExpectSHA256: "sha256:" + res.SHA256}, st)
		if rr.State != dump.StateFailed || !strings.Contains(rr.Message, want) {
			t.Errorf("restore: %s (%s) %q, want Failed saying %q", rr.State, rr.Reason, rr.Message, want)
		}
		return rr
	}

	rr := restoreInto(func(r *dump.Result) { r.Key = "other-backup/database/dump.pgdump" }, "not in s3://")
	if rr.Reason != dump.ReasonVerifyFailed || len(rr.Processes) != 0 {
		t.Errorf("a record naming another backup's dump: %s, processes %+v; want VerifyFailed before any process", rr.Reason, rr.Processes)
	}
	restoreInto(func(r *dump.Result) { r.Bucket = "another-project" }, "not in s3://")
	restoreInto(func(r *dump.Result) { r.SHA256 = strings.Repeat("0", 64) }, "but the backup's manifest")

	rr = restoreInto(func(r *dump.Result) { r.LargestTables[0].Rows++ }, "the restored database differs from the dump: "+res.LargestTables[0].Table)
	if rr.Reason != dump.ReasonRowsMismatch || len(rr.Tables) != len(res.LargestTables) {
		t.Errorf("row mismatch: %s with %d tables counted, want RowsMismatch with %d", rr.Reason, len(rr.Tables), len(res.LargestTables))
	}

	if err := dump.WriteResult(ctx, st, st.bucket, prefix, res); err != nil {
		t.Fatal(err)
	}
	if _, err := dump.Verify(ctx, st, st.bucket, prefix, strings.Repeat("1", 64)); err == nil || !strings.Contains(err.Error(), "but the backup's manifest") {
		t.Errorf("verify against another manifest checksum: %v", err)
	}
	if ver, err := dump.Verify(ctx, st, st.bucket, prefix, "sha256:"+res.SHA256); err != nil || !ver.Passed {
		t.Errorf("verify against the manifest's checksum: %+v, %v", ver, err)
	}
}
