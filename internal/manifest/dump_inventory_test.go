package manifest

import (
	"os"
	"strings"
	"testing"
)

// dumpSample is sample as a dump backup: no snapshot, a dump, and the database
// inventory part that lists the dump and its record beside the document library's.
func dumpSample(t testing.TB) *Manifest {
	t.Helper()
	m := sample(t)
	m.Database = &DatabaseInfo{
		Engine: "postgres", EngineVersion: "15.8",
		Dump: &DumpInfo{
			Key: "database/dump.pgdump", SizeBytes: 734003, SHA256: "sha256:" + strings.Repeat("ab", 32),
			ResultKey: "database/dump.json", Engine: "postgres", ServerVersion: "15.8", Tool: "pg_dump 15.18",
			Format: "custom", Compression: "pg-internal",
		},
		Inventory: &InventoryInfo{
			Format: InventoryFormat, ObjectCount: 2, TotalSizeBytes: 734003 + 2381,
			Parts: []InventoryPart{{Key: "inventory/database.jsonl.gz", SHA256: "sha256:" + strings.Repeat("ef", 32), ObjectCount: 2, SizeBytes: 734003 + 2381}},
		},
	}
	return m
}

func TestDatabaseInventoryRoundTripsBesideTheLibrarys(t *testing.T) {
	for name, change := range map[string]func(*Manifest){
		"with a document library": func(*Manifest) {},
		"database only":           func(m *Manifest) { m.DocumentLibrary = nil },
	} {
		t.Run(name, func(t *testing.T) {
			m := dumpSample(t)
			change(m)
			if err := m.Seal(); err != nil {
				t.Fatal(err)
			}
			b, err := m.Marshal(Pretty)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `"inventory": {`) {
				t.Fatalf("no database inventory written:\n%s", b)
			}
			got, err := Verify(b)
			if err != nil {
				t.Fatal(err)
			}
			inv := got.Database.Inventory
			if inv == nil || inv.ObjectCount != 2 || inv.TotalSizeBytes != 734003+2381 || len(inv.Parts) != 1 || inv.Parts[0].Key != "inventory/database.jsonl.gz" {
				t.Fatalf("database inventory read back as %+v", inv)
			}
			if dl := got.DocumentLibrary; dl != nil && (dl.ObjectCount != 2 || dl.Inventory.ObjectCount != 2) {
				t.Fatalf("the dump files were counted in the document library: %+v", dl)
			}
		})
	}
}

func TestSealRejectsAnInconsistentDatabaseInventory(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*Manifest)
		want   string
	}{
		{"no dump", func(m *Manifest) { m.Database.Dump, m.Database.SnapshotID = nil, "s" }, "there is no database.dump"},
		{"format", func(m *Manifest) { m.Database.Inventory.Format = "jsonl" }, `database.inventory.format is "jsonl"`},
		{"totals vs parts", func(m *Manifest) { m.Database.Inventory.TotalSizeBytes++ }, "database.inventory totals are 2 objects, 736385 bytes but its parts sum to 2 objects, 736384 bytes"},
		{"smaller than the dump", func(m *Manifest) {
			inv := m.Database.Inventory
			inv.TotalSizeBytes, inv.Parts[0].SizeBytes = 10, 10
		}, "fewer than the dump (734003 bytes) and its record"},
		{"the dump without its record", func(m *Manifest) {
			inv := m.Database.Inventory
			inv.ObjectCount, inv.Parts[0].ObjectCount = 1, 1
		}, "fewer than the dump"},
		{"part sha256", func(m *Manifest) { m.Database.Inventory.Parts[0].SHA256 = "sha256:x" }, "database.inventory.parts[0].sha256"},
		{"part key empty", func(m *Manifest) { m.Database.Inventory.Parts[0].Key = "" }, "database.inventory.parts[0].key is empty"},
		{"a part of the library's too", func(m *Manifest) {
			m.Database.Inventory.Parts[0].Key = m.DocumentLibrary.Inventory.Parts[1].Key
		}, `database.inventory.parts[0].key "inventory/20251109T143000.000000000Z-00001.jsonl.gz" is also documentLibrary.inventory.parts[1]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := dumpSample(t)
			tt.change(m)
			if err := m.Seal(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Seal() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// testdata/v1.1-dump-no-inventory.json is a dump backup's manifest as written before
// the dump files were listed in an inventory: database.dump, no database.inventory.
// It must keep verifying, and reads with no database inventory.
func TestDumpManifestWithoutDatabaseInventoryStillVerifies(t *testing.T) {
	data, err := os.ReadFile("testdata/v1.1-dump-no-inventory.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Verify(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Checksum != "sha256:"+dumpNoInventoryChecksum || m.Database.Dump == nil || m.Database.Inventory != nil {
		t.Fatalf("read as checksum %s, dump %+v, inventory %+v", m.Checksum, m.Database.Dump, m.Database.Inventory)
	}
}

const dumpNoInventoryChecksum = "b2e8ff045d678adf195cbf62243ab8aa2da29500378aca1306464cdc0facdafb"

func TestVersion10RefusesADatabaseInventory(t *testing.T) {
	m := dumpSample(t)
	m.Database.Dump, m.DocumentLibrary.Inventory = nil, nil
	m.Version = Version10
	b, err := m.Marshal(Compact)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(b); err == nil || !strings.Contains(err.Error(), `database.inventory needs version "1.1"`) {
		t.Fatalf("Parse of a 1.0 manifest with a database inventory = %v", err)
	}
}
