package manifest

import (
	"fmt"
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
		`{"version":"1.0","timestamp":"2025-11-09T14:30:00Z","projectId":"retail","environment":"prd","backupId":"retail-prd-backup-20251109-143000",`,
		`"database":{"snapshotId":"retail-prd-backup-20251109-143000","snapshotArn":"arn:`,
		`"instanceId":"retail-prd-db","sizeBytes":48586496000,"engine":"postgres","engineVersion":"15.4"}`,
		`"documentLibrary":{"sourceBucket":"retail-prd-dl",`,
		`"objectCount":2,"totalSizeBytes":3072,"files":[{"key":"document_library/1/a.pdf","size":1024,"etag":"9b2cf535f27731c974343645a3985328"},`,
		`,"checksum":"sha256:`,
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
