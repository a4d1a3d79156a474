package harness

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestStartMariaDBUserLogsInAndStopStartKeepsData(t *testing.T) {
	ctx := context.Background()
	m, err := StartMariaDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	if m.Host() != "127.0.0.1" || m.Port() == 0 || m.User() == "" || m.Password() == "" || m.Database() == "" {
		t.Fatalf("accessors: host=%q port=%d user=%q password set=%v database=%q",
			m.Host(), m.Port(), m.User(), m.Password() != "", m.Database())
	}

	db, err := sql.Open("mysql", m.DSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close database: %v", err)
		}
	})
	var version, current string
	if err := db.QueryRowContext(ctx, `SELECT VERSION(), DATABASE()`).Scan(&version, &current); err != nil {
		t.Fatal(err)
	}
	if current != m.Database() {
		t.Fatalf("connected to database %q, want %q", current, m.Database())
	}
	t.Logf("server %s", version)

	// A real user with a real password: the wrong one is refused (error 1045).
	cfg, err := mysql.ParseDSN(m.DSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Passwd = "wrong-" + m.Password()
	bad, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = bad.Close() }()
	var myErr *mysql.MySQLError
	if err := bad.PingContext(ctx); !errors.As(err, &myErr) || myErr.Number != 1045 {
		t.Fatalf("wrong password: got %v, want access denied (1045)", err)
	}

	dsn, err := m.NewDatabase(ctx, "harness")
	if err != nil {
		t.Fatal(err)
	}
	own, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = own.Close() }()
	if _, err := own.ExecContext(ctx, `CREATE TABLE kept (v int)`); err != nil {
		t.Fatal(err)
	}
	if _, err := own.ExecContext(ctx, `INSERT INTO kept VALUES (42)`); err != nil {
		t.Fatal(err)
	}

	m.StopServer()
	if err := own.PingContext(ctx); err == nil {
		t.Fatal("ping succeeded while the server is stopped")
	}
	if err := m.StartServer(ctx); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := own.QueryRowContext(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != 42 {
		t.Fatalf("after restart: v=%d err=%v", v, err)
	}

	proc, dir := m.proc, m.dir
	m.Stop()
	if !proc.Exited() {
		t.Fatal("mariadbd still running after Stop")
	}
	if fileExists(dir) {
		t.Fatalf("temp dir %s left behind", dir)
	}
}
