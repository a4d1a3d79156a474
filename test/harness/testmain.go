package harness

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// RunWithPostgres is a TestMain body: it starts a throwaway PostgreSQL (or uses
// TEST_DATABASE_URL), stores it in *pg, runs the tests and stops the server.
func RunWithPostgres(m *testing.M, pg **Postgres) int {
	p, err := StartPostgres(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "start postgres:", err)
		return 1
	}
	*pg = p
	defer p.Stop()
	return m.Run()
}
