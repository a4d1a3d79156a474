package manifest

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// sample returns a valid, unsealed manifest with both optional parts, so
// tests can change any field of it.
func sample(t testing.TB) *Manifest {
	t.Helper()
	at := time.Date(2025, 11, 9, 15, 30, 0, 123456789, time.FixedZone("CET", 3600))
	m := New("retail", "prd", "retail-prd-backup-20251109-143000", at)
	m.Database = &DatabaseInfo{
		SnapshotID:    "retail-prd-backup-20251109-143000",
		SnapshotARN:   "arn:aws:rds:us-east-1:123456789012:snapshot:retail-prd-backup-20251109-143000",
		InstanceID:    "retail-prd-db",
		SizeBytes:     48586496000,
		Engine:        "postgres",
		EngineVersion: "15.4",
	}
	m.DocumentLibrary = &DocumentLibraryInfo{
		SourceBucket:      "retail-prd-dl",
		SourcePrefix:      "document_library/",
		DestinationBucket: "liferay-backups",
		DestinationPrefix: "retail/prd/20251109-143000/",
	}
	m.DocumentLibrary.SetFiles([]File{
		{Key: "document_library/1/a.pdf", Size: 1024, ETag: "9b2cf535f27731c974343645a3985328"},
		{Key: "document_library/1/b.png", Size: 2048, ETag: "6f5902ac237024bdd0c176cb93063dc4"},
	})
	m.DocumentLibrary.Inventory = &InventoryInfo{
		Format:         InventoryFormat,
		ObjectCount:    2,
		TotalSizeBytes: 3072,
		Parts: []InventoryPart{
			{Key: "inventory/20251109T143000.000000000Z-00000.jsonl.gz", SHA256: "sha256:" + strings.Repeat("ab", 32), ObjectCount: 1, SizeBytes: 1024},
			{Key: "inventory/20251109T143000.000000000Z-00001.jsonl.gz", SHA256: "sha256:" + strings.Repeat("cd", 32), ObjectCount: 1, SizeBytes: 2048},
		},
	}
	return m
}

func TestNewNormalizesTimestamp(t *testing.T) {
	m := sample(t)
	want := time.Date(2025, 11, 9, 14, 30, 0, 0, time.UTC)
	if !m.Timestamp.Equal(want) || m.Timestamp.Location() != time.UTC {
		t.Fatalf("timestamp = %v, want %v in UTC", m.Timestamp, want)
	}
	if m.Version != Version {
		t.Fatalf("version = %q, want %q", m.Version, Version)
	}
}

func TestJSONShape(t *testing.T) {
	m := sample(t)
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal(Compact)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	// Field names and order follow the design note.
	for _, want := range []string{
		`{"version":"1.1","timestamp":"2025-11-09T14:30:00Z","projectId":"retail","environment":"prd","backupId":"retail-prd-backup-20251109-143000",`,
		`"database":{"snapshotId":"retail-prd-backup-20251109-143000","snapshotArn":"arn:`,
		`"instanceId":"retail-prd-db","sizeBytes":48586496000,"engine":"postgres","engineVersion":"15.4"}`,
		`"documentLibrary":{"sourceBucket":"retail-prd-dl",`,
		`"objectCount":2,"totalSizeBytes":3072,"files":[{"key":"document_library/1/a.pdf","size":1024,"etag":"9b2cf535f27731c974343645a3985328"},`,
		`"inventory":{"format":"jsonl+gzip","objectCount":2,"totalSizeBytes":3072,"parts":[{"key":"inventory/20251109T143000.000000000Z-00000.jsonl.gz","sha256":"sha256:abab`,
		`,"objectCount":1,"sizeBytes":1024},`,
		`}]}},"checksum":"sha256:`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("compact JSON lacks %s\ngot: %s", want, s)
		}
	}
	if strings.Contains(s, "truncated") {
		t.Errorf("untruncated manifest mentions truncated: %s", s)
	}
}

func TestOmitsAbsentParts(t *testing.T) {
	m := New("retail", "prd", "b1", time.Unix(0, 0))
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal(Compact)
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"database", "documentLibrary"} {
		if strings.Contains(string(b), absent) {
			t.Errorf("manifest without %s still mentions it: %s", absent, b)
		}
	}
	if _, err := Verify(b); err != nil {
		t.Errorf("verify database-less manifest: %v", err)
	}
}

func TestTruncation(t *testing.T) {
	tests := []struct {
		n             int
		wantListed    int
		wantTruncated bool
	}{
		{0, 0, false},
		{1, 1, false},
		{MaxFiles, MaxFiles, false},
		{MaxFiles + 1, MaxFiles, true},
		{25000, MaxFiles, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			files := make([]File, tt.n)
			var total int64
			for i := range files {
				files[i] = File{Key: fmt.Sprintf("k/%06d", i), Size: int64(i + 1), ETag: fmt.Sprintf("%032x", i)}
				total += int64(i + 1)
			}
			var dl DocumentLibraryInfo
			dl.SetFiles(files)
			if len(dl.Files) != tt.wantListed || dl.Truncated != tt.wantTruncated {
				t.Fatalf("listed %d truncated %v, want %d %v", len(dl.Files), dl.Truncated, tt.wantListed, tt.wantTruncated)
			}
			if dl.ObjectCount != int64(tt.n) || dl.TotalSizeBytes != total {
				t.Fatalf("totals %d objects %d bytes, want %d %d", dl.ObjectCount, dl.TotalSizeBytes, tt.n, total)
			}
			if tt.n > 0 && dl.Files[0] != files[0] {
				t.Fatalf("first listed file = %+v, want %+v", dl.Files[0], files[0])
			}

			// The flag and the real totals survive sealing and verification.
			m := New("p", "prd", "b", time.Unix(1700000000, 0))
			m.DocumentLibrary = &dl
			if err := m.Seal(); err != nil {
				t.Fatal(err)
			}
			b, err := m.Marshal(Compact)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Verify(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.DocumentLibrary.Truncated != tt.wantTruncated || got.DocumentLibrary.ObjectCount != int64(tt.n) ||
				got.DocumentLibrary.TotalSizeBytes != total || len(got.DocumentLibrary.Files) != tt.wantListed {
				t.Fatalf("after round trip: %d objects %d bytes %d listed truncated %v",
					got.DocumentLibrary.ObjectCount, got.DocumentLibrary.TotalSizeBytes, len(got.DocumentLibrary.Files), got.DocumentLibrary.Truncated)
			}
		})
	}
}

func TestSetFilesResets(t *testing.T) {
	var dl DocumentLibraryInfo
	dl.SetFiles(make([]File, MaxFiles+5))
	dl.SetFiles([]File{{Key: "a", Size: 3}})
	if dl.ObjectCount != 1 || dl.TotalSizeBytes != 3 || len(dl.Files) != 1 || dl.Truncated {
		t.Fatalf("second SetFiles kept old state: %+v", dl)
	}
}

func TestSealRejectsInvalid(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Manifest)
		want   string
	}{
		{"no project", func(m *Manifest) { m.ProjectID = "" }, "projectId is empty"},
		{"no backup id", func(m *Manifest) { m.BackupID = "" }, "backupId is empty"},
		{"no timestamp", func(m *Manifest) { m.Timestamp = time.Time{} }, "timestamp is not set"},
		{"other version", func(m *Manifest) { m.Version = "2.0" }, `version is "2.0"`},
		{"no snapshot", func(m *Manifest) { m.Database.SnapshotID = "" }, "snapshotId is empty"},
		{"negative db size", func(m *Manifest) { m.Database.SizeBytes = -1 }, "sizeBytes is negative"},
		{"too many files", func(m *Manifest) {
			m.DocumentLibrary.Files = make([]File, MaxFiles+1)
			m.DocumentLibrary.ObjectCount = MaxFiles + 1
		}, "more than 10000"},
		{"count below listed", func(m *Manifest) { m.DocumentLibrary.ObjectCount = 1 }, "objectCount is 1"},
		{"negative file size", func(m *Manifest) { m.DocumentLibrary.Files[1].Size = -5 }, "negative size -5"},
		{"legacy version", func(m *Manifest) { m.Version = Version10 }, `version is "1.0", want "1.1"`},
		{"db size beyond 2^53", func(m *Manifest) { m.Database.SizeBytes = 1 << 53 }, "database.sizeBytes is 9007199254740992, beyond"},
		{"file size beyond 2^53", func(m *Manifest) { m.DocumentLibrary.Files[0].Size = 1<<53 + 1 }, "files[0].size is 9007199254740993, beyond"},
		{"total beyond 2^53", func(m *Manifest) { m.DocumentLibrary.TotalSizeBytes = 1 << 62 }, "documentLibrary.totalSizeBytes is 4611686018427387904, beyond"},
		{"inventory format", func(m *Manifest) { m.DocumentLibrary.Inventory.Format = "jsonl" }, `inventory.format is "jsonl", want "jsonl+gzip"`},
		{"inventory empty format", func(m *Manifest) { m.DocumentLibrary.Inventory.Format = "" }, `inventory.format is ""`},
		{"inventory count vs parts", func(m *Manifest) { m.DocumentLibrary.Inventory.Parts[0].ObjectCount = 2 }, "its parts sum to 3 objects, 3072 bytes"},
		{"inventory size vs parts", func(m *Manifest) { m.DocumentLibrary.Inventory.Parts[1].SizeBytes = 1 }, "its parts sum to 2 objects, 1025 bytes"},
		{"inventory vs library count", func(m *Manifest) {
			inv := m.DocumentLibrary.Inventory
			inv.ObjectCount, inv.Parts[0].ObjectCount = 3, 2
		}, "inventory totals are 3 objects, 3072 bytes but documentLibrary totals are 2 objects, 3072 bytes"},
		{"inventory vs library size", func(m *Manifest) { m.DocumentLibrary.TotalSizeBytes = 3000 }, "but documentLibrary totals are 2 objects, 3000 bytes"},
		{"inventory without parts", func(m *Manifest) { m.DocumentLibrary.Inventory.Parts = nil }, "its parts sum to 0 objects, 0 bytes"},
		{"inventory part key", func(m *Manifest) { m.DocumentLibrary.Inventory.Parts[1].Key = "" }, "parts[1].key is empty"},
		{"inventory part key repeated", func(m *Manifest) {
			p := m.DocumentLibrary.Inventory.Parts
			p[1].Key = p[0].Key
		}, "parts[1].key \"inventory/20251109T143000.000000000Z-00000.jsonl.gz\" repeats parts[0]"},
		{"inventory part sha256 missing", func(m *Manifest) { m.DocumentLibrary.Inventory.Parts[0].SHA256 = "" }, `parts[0].sha256 is ""`},
		{"inventory part sha256 bare hex", func(m *Manifest) {
			m.DocumentLibrary.Inventory.Parts[0].SHA256 = strings.Repeat("ab", 32)
		}, "parts[0].sha256 is"},
		{"inventory part sha256 uppercase", func(m *Manifest) {
			m.DocumentLibrary.Inventory.Parts[0].SHA256 = "sha256:" + strings.Repeat("AB", 32)
		}, "want sha256:<64 lowercase hex digits>"},
		{"inventory part sha256 short", func(m *Manifest) {
			m.DocumentLibrary.Inventory.Parts[0].SHA256 = "sha256:" + strings.Repeat("ab", 31)
		}, "parts[0].sha256 is"},
		{"inventory part sha256 long", func(m *Manifest) { m.DocumentLibrary.Inventory.Parts[0].SHA256 += "0" }, "parts[0].sha256 is"},
		{"inventory part sha256 md5", func(m *Manifest) {
			m.DocumentLibrary.Inventory.Parts[0].SHA256 = "md5:" + strings.Repeat("ab", 32)
		}, "parts[0].sha256 is"},
		{"inventory part negative", func(m *Manifest) {
			p := m.DocumentLibrary.Inventory.Parts
			p[0].ObjectCount, p[1].ObjectCount = -1, 3
		}, "parts[0] totals are negative"},
		{"inventory part beyond 2^53", func(m *Manifest) {
			p := m.DocumentLibrary.Inventory.Parts
			p[0].SizeBytes, p[1].SizeBytes = math.MaxInt64, math.MinInt64+3073
		}, "parts[0].sizeBytes is 9223372036854775807, beyond"},
		{"inventory part sum wraps around", func(m *Manifest) {
			// MaxInt64 + MinInt64+3073 wraps to 3072 in int64 arithmetic.
			p := m.DocumentLibrary.Inventory.Parts
			p[0].SizeBytes, p[1].SizeBytes = math.MaxInt64, math.MinInt64+3073
		}, "its parts sum to 2 objects, 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sample(t)
			tt.change(m)
			err := m.Seal()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Seal() = %v, want error containing %q", err, tt.want)
			}
			if m.Checksum != "" {
				t.Fatalf("failed Seal set checksum %q", m.Checksum)
			}
		})
	}
}

func TestInventoryValid(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Manifest)
	}{
		{"two parts", func(*Manifest) {}},
		{"one part", func(m *Manifest) {
			inv := m.DocumentLibrary.Inventory
			inv.Parts = []InventoryPart{{Key: "inventory/x-00000.jsonl.gz", SHA256: inv.Parts[0].SHA256, ObjectCount: 2, SizeBytes: 3072}}
		}},
		{"empty library, no parts", func(m *Manifest) {
			m.DocumentLibrary.SetFiles(nil)
			inv := m.DocumentLibrary.Inventory
			inv.ObjectCount, inv.TotalSizeBytes, inv.Parts = 0, 0, nil
		}},
		{"empty part", func(m *Manifest) {
			inv := m.DocumentLibrary.Inventory
			inv.Parts = append(inv.Parts, InventoryPart{Key: "inventory/x-00002.jsonl.gz", SHA256: "sha256:" + strings.Repeat("0", 64)})
		}},
		{"truncated file list", func(m *Manifest) {
			files := make([]File, MaxFiles+3)
			for i := range files {
				files[i] = File{Key: fmt.Sprint(i), Size: 1, ETag: "e"}
			}
			m.DocumentLibrary.SetFiles(files)
			inv := m.DocumentLibrary.Inventory
			inv.ObjectCount, inv.TotalSizeBytes = MaxFiles+3, MaxFiles+3
			inv.Parts = []InventoryPart{{Key: "inventory/p0", SHA256: inv.Parts[0].SHA256, ObjectCount: MaxFiles + 3, SizeBytes: MaxFiles + 3}}
		}},
		{"largest exact total", func(m *Manifest) {
			dl := m.DocumentLibrary
			dl.TotalSizeBytes = 1<<53 - 1
			dl.Inventory.TotalSizeBytes = 1<<53 - 1
			dl.Inventory.Parts[1].SizeBytes = 1<<53 - 1 - dl.Inventory.Parts[0].SizeBytes
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sample(t)
			tt.change(m)
			if err := m.Seal(); err != nil {
				t.Fatal(err)
			}
			b, err := m.Marshal(Pretty)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Verify(b)
			if err != nil {
				t.Fatal(err)
			}
			if got.DocumentLibrary.Inventory == nil || len(got.DocumentLibrary.Inventory.Parts) != len(m.DocumentLibrary.Inventory.Parts) {
				t.Fatalf("inventory did not round-trip: %+v", got.DocumentLibrary.Inventory)
			}
		})
	}
}

func TestInventoryOmittedWhenNil(t *testing.T) {
	m := sample(t)
	m.DocumentLibrary.Inventory = nil
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal(Compact)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "inventory") {
		t.Fatalf("manifest without inventory mentions it: %s", b)
	}
	if _, err := Verify(b); err != nil {
		t.Fatal(err)
	}
}
