package archiver

import (
	"os"
	"testing"

	"github.com/liferay/lc2-backup-controller/test/harness"
)

var testPG *harness.Postgres

func TestMain(m *testing.M) { os.Exit(harness.RunWithPostgres(m, &testPG)) }
