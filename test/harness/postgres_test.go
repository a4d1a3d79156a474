package harness

import (
	"context"
	"database/sql"
	"os"
	"testing"
)

func TestStartPostgresStopStartKeepsData(t *testing.T) {
	ctx := context.Background()
	pg, err := StartPostgres(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	dbURL, err := pg.NewDatabase(ctx, "harness")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close database: %v", err)
		}
	})
	if _, err := db.ExecContext(ctx, `CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)`); err != nil {
		t.Fatal(err)
	}
	if pg.external {
		t.Skip("TEST_DATABASE_URL set: cannot stop an external server")
	}
	if err := pg.StopServer(); err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("ping succeeded while the server is stopped")
	}
	if err := pg.StartServer(ctx); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.QueryRowContext(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != 42 {
		t.Fatalf("after restart: v=%d err=%v", v, err)
	}
	proc := pg.proc
	dir := pg.dir
	pg.Stop()
	if !proc.Exited() {
		t.Fatal("postgres still running after Stop")
	}
	if _, err := sql.Open("postgres", dbURL); err != nil {
		t.Fatal(err)
	}
	if fileExists(dir) {
		t.Fatalf("temp dir %s left behind", dir)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
