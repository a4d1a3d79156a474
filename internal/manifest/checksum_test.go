package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func sealed(t *testing.T) *Manifest {
	t.Helper()
	m := sample(t)
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRoundTripPrettyAndCompact(t *testing.T) {
	m := sealed(t)
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(m.Checksum) {
		t.Fatalf("checksum %q is not sha256:<64 hex>", m.Checksum)
	}
	pretty, err := m.Marshal(Pretty)
	if err != nil {
		t.Fatal(err)
	}
	compact, err := m.Marshal(Compact)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(pretty, compact) || !bytes.Contains(pretty, []byte("\n  \"version\"")) {
		t.Fatalf("pretty output is not indented:\n%s", pretty)
	}
	if bytes.ContainsAny(compact, "\n ") {
		t.Fatalf("compact output has whitespace: %s", compact)
	}
	for name, data := range map[string][]byte{"pretty": pretty, "compact": compact} {
		got, err := Verify(data)
		if err != nil {
			t.Fatalf("verify %s: %v", name, err)
		}
		if got.Checksum != m.Checksum {
			t.Errorf("%s checksum %s, want %s", name, got.Checksum, m.Checksum)
		}
		// Re-sealing a parsed manifest reproduces the checksum, so the
		// canonical form does not depend on the layout it was read from.
		sum, err := got.ComputeChecksum()
		if err != nil {
			t.Fatal(err)
		}
		if sum != m.Checksum {
			t.Errorf("%s recomputed %s, want %s", name, sum, m.Checksum)
		}
		again, err := got.Marshal(Compact)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, compact) {
			t.Errorf("%s did not round-trip:\n got %s\nwant %s", name, again, compact)
		}
	}
}

func TestChecksumIgnoresChecksumField(t *testing.T) {
	m := sealed(t)
	first := m.Checksum
	m.Checksum = "sha256:whatever"
	sum, err := m.ComputeChecksum()
	if err != nil {
		t.Fatal(err)
	}
	if sum != first {
		t.Fatalf("checksum depends on the checksum field: %s vs %s", sum, first)
	}
}

// TestVerifyDetectsChanges edits sealed manifests both through the struct
// (re-marshalled without re-sealing) and as text, as an attacker or a broken
// copy would.
func TestVerifyDetectsChanges(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Manifest)
	}{
		{"file etag", func(m *Manifest) { m.DocumentLibrary.Files[0].ETag = "00000000000000000000000000000000" }},
		{"file size", func(m *Manifest) { m.DocumentLibrary.Files[1].Size++ }},
		{"file key", func(m *Manifest) { m.DocumentLibrary.Files[1].Key += "x" }},
		{"file added", func(m *Manifest) {
			m.DocumentLibrary.Files = append(m.DocumentLibrary.Files, File{Key: "evil", Size: 1, ETag: "e"})
		}},
		{"file removed", func(m *Manifest) { m.DocumentLibrary.Files = m.DocumentLibrary.Files[:1] }},
		{"inventory part sha256", func(m *Manifest) { m.DocumentLibrary.Inventory.Parts[0].SHA256 = "sha256:" + strings.Repeat("00", 32) }},
		{"inventory part key", func(m *Manifest) { m.DocumentLibrary.Inventory.Parts[1].Key += ".bak" }},
		{"inventory part count", func(m *Manifest) { m.DocumentLibrary.Inventory.Parts[1].ObjectCount++ }},
		{"inventory parts reordered", func(m *Manifest) {
			p := m.DocumentLibrary.Inventory.Parts
			p[0], p[1] = p[1], p[0]
		}},
		{"inventory dropped", func(m *Manifest) { m.DocumentLibrary.Inventory = nil }},
		{"inventory format", func(m *Manifest) { m.DocumentLibrary.Inventory.Format = "jsonl" }},
		{"files reordered", func(m *Manifest) {
			f := m.DocumentLibrary.Files
			f[0], f[1] = f[1], f[0]
		}},
		{"object count", func(m *Manifest) { m.DocumentLibrary.ObjectCount++ }},
		{"total size", func(m *Manifest) { m.DocumentLibrary.TotalSizeBytes-- }},
		{"truncated flag", func(m *Manifest) { m.DocumentLibrary.Truncated = true }},
		{"destination prefix", func(m *Manifest) { m.DocumentLibrary.DestinationPrefix = "other/" }},
		{"document library dropped", func(m *Manifest) { m.DocumentLibrary = nil }},
		{"project id", func(m *Manifest) { m.ProjectID = "wholesale" }},
		{"environment", func(m *Manifest) { m.Environment = "uat" }},
		{"backup id", func(m *Manifest) { m.BackupID += "-2" }},
		{"timestamp", func(m *Manifest) { m.Timestamp = m.Timestamp.Add(1) }},
		{"snapshot id", func(m *Manifest) { m.Database.SnapshotID = "other" }},
		{"database size", func(m *Manifest) { m.Database.SizeBytes = 1 }},
		{"engine version", func(m *Manifest) { m.Database.EngineVersion = "16.1" }},
		{"database dropped", func(m *Manifest) { m.Database = nil }},
	}
	for _, tt := range tests {
		for _, f := range []Format{Pretty, Compact} {
			t.Run(fmt.Sprintf("%s/format%d", tt.name, f), func(t *testing.T) {
				m := sealed(t)
				tt.change(m)
				data, err := m.Marshal(f)
				if err != nil {
					t.Fatal(err)
				}
				assertMismatch(t, data)
			})
		}
	}
}

func TestVerifyDetectsTextEdits(t *testing.T) {
	m := sealed(t)
	pretty, err := m.Marshal(Pretty)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ old, new string }{
		{`"projectId": "retail"`, `"projectId": "Retail"`},
		{`"size": 1024`, `"size": 1025`},
		{`"etag": "9b2cf535f27731c974343645a3985328"`, `"etag": "9b2cf535f27731c974343645a3985329"`},
		{`"timestamp": "2025-11-09T14:30:00Z"`, `"timestamp": "2025-11-09T14:30:00.5Z"`},
		{`"objectCount": 2`, `"objectCount": 2000`},
	}
	for _, tt := range tests {
		t.Run(tt.new, func(t *testing.T) {
			if !bytes.Contains(pretty, []byte(tt.old)) {
				t.Fatalf("fixture lacks %s", tt.old)
			}
			assertMismatch(t, bytes.Replace(pretty, []byte(tt.old), []byte(tt.new), 1))
		})
	}
}

func assertMismatch(t *testing.T, data []byte) {
	t.Helper()
	_, err := Verify(data)
	if !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("Verify() = %v, want ErrChecksumMismatch", err)
	}
	if !strings.Contains(err.Error(), "expected sha256:") || !strings.Contains(err.Error(), "actual sha256:") {
		t.Fatalf("error does not name expected and actual checksums: %v", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	m := sealed(t)
	good, err := m.Marshal(Compact)
	if err != nil {
		t.Fatal(err)
	}
	unsealed := sample(t)
	noSum, err := unsealed.Marshal(Compact)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    string
		wantIs  error
		wantMsg string
	}{
		{"empty", "", nil, "parse manifest"},
		{"not json", "manifest", nil, "parse manifest"},
		{"truncated json", string(good[:len(good)/2]), nil, "parse manifest"},
		{"array", "[]", nil, "parse manifest"},
		{"null", "null", nil, "unsupported version"},
		{"trailing data", string(good) + "{}", nil, "after the JSON object"},
		{"unknown field", strings.Replace(string(good), `"environment"`, `"extra":1,"environment"`, 1), nil, "unknown field"},
		{"wrong type", strings.Replace(string(good), `"sizeBytes":48586496000`, `"sizeBytes":"big"`, 1), nil, "parse manifest"},
		{"other version", strings.Replace(string(good), `"version":"1.1"`, `"version":"2.0"`, 1), nil, "unsupported version"},
		{"next minor version", strings.Replace(string(good), `"version":"1.1"`, `"version":"1.2"`, 1), nil, "unsupported version"},
		{"no version", strings.Replace(string(good), `"version":"1.1",`, ``, 1), nil, "unsupported version"},
		{"field name in other case", strings.Replace(string(good), `"projectId"`, `"ProjectId"`, 1), nil, `member "ProjectId" does not spell a field name exactly`},
		{"nested field name in other case", strings.Replace(string(good), `"etag"`, `"ETag"`, 1), nil, `member "ETag" in documentLibrary.files[0] does not spell`},
		{"inventory field name in other case", strings.Replace(string(good), `"sha256":`, `"SHA256":`, 1), nil, `member "SHA256" in documentLibrary.inventory.parts[0]`},
		{"integer beyond 2^53", strings.Replace(string(good), `"sizeBytes":48586496000`, `"sizeBytes":9007199254740993`, 1), nil, "database.sizeBytes is 9007199254740993, beyond"},
		{"fraction in integer", strings.Replace(string(good), `"sizeBytes":48586496000`, `"sizeBytes":48586496000.0`, 1), nil, "parse manifest"},
		{"exponent in integer", strings.Replace(string(good), `"sizeBytes":48586496000`, `"sizeBytes":4.8586496e10`, 1), nil, "parse manifest"},
		{"1.0 with inventory", strings.Replace(string(good), `"version":"1.1"`, `"version":"1.0"`, 1), nil, `inventory needs version "1.1"`},
		{"duplicate member", strings.Replace(string(good), `"environment":"prd"`, `"environment":"prd","environment":"prd"`, 1), nil, "Duplicate key"},
		{"duplicate nested member", strings.Replace(string(good), `"engine":"postgres"`, `"engine":"postgres","engine":"postgres"`, 1), nil, "Duplicate key"},
		{"duplicate checksum", strings.Replace(string(good), `"checksum":`, `"checksum":"sha256:0","checksum":`, 1), nil, `duplicate key "checksum"`},
		{"escaped duplicate checksum", strings.Replace(string(good), `"checksum":`, `"checksum":"x","check\u0073um":`, 1), nil, `duplicate key "checksum"`},
		{"invalid UTF-8", strings.Replace(string(good), `"retail"`, "\"ret\xffail\"", 1), nil, "Invalid UTF-8"},
		{"lone surrogate", strings.Replace(string(good), `"retail"`, `"ret\ud800ail"`, 1), nil, "surrogate"},
		{"byte order mark", "\ufeff" + string(good), nil, "parse manifest"},
		{"missing checksum", string(noSum), ErrMissingChecksum, "no checksum"},
		{"other algorithm", strings.Replace(string(good), `"checksum":"sha256:`, `"checksum":"md5:`, 1), ErrChecksumMismatch, "unsupported checksum"},
		{"uppercase hex", strings.Replace(string(good), m.Checksum, m.Checksum[:7]+strings.ToUpper(m.Checksum[7:]), 1), ErrChecksumMismatch, "expected sha256:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify([]byte(tt.data))
			if err == nil {
				t.Fatalf("Verify() = %+v, nil; want error", got)
			}
			if got != nil {
				t.Errorf("Verify() returned a manifest along with error %v", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Verify() = %v, want %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Verify() = %v, want message containing %q", err, tt.wantMsg)
			}
		})
	}
}

func TestMarshalUnknownFormat(t *testing.T) {
	if _, err := sample(t).Marshal(Format(7)); err == nil {
		t.Fatal("Marshal(Format(7)) succeeded")
	}
}
