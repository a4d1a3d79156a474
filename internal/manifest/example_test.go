package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the worked example in testdata (then copy it into docs/manifest.md)")

// The worked example of docs/manifest.md. The doc embeds these files
// verbatim; TestDocExample proves they are right and TestDocEmbedsExample
// that the doc still shows them.
const (
	exampleManifest  = "testdata/example-manifest.json"
	exampleCanonical = "testdata/example-canonical.json"
	exampleChecksum  = "testdata/example-checksum.txt"
	docPath          = "../../docs/manifest.md"
)

func exampleManifestValue(t testing.TB) *Manifest {
	t.Helper()
	m := New("retail", "prd", "retail-prd-20251109-143000", time.Date(2025, 11, 9, 14, 30, 0, 0, time.UTC))
	m.Database = &DatabaseInfo{
		SnapshotID:    "retail-prd-20251109-143000",
		InstanceID:    "retail-prd-db",
		SizeBytes:     21474836480,
		Engine:        "postgres",
		EngineVersion: "16.4",
	}
	m.DocumentLibrary = &DocumentLibraryInfo{
		SourceBucket:      "retail-prd-dl",
		SourcePrefix:      "document_library/",
		DestinationBucket: "liferay-backups",
		DestinationPrefix: "retail/prd/20251109-143000/",
	}
	m.DocumentLibrary.SetFiles([]File{
		{Key: "20/R&D plan (été).pdf", Size: 52311, ETag: "9b2cf535f27731c974343645a3985328"},
		{Key: "20/logo.png", Size: 4096, ETag: "6f5902ac237024bdd0c176cb93063dc4"},
	})
	m.DocumentLibrary.Inventory = &InventoryInfo{
		Format:         InventoryFormat,
		ObjectCount:    2,
		TotalSizeBytes: 56407,
		Parts: []InventoryPart{{
			Key:         "inventory/20251109T143000.000000000Z-00000.jsonl.gz",
			SHA256:      "sha256:5e1bd3f9d2ab5bd47e2fb1b1c9d8b2c8f3e1d6a4b9c7e0f2a1d3c5b7e9f0a2c4",
			ObjectCount: 2,
			SizeBytes:   56407,
		}},
	}
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDocExample(t *testing.T) {
	m := exampleManifestValue(t)
	written, err := m.Marshal(Pretty)
	if err != nil {
		t.Fatal(err)
	}
	canonical, err := m.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		for name, b := range map[string][]byte{
			exampleManifest:  written,
			exampleCanonical: canonical,
			exampleChecksum:  []byte(m.Checksum + "\n"),
		} {
			if err := os.WriteFile(name, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files := readExample(t)
	if !bytes.Equal(files[exampleManifest], written) {
		t.Errorf("%s is not what Marshal(Pretty) writes today (go test -run TestDocExample -update):\n%s", exampleManifest, written)
	}

	// From the file alone: the canonical form, its hash, the recorded checksum.
	got, err := Verify(files[exampleManifest])
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := canonicalV11(files[exampleManifest])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fromFile, files[exampleCanonical]) || !bytes.Equal(canonical, files[exampleCanonical]) {
		t.Errorf("canonical form differs from %s:\nfrom file: %s\nfrom Seal: %s\n     want: %s", exampleCanonical, fromFile, canonical, files[exampleCanonical])
	}
	sum := sha256.Sum256(files[exampleCanonical])
	want := strings.TrimSuffix(string(files[exampleChecksum]), "\n")
	if hexSum := "sha256:" + hex.EncodeToString(sum[:]); hexSum != want || got.Checksum != want {
		t.Errorf("sha256 of %s is %s, manifest records %s, %s says %s", exampleCanonical, hexSum, got.Checksum, exampleChecksum, want)
	}

	// The example shows what the canonical form changes: Go escapes & in
	// the file, the canonical form does not; members are re-ordered.
	if !bytes.Contains(files[exampleManifest], []byte(`R\u0026D plan (été)`)) || !bytes.Contains(files[exampleCanonical], []byte(`R&D plan (été)`)) {
		t.Error("the example no longer shows the escaping difference the doc describes")
	}
	if !bytes.HasPrefix(files[exampleCanonical], []byte(`{"backupId":`)) || bytes.Contains(files[exampleCanonical], []byte(`"checksum"`)) {
		t.Error("canonical example does not start with the sorted first member or still has the checksum")
	}
}

func readExample(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, name := range []string{exampleManifest, exampleCanonical, exampleChecksum} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	if bytes.HasSuffix(files[exampleCanonical], []byte("\n")) {
		t.Fatalf("%s ends with a newline; the canonical form has none", exampleCanonical)
	}
	return files
}

// docBlock matches a fenced block preceded by <!-- example: NAME -->.
var docBlock = regexp.MustCompile("(?s)<!-- example: (\\S+) -->\\s*```[a-z]*\\n(.*?)\\n```")

// TestDocEmbedsExample checks that docs/manifest.md shows the example files
// byte for byte (each file's trailing newline aside).
func TestDocEmbedsExample(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	files := readExample(t)
	seen := map[string]bool{}
	for _, match := range docBlock.FindAllSubmatch(doc, -1) {
		name := "testdata/" + string(match[1])
		want, ok := files[name]
		if !ok {
			t.Errorf("docs/manifest.md embeds unknown example %s", name)
			continue
		}
		seen[name] = true
		if got := string(match[2]); got != strings.TrimSuffix(string(want), "\n") {
			t.Errorf("docs/manifest.md shows a different %s:\n got %q\nwant %q", name, got, want)
		}
	}
	// The shell recipe hashes the example's canonical form.
	hash := strings.TrimPrefix(strings.TrimSuffix(string(files[exampleChecksum]), "\n"), "sha256:")
	for _, want := range []string{
		"printf '%s' '" + string(files[exampleCanonical]) + "' | sha256sum\n# " + hash + "  -\n",
		"--canonical manifest.json | sha256sum\n# " + hash + "  -\n",
		"# sha256:" + hash + "  manifest.json\n",
	} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("docs/manifest.md lacks %q", want)
		}
	}
	for name := range files {
		if !seen[name] {
			t.Errorf("docs/manifest.md does not embed %s (<!-- example: %s --> before a fenced block)", name, strings.TrimPrefix(name, "testdata/"))
		}
	}
}
