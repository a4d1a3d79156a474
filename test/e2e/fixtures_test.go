//go:build e2e

package e2e

import (
	"database/sql"
	"fmt"
	"strings"

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

// backupYAML is a BackupRequest like the design note's example. The document library
// is read from document_library/ of source; prefix (the destinationPrefix) must begin
// with "<project>/" and end with '/', as the API requires.
func backupYAML(namespace, name, project, instance, source, dest, prefix string) string {
	y := fmt.Sprintf(`apiVersion: backup.liferay.cloud/v1alpha1
kind: BackupRequest
metadata:
  name: %s
  namespace: %s
spec:
  projectId: %s
  environment: prd
  provider: aws
`, name, namespace, project)
	if instance != "" {
		y += fmt.Sprintf("  database:\n    type: snapshot\n    instanceId: %s\n", instance)
	}
	if source != "" {
		y += fmt.Sprintf("  documentLibrary:\n    sourceBucket: %s\n    sourcePrefix: document_library/\n"+
			"    destinationBucket: %s\n    destinationPrefix: %s\n    excludeGeneratedFiles: true\n", source, dest, prefix)
	}
	return y + "  retentionDays: 30\n"
}

// historyRow reads a BackupRequest's row from the history database.
func historyRow(namespace, name string) (phase, snapshot, checksum string, objects int64, err error) {
	db, err := sql.Open("postgres", pg.URL)
	if err != nil {
		return
	}
	defer db.Close()
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
