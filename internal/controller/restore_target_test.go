package controller

import (
	"strings"
	"testing"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
)

// TestRestoreIntoAnotherBackupIsRefusedBeforeAnyWrite: a restore whose target lies
// inside a backup other than its source (one with a BackupRequest, or a retained one
// known only by its claim) fails validation naming spec.documentLibrary.targetPrefix,
// with the backup bucket unchanged byte for byte.
func TestRestoreIntoAnotherBackupIsRefusedBeforeAnyWrite(t *testing.T) {
	for _, tc := range []struct{ name, target, names string }{
		{"inside another BackupRequest's backup", "retail/stg/other/restored/", "proj-retail-prd/other"},
		{"the parent of another backup", "retail/stg/", "proj-retail-prd/other"},
		{"inside a retained backup known by its claim", "retail/prd/gone/restored/", "retail/prd/gone/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newRestoreMachine(t)
			m.backup()
			other := backups.New(restoreNS, "other", "retail", backups.Full("retail-prd-db", "liferay-retail-prd-dl", "liferay-backups", "retail/stg/other/"))
			other.UID = "uid-other"
			if err := m.client.Create(m.ctx, other); err != nil {
				t.Fatal(err)
			}
			if got := m.drive("other"); got.Status.Phase != backupv1alpha1.PhaseSucceeded {
				t.Fatalf("backup other: %s %s", got.Status.Phase, got.Status.Message)
			}
			m.cloud.PutObject("liferay-backups", "retail/prd/gone/claim.json", []byte(`{"backupId":"gone"}`))
			before := m.bucketContents("liferay-backups")
			rr := newRestore("into", backupv1alpha1.RestoreRequestSpec{
				Source: backupv1alpha1.RestoreSource{BackupRequestName: "full"},
				DocumentLibrary: &backupv1alpha1.DocumentLibraryRestoreSpec{TargetBucket: "liferay-backups",
					TargetPrefix: backupv1alpha1.ObjectPrefix(tc.target), ExistingObjects: backupv1alpha1.ExistingObjectsSkip},
			})
			m.create(rr)
			got := m.driveRR("into")
			errs := strings.Join(got.Status.ValidationErrors, "\n")
			if got.Status.Phase != backupv1alpha1.RestorePhaseFailed || !strings.Contains(errs, "spec.documentLibrary.targetPrefix") || !strings.Contains(errs, tc.names) {
				t.Fatalf("want Failed naming spec.documentLibrary.targetPrefix and %s: %s %q", tc.names, got.Status.Phase, got.Status.ValidationErrors)
			}
			if !sameContents(m.bucketContents("liferay-backups"), before) {
				t.Fatal("the backup bucket changed")
			}
		})
	}
}

// TestDeletionWaitsForARestoreFromTheManifestURLNotYetResolved: a restore naming the
// backup by its manifest URL protects it before its first step resolved the source;
// once the restore is gone the deletion goes on.
func TestDeletionWaitsForARestoreFromTheManifestURLNotYetResolved(t *testing.T) {
	m := newRestoreMachine(t)
	br := m.backup()
	snap := br.Status.Database.SnapshotID
	objects := m.bucketContents("liferay-backups")
	m.create(newRestore("by-url", backupv1alpha1.RestoreRequestSpec{
		Source:          backupv1alpha1.RestoreSource{Manifest: br.Status.Manifest.Location},
		DocumentLibrary: &backupv1alpha1.DocumentLibraryRestoreSpec{TargetBucket: "retail-restored", TargetPrefix: "document_library/"},
	}))
	if err := m.client.Delete(m.ctx, br); err != nil {
		t.Fatal(err)
	}
	m.step("full")
	assertKept(t, m.machine, "full", snap, objects)
	if c := condition(m.get("full"), backupv1alpha1.ConditionArtifactsRemoved); c == nil || c.Reason != string(backupv1alpha1.ReasonInUseByRestore) ||
		!strings.Contains(c.Message, "proj-retail-prd/by-url") {
		t.Fatalf("want InUseByRestore naming the restore, got %+v", c)
	}
	if err := m.client.Delete(m.ctx, m.getRR("by-url")); err != nil {
		t.Fatal(err)
	}
	m.step("full")
	if contains(m.cloud.Snapshots(), snap) || m.objectsUnder("retail/prd/full/") != 0 {
		t.Fatal("the deletion did not go on once the restore was gone")
	}
}
