package controller

import (
	"encoding/json"
	"slices"
	"testing"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/api/schemas"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
)

// checkUploads validates every object the controller uploaded (everything but the
// copies) against its schema in api/schemas, and returns the manifests it wrote,
// decoded generically, by key.
func checkUploads(t *testing.T, cloud *fake.Provider) map[string]map[string]any {
	t.Helper()
	manifests := map[string]map[string]any{}
	for _, up := range cloud.Uploads() {
		if err := schemas.ValidateObject(up.Key, up.Data); err != nil {
			t.Errorf("s3://%s/%v\n%s", up.Bucket, err, up.Data)
		}
		if n, _ := schemas.ForKey(up.Key); n == schemas.Manifest {
			var m map[string]any
			if err := json.Unmarshal(up.Data, &m); err != nil {
				t.Fatal(err)
			}
			manifests[up.Key] = m
		}
	}
	return manifests
}

// members returns the member names of the object at path in doc.
func members(doc map[string]any, path ...string) []string {
	for _, p := range path {
		doc, _ = doc[p].(map[string]any)
	}
	var out []string
	for k := range doc {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestEveryRecordABackupWritesMatchesItsSchema drives each kind of backup the
// controller takes, and a restore, and checks every record it wrote against the
// published schemas: manifests (Full live, point in time, Incremental with what it
// copied and referenced, database only, with the source instance), claims, inventory
// parts, the repository's reference records and listing hints, the restore's record.
func TestEveryRecordABackupWritesMatchesItsSchema(t *testing.T) {
	wantMembers := func(t *testing.T, m map[string]any, path []string, want ...string) {
		t.Helper()
		got := members(m, path...)
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("manifest %v has %v, no %q: the variant is not covered", path, got, w)
			}
		}
	}
	drive := func(t *testing.T, m *machine, name string) {
		t.Helper()
		if br := m.drive(name); br.Status.Phase != backupv1alpha1.PhaseSucceeded {
			t.Fatalf("%s: %s %s", name, br.Status.Phase, br.Status.Message)
		}
	}
	t.Run("full, live, with the source instance", func(t *testing.T) {
		m := newMachine(t, request("full"))
		m.cloud.PutInstance("retail-prd-db", provider.DatabaseInstanceSettings{InstanceClass: "db.m6g.large", StorageType: "gp3",
			AllocatedStorageGiB: 100, SecurityGroupIDs: []string{"sg-1"}, Port: 5432, MultiAZ: true,
			Tags: map[string]string{backupv1alpha1.OwnershipTagKey: "retail"}})
		drive(t, m, "full")
		man := checkUploads(t, m.cloud)["retail/prd/full/manifest.json"]
		wantMembers(t, man, []string{"database", "sourceInstance"}, "instanceClass", "multiAZ", "tags")
		wantMembers(t, man, []string{"documentLibrary"}, "consistency", "inventory", "files")
	})
	t.Run("full, point in time", func(t *testing.T) {
		m := newMachine(t, request("pit"))
		m.cloud.EnableVersioning("liferay-retail-prd-dl")
		drive(t, m, "pit")
		man := checkUploads(t, m.cloud)["retail/prd/pit/manifest.json"]
		wantMembers(t, man, []string{"documentLibrary"}, "consistency", "pointInTime")
	})
	t.Run("incremental, copied then referenced", func(t *testing.T) {
		incremental := func(s *backupv1alpha1.BackupRequestSpec) { s.DocumentLibrary.Mode = backupv1alpha1.ModeIncremental }
		m := newMachine(t, request("inc-1", incremental), request("inc-2", incremental))
		m.cloud.SnapshotReadyAfter = 0
		drive(t, m, "inc-1")
		drive(t, m, "inc-2")
		manifests := checkUploads(t, m.cloud)
		wantMembers(t, manifests["retail/prd/inc-1/manifest.json"], []string{"documentLibrary"}, "mode", "repositoryPrefix", "objectsCopied")
		wantMembers(t, manifests["retail/prd/inc-2/manifest.json"], []string{"documentLibrary"}, "mode", "repositoryPrefix", "objectsReferenced")
		kinds := map[schemas.Name]bool{}
		for _, up := range m.cloud.Uploads() {
			n, _ := schemas.ForKey(up.Key)
			kinds[n] = true
		}
		if !kinds[schemas.RepositoryRef] || !kinds[schemas.ListingHints] {
			t.Errorf("the repository's records were not written: %v", kinds)
		}
	})
	t.Run("database only", func(t *testing.T) {
		m := newMachine(t, request("db-only", func(s *backupv1alpha1.BackupRequestSpec) { s.DocumentLibrary = nil }))
		m.r.Options.ManifestBucket = "liferay-backups"
		drive(t, m, "db-only")
		manifests := checkUploads(t, m.cloud)
		if len(manifests) != 1 {
			t.Fatalf("%d manifests", len(manifests))
		}
		for _, man := range manifests {
			if slices.Contains(members(man), "documentLibrary") {
				t.Errorf("a database-only manifest with a document library: %v", man)
			}
		}
	})
	t.Run("restore", func(t *testing.T) {
		m := newRestoreMachine(t)
		m.backup()
		m.create(fullRestore("restore", "retail-restored-db", "document_library/"))
		if rr := m.driveRR("restore"); rr.Status.Phase != backupv1alpha1.RestorePhaseSucceeded {
			t.Fatalf("restore: %s %s", rr.Status.Phase, rr.Status.Message)
		}
		checkUploads(t, m.cloud)
		var record []string
		for _, up := range m.cloud.Uploads() {
			if n, _ := schemas.ForKey(up.Key); n == schemas.Claim || n == schemas.InventoryEntry {
				record = append(record, up.Key)
			}
		}
		if !slices.ContainsFunc(record, func(k string) bool { return k == "retail/.restores/proj-retail-prd/restore-uid-restore/claim.json" }) {
			t.Errorf("no restore record among %v", record)
		}
	})
}
