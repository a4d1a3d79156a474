package controller

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// listDumpFilesOf stores a dump's files under prefix as the dumper would and lists
// them in the database part, as the dump step does once it accepts the dump.
func (m *machine) listDumpFilesOf(prefix string) {
	m.t.Helper()
	m.cloud.PutObject("liferay-backups", prefix+"database/dump.pgdump", []byte("PGDMP archive"))
	record := []byte(`{"version":1,"state":"Succeeded"}`)
	m.cloud.PutObject("liferay-backups", prefix+"database/dump.json", record)
	r := &BackupRequestReconciler{}
	if _, err := r.listDumpFiles(m.ctx, m.cloud, "liferay-backups", prefix, prefix+"database/dump.pgdump", strings.Repeat("ab", 32), 13, record); err != nil {
		m.t.Fatal(err)
	}
}

func (m *machine) keysUnder(prefix string) []string {
	m.t.Helper()
	objs, err := m.cloud.ListObjects(m.ctx, "liferay-backups", prefix)
	if err != nil {
		m.t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, strings.TrimPrefix(o.Key, prefix))
	}
	slices.Sort(keys)
	return keys
}

func TestExpiryDeletesTheDumpFilesItsDatabasePartListsAndNothingElse(t *testing.T) {
	m := newMachine(t, request("old"), request("new"))
	m.succeed("old")
	m.clock.Step(time.Hour)
	m.succeed("new")
	const prefix = "retail/prd/old/"
	m.listDumpFilesOf(prefix)
	// Named like a dump, but the inventory does not list it: someone else's.
	m.cloud.PutObject("liferay-backups", prefix+"database/dump.sql.gz", []byte("not ours"))

	m.expireAfterRetention("old")
	if left := m.keysUnder(prefix); !slices.Equal(left, []string{"database/dump.sql.gz"}) {
		t.Fatalf("expiry left %q, want only the unlisted database/dump.sql.gz", left)
	}
	if m.objectsUnder("retail/prd/new/") == 0 {
		t.Fatal("the newer backup must be untouched")
	}
}

func TestCleanupRefusesADatabasePartLineOutsideDatabaseAndKeepsTheFiles(t *testing.T) {
	m := newMachine(t, request("old"), request("new"))
	m.succeed("old")
	m.clock.Step(time.Hour)
	m.succeed("new")
	const prefix = "retail/prd/old/"
	m.cloud.PutObject("liferay-backups", prefix+"database/dump.pgdump", []byte("PGDMP"))
	if _, err := inventory.WritePart(m.ctx, m.cloud, "liferay-backups", prefix, layout.DatabasePartKey(""), []inventory.Entry{
		{StoredKey: "database/dump.pgdump", Size: 5}, {StoredKey: "database/../claim.json", Size: 1},
	}); err != nil {
		t.Fatal(err)
	}
	m.clock.Step(31 * 24 * time.Hour)
	if _, err := m.reconcile("old"); err == nil || !strings.Contains(err.Error(), `"database/../claim.json", which is not a file of database/`) {
		t.Fatalf("want an error naming the line, got %v", err)
	}
	br := m.get("old")
	if c := condition(br, backupv1alpha1.ConditionArtifactsRemoved); c == nil || c.Reason != string(backupv1alpha1.ReasonCleanupFailed) {
		t.Fatalf("want CleanupFailed, got %+v", c)
	}
	// The copy's own part, read before, went with its objects; what the database
	// part lists stays, the part too, and so do the manifest and the claim.
	if after := m.keysUnder(prefix); !slices.Equal(after, []string{"claim.json", "database/dump.pgdump", "inventory/database.jsonl.gz", "manifest.json"}) {
		t.Fatalf("%q under %s after the refusal", after, prefix)
	}
}

func TestCheckListedDumpWantsExactlyTheDumpAndItsRecord(t *testing.T) {
	dump := &manifest.DumpInfo{Key: "database/dump.pgdump", SizeBytes: 10, SHA256: "sha256:" + strings.Repeat("ab", 32), ResultKey: "database/dump.json"}
	good := func() map[string]inventory.Entry {
		return map[string]inventory.Entry{
			"database/dump.pgdump": {StoredKey: "database/dump.pgdump", Size: 10, Checksum: dump.SHA256},
			"database/dump.json":   {StoredKey: "database/dump.json", Size: 3},
		}
	}
	if err := checkListedDump(good(), dump, 2); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		change func(map[string]inventory.Entry) int64
		want   string
	}{
		"no dump": {func(f map[string]inventory.Entry) int64 { delete(f, "database/dump.pgdump"); return 1 }, "does not list the dump database/dump.pgdump"},
		"other size": {func(f map[string]inventory.Entry) int64 {
			e := f["database/dump.pgdump"]
			e.Size = 9
			f[e.StoredKey] = e
			return 2
		}, "at 9 bytes"},
		"other sha256": {func(f map[string]inventory.Entry) int64 {
			e := f["database/dump.pgdump"]
			e.Checksum = ""
			f[e.StoredKey] = e
			return 2
		}, `checksum ""`},
		"no record":    {func(f map[string]inventory.Entry) int64 { delete(f, "database/dump.json"); return 1 }, "does not list the dump's record"},
		"a third file": {func(f map[string]inventory.Entry) int64 { f["database/x"] = inventory.Entry{}; return 3 }, "lists 3 lines"},
		"a line twice": {func(map[string]inventory.Entry) int64 { return 3 }, "lists 3 lines"},
		"wrong ETag ok": {func(f map[string]inventory.Entry) int64 {
			e := f["database/dump.json"]
			e.ETag = "x"
			f[e.StoredKey] = e
			return 2
		}, ""},
	} {
		found := good()
		lines := c.change(found)
		err := checkListedDump(found, dump, lines)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

func TestListDumpFilesRefusesADumpNotStoredAtItsRecordedSize(t *testing.T) {
	m := newMachine(t)
	const prefix = "retail/prd/x/"
	m.cloud.PutObject("liferay-backups", prefix+"database/dump.pgdump", []byte("short"))
	record := []byte(`{}`)
	m.cloud.PutObject("liferay-backups", prefix+"database/dump.json", record)
	r := &BackupRequestReconciler{}
	_, err := r.listDumpFiles(m.ctx, m.cloud, "liferay-backups", prefix, prefix+"database/dump.pgdump", strings.Repeat("ab", 32), 13, record)
	if err == nil || !strings.Contains(err.Error(), "at 5 bytes, not the 13 bytes") {
		t.Fatalf("want a refusal naming both sizes, got %v", err)
	}
	if _, err := m.cloud.DownloadObject(m.ctx, "liferay-backups", layout.DatabasePartKey(prefix)); !provider.IsNotFound(err) {
		t.Fatalf("a part was written for a dump the store does not hold as recorded: %v", err)
	}
}

// A dump accepted before the dump files were listed (a backup running across the
// upgrade) has no database part when its manifest is written: the manifest step writes
// it from status and the stored record, and it lists the files as stored.
func TestManifestListsTheDumpFilesOfADumpAcceptedBeforeTheyWereListed(t *testing.T) {
	m := newMachine(t)
	const prefix = "retail/prd/up/"
	dumpData, record := []byte("PGDMP archive"), []byte(`{"version":1,"state":"Succeeded"}`)
	m.cloud.PutObject("liferay-backups", prefix+"database/dump.pgdump", dumpData)
	m.cloud.PutObject("liferay-backups", prefix+"database/dump.json", record)
	br := request("up", func(s *backupv1alpha1.BackupRequestSpec) {
		s.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump}
	})
	done := metav1.NewTime(start)
	br.Status.Database = &backupv1alpha1.DatabaseBackupStatus{Dump: &backupv1alpha1.DatabaseDumpStatus{
		Location: "s3://liferay-backups/" + prefix + "database/dump.pgdump", SizeBytes: int64(len(dumpData)),
		SHA256: inventory.Checksum(dumpData)[len("sha256:"):], Engine: "postgres", CompletionTime: &done,
	}}
	r := &BackupRequestReconciler{}
	inv, err := r.databaseInventory(m.ctx, br, m.cloud, r.manifestDump(br))
	if err != nil {
		t.Fatal(err)
	}
	if inv.ObjectCount != 2 || inv.TotalSizeBytes != int64(len(dumpData)+len(record)) || len(inv.Parts) != 1 || inv.Parts[0].Key != "inventory/database.jsonl.gz" {
		t.Fatalf("database inventory %+v", inv)
	}
	stored, err := provider.ReadSmallObject(m.ctx, m.cloud, "liferay-backups", layout.DatabasePartKey(prefix))
	if err != nil {
		t.Fatal(err)
	}
	if inventory.Checksum(stored) != inv.Parts[0].SHA256 {
		t.Fatal("the manifest's part checksum is not the stored part's")
	}

	// Status and the part disagree (a dump rewritten behind the controller's back):
	// the manifest is refused, not written with either.
	br.Status.Database.Dump.SizeBytes++
	if _, err := r.databaseInventory(m.ctx, br, m.cloud, r.manifestDump(br)); err == nil || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("want the manifest refused, got %v", err)
	}

	// Neither part nor record: the backup fails, saying so, instead of retrying forever.
	m.cloud.DeleteObject("liferay-backups", layout.DatabasePartKey(prefix))
	m.cloud.DeleteObject("liferay-backups", prefix+"database/dump.json")
	var f *failure
	if _, err := r.databaseInventory(m.ctx, br, m.cloud, r.manifestDump(br)); !errors.As(err, &f) || !strings.Contains(f.message, "database/dump.json is gone") {
		t.Fatalf("want a failure naming the record, got %v", err)
	}
}

func TestRestoreRefusesADatabaseInventoryNamingAnotherPart(t *testing.T) {
	m := &manifest.Manifest{Database: &manifest.DatabaseInfo{Inventory: &manifest.InventoryInfo{Parts: []manifest.InventoryPart{{Key: "inventory/database.jsonl.gz"}}}}}
	if err := checkDatabasePartKeys(m, "s3://b/retail/prd/1/"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"inventory/20261109T143000.000000000Z-00000.jsonl.gz", "../other/inventory/database.jsonl.gz", "claim.json"} {
		m.Database.Inventory.Parts[0].Key = key
		if err := checkDatabasePartKeys(m, "s3://b/retail/prd/1/"); err == nil || !strings.Contains(err.Error(), "is not the dump files' inventory part") {
			t.Errorf("%q: %v", key, err)
		}
	}
}
