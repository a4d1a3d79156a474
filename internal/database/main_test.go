package database

import (
	"context"
	"os"
	"testing"

	"github.com/liferay/lc2-backup-controller/test/harness"
)

var testPG *harness.Postgres

func TestMain(m *testing.M) { os.Exit(harness.RunWithPostgres(m, &testPG)) }

// newTestClient returns a client on a fresh, empty database.
func newTestClient(t *testing.T, migrate bool) *Client {
	t.Helper()
	ctx := context.Background()
	u, err := testPG.NewDatabase(ctx, "db")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close database client: %v", err)
		}
	})
	if migrate {
		if err := c.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return c
}
