//go:build e2e

package e2e

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"

	_ "github.com/lib/pq"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func projectNamespace(name, project string) {
	GinkgoHelper()
	out, err := kubectlApply(fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
  labels:
    backup.liferay.cloud/project-id: %s
`, name, project))
	Expect(err).NotTo(HaveOccurred(), out)
}

// backupYAML is the shared test BackupRequest (test/fixtures/backups) as a manifest:
// a snapshot of instance when set, a copy of document_library/ of source into
// dest/prefix when source is set.
func backupYAML(namespace, name, project, instance, source, dest, prefix string) string {
	var opts []backups.Option
	if instance != "" {
		opts = append(opts, backups.Database(instance))
	}
	if source != "" {
		opts = append(opts, backups.DocumentLibrary(source, dest, prefix))
	}
	return backups.YAML(backups.New(namespace, name, project, opts...))
}

// historyRow reads a BackupRequest's row from the history database.
func historyRow(namespace, name string) (phase, snapshot, checksum string, objects int64, err error) {
	db, err := sql.Open("postgres", pg.URL)
	if err != nil {
		return
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	var snap, sum sql.NullString
	var count sql.NullInt64
	err = db.QueryRowContext(ctx, `SELECT phase, db_snapshot_id, manifest_checksum, dl_object_count FROM backup_requests WHERE namespace = $1 AND name = $2`,
		namespace, name).Scan(&phase, &snap, &sum, &count)
	return phase, snap.String, sum.String, count.Int64, err
}

func jsonpath(namespace, name, path string) string {
	out, _ := kubectl("get", "br", "-n", namespace, name, "-o", "jsonpath={"+path+"}")
	return strings.TrimSpace(out)
}
