package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

const pgPassword = "pg-Secret#2"

var (
	pg   *harness.Postgres
	moto *harness.Moto
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	ctx := context.Background()
	var err error
	if pg, err = harness.StartPostgresWith(ctx, harness.PostgresOptions{Password: pgPassword}); err != nil {
		fmt.Fprintln(os.Stderr, "start postgres:", err)
		return 1
	}
	defer pg.Stop()
	if moto, err = harness.StartMoto(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "start moto:", err)
		return 1
	}
	defer moto.Stop()
	moto.SetAWSEnv()
	return m.Run()
}

var bucketSeq atomic.Int64

// newEnv is the dumper's environment for a new database on the test server and a
// new bucket on moto; the AWS settings come from the process (moto.SetAWSEnv).
func newEnv(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	dsn, err := pg.NewDatabase(ctx, "cmd")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bucket := fmt.Sprintf("cmd-%d-%d", os.Getpid(), bucketSeq.Add(1))
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).
		CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		dump.EnvHost: "127.0.0.1", dump.EnvPort: strconv.Itoa(pg.Port), dump.EnvDatabase: strings.TrimPrefix(u.Path, "/"),
		dump.EnvUser: "postgres", dump.EnvPassword: pgPassword, dump.EnvSSLMode: "disable",
		dump.EnvSecretRef: "retail-prd/lportal-db", dump.EnvProvider: "aws",
		dump.EnvBucket: bucket, dump.EnvPrefix: "retail-prd/2026-12-07/", dump.EnvRun: "2026-12-07T13:30:00Z",
	}
}

// lc2Dump runs the command with env (over the process's environment) and returns
// its exit code and output.
func lc2Dump(t *testing.T, env map[string]string, command string) (code int, stdout, stderr string) {
	t.Helper()
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	var out, errOut bytes.Buffer
	code = run(context.Background(), []string{command}, getenv, openStore, &out, &errOut)
	if strings.Contains(out.String()+errOut.String(), pgPassword) {
		t.Errorf("lc2-dump %s printed the password", command)
	}
	return code, out.String(), errOut.String()
}

// readResult reads the dump.json the command wrote.
func readResult(t *testing.T, env map[string]string) *dump.Result {
	t.Helper()
	store, err := openStore(context.Background(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	res, err := dump.ReadResult(context.Background(), store, env[dump.EnvBucket], env[dump.EnvPrefix])
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestBackupVerifyRestore(t *testing.T) {
	env := newEnv(t)
	db := openDB(t, pg.URL, env[dump.EnvDatabase])
	if _, err := db.Exec(`CREATE TABLE Company (companyId bigint PRIMARY KEY, webId varchar(75));
		INSERT INTO Company SELECT g, 'liferay-' || g FROM generate_series(1, 500) g`); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := lc2Dump(t, env, "backup")
	if code != 0 {
		t.Fatalf("backup exited %d: %s", code, stderr)
	}
	res := readResult(t, env)
	if res.Run != env[dump.EnvRun] {
		t.Errorf("dump.json's run is %q, want the run token %q written back", res.Run, env[dump.EnvRun])
	}
	if res.State != dump.StateSucceeded || res.SizeBytes == 0 || len(res.LargestTables) != 1 || res.LargestTables[0].Rows != 500 {
		t.Errorf("dump.json = %+v", res)
	}
	var printed dump.Result
	if err := json.Unmarshal([]byte(stdout), &printed); err != nil || printed.SHA256 != res.SHA256 {
		t.Errorf("backup printed %q (%v), want dump.json", stdout, err)
	}

	code, stdout, stderr = lc2Dump(t, env, "verify")
	var ver dump.Verification
	if err := json.Unmarshal([]byte(stdout), &ver); code != 0 || err != nil || !ver.Passed || ver.StoredSHA256 != res.SHA256 {
		t.Errorf("verify exited %d printing %q (%v): %s", code, stdout, err, stderr)
	}

	target := newEnv(t)
	target[dump.EnvBucket], target[dump.EnvPrefix] = env[dump.EnvBucket], env[dump.EnvPrefix]
	if code, _, stderr := lc2Dump(t, target, "restore"); code != 0 {
		t.Fatalf("restore exited %d: %s", code, stderr)
	}
	var rows int
	if err := openDB(t, pg.URL, target[dump.EnvDatabase]).QueryRow("SELECT count(*) FROM Company").Scan(&rows); err != nil || rows != 500 {
		t.Errorf("the restored Company has %d rows (%v), want 500", rows, err)
	}
	code, _, stderr = lc2Dump(t, target, "restore")
	if code != 1 || !strings.Contains(stderr, string(dump.ReasonTargetNotEmpty)) {
		t.Errorf("a second restore exited %d: %s, want 1 and TargetNotEmpty", code, stderr)
	}
}

// A backup that cannot run still writes dump.json, Failed with the reason, and
// exits 1.
func TestFailedBackupWritesItsResult(t *testing.T) {
	for _, c := range []struct {
		name   string
		set    map[string]string
		reason dump.Reason
		says   string
	}{
		{"no password", map[string]string{dump.EnvPassword: ""}, dump.ReasonMissingSetting, `key "password" of Secret retail-prd/lportal-db`},
		{"wrong password", map[string]string{dump.EnvPassword: "wrong-Password-7"}, dump.ReasonAuthenticationFailed, `key "password" of Secret retail-prd/lportal-db`},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := newEnv(t)
			for k, v := range c.set {
				env[k] = v
			}
			code, stdout, stderr := lc2Dump(t, env, "backup")
			if code != 1 || !strings.Contains(stderr, c.says) {
				t.Errorf("backup exited %d: %s, want 1 saying %q", code, stderr, c.says)
			}
			if strings.Contains(stdout+stderr, "wrong-Password-7") {
				t.Error("the output holds the password")
			}
			res := readResult(t, env)
			if res.Run != env[dump.EnvRun] {
				t.Errorf("dump.json's run is %q, want the run token %q", res.Run, env[dump.EnvRun])
			}
			if res.State != dump.StateFailed || res.Reason != c.reason || !strings.Contains(res.Message, c.says) {
				t.Errorf("dump.json = %s (%s) %q, want Failed (%s) saying %q", res.State, res.Reason, res.Message, c.reason, c.says)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"dump"}, os.Getenv, openStore, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage") {
		t.Errorf("an unknown command exited %d: %s", code, errOut.String())
	}
}

func openDB(t *testing.T, serverURL, database string) *sql.DB {
	t.Helper()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + database
	db, err := sql.Open("postgres", u.String())
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
