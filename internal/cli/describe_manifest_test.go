package cli

import (
	"strings"
	"testing"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
)

func TestDescribeRefusesAManifestNamingAnotherBackup(t *testing.T) {
	br := backups.New("proj-bravo-prd", "b1", "bravo", backups.Full("bravo-db", "bravo-dl", "w2-backups", "bravo/prd/b1/"))
	br.Status.Database = &backupv1alpha1.DatabaseBackupStatus{SnapshotID: "bravo-snap"}
	own := func() *manifest.Manifest {
		return &manifest.Manifest{ProjectID: "bravo", Environment: "prd",
			Database:        &manifest.DatabaseInfo{SnapshotID: "bravo-snap"},
			DocumentLibrary: &manifest.DocumentLibraryInfo{DestinationBucket: "w2-backups", DestinationPrefix: "bravo/prd/b1/"}}
	}
	location := "s3://w2-backups/bravo/prd/b1/manifest.json"
	if wrong := notThisBackups(br, location, own()); len(wrong) != 0 {
		t.Fatalf("the backup's own manifest: %q", wrong)
	}
	for name, c := range map[string]struct {
		forge    func(*manifest.Manifest)
		location string
		want     string
	}{
		"another project":          {func(m *manifest.Manifest) { m.ProjectID = "alpha" }, location, "names project alpha/prd, not bravo/prd"},
		"another backup's files":   {func(m *manifest.Manifest) { m.DocumentLibrary.DestinationPrefix = "alpha/prd/a1/" }, location, "s3://w2-backups/alpha/prd/a1/, not the backup's"},
		"another snapshot":         {func(m *manifest.Manifest) { m.Database.SnapshotID = "alpha-snap" }, location, "database.snapshotId is alpha-snap"},
		"another project's prefix": {func(*manifest.Manifest) {}, "s3://w2-backups/alpha/prd/a1/manifest.json", "outside project bravo's prefix"},
		"another repository": {func(m *manifest.Manifest) {
			m.DocumentLibrary.Mode, m.DocumentLibrary.RepositoryPrefix = manifest.ModeIncremental, "alpha/.repository/prd/"
		}, location, "repositoryPrefix alpha/.repository/prd/ is not project bravo's"},
	} {
		m := own()
		c.forge(m)
		if wrong := strings.Join(notThisBackups(br, c.location, m), "; "); !strings.Contains(wrong, c.want) {
			t.Errorf("%s: %q, want %q", name, wrong, c.want)
		}
	}
}
