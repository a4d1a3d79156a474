package archiver

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/liferay/lc2-backup-controller/test/harness"
)

var testPG *harness.Postgres

func TestMain(m *testing.M) {
	pg, err := harness.StartPostgres(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "start postgres:", err)
		os.Exit(1)
	}
	testPG = pg
	code := m.Run()
	pg.Stop()
	os.Exit(code)
}
