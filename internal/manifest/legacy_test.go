package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// testdata/v1.0-sealed.json was written and sealed by this package before
// version 1.1 (commit a85225f), with strings encoding/json escapes (<, >, &,
// U+2028, U+2029) and characters it does not (é, an emoji, quotes and
// backslashes). It must keep verifying with the 1.0 rule.
const legacyFixture = "testdata/v1.0-sealed.json"

const legacyChecksum = "sha256:6162fff763ea7352c175d9e84e9e5672cfe9195e18ec9f74338aa794e3824a05"

func compactJSON(dst *bytes.Buffer, src []byte) error { return json.Compact(dst, src) }

func readLegacy(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(legacyFixture)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLegacyV10Verifies(t *testing.T) {
	pretty := readLegacy(t)
	var compact, tabs bytes.Buffer
	if err := json.Compact(&compact, pretty); err != nil {
		t.Fatal(err)
	}
	if err := json.Indent(&tabs, compact.Bytes(), "", "\t"); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"pretty": pretty, "compact": compact.Bytes(), "tabs": tabs.Bytes()} {
		t.Run(name, func(t *testing.T) {
			m, err := Verify(data)
			if err != nil {
				t.Fatal(err)
			}
			if m.Version != Version10 || m.Checksum != legacyChecksum {
				t.Fatalf("version %q checksum %s, want %q %s", m.Version, m.Checksum, Version10, legacyChecksum)
			}
			if m.ProjectID != "retail<script>&" || m.DocumentLibrary.Files[0].Key != "document_library/1/café \u2028\u2029.pdf" {
				t.Fatalf("strings not decoded: %q %q", m.ProjectID, m.DocumentLibrary.Files[0].Key)
			}
			// The decoded manifest recomputes the same checksum with the
			// legacy rule, and not with the 1.1 rule.
			sum, err := m.ComputeChecksum()
			if err != nil || sum != legacyChecksum {
				t.Fatalf("ComputeChecksum() = %s, %v; want %s", sum, err, legacyChecksum)
			}
			v11, err := canonicalV11(data)
			if err != nil {
				t.Fatal(err)
			}
			if sha256Checksum(v11) == legacyChecksum {
				t.Fatal("the 1.1 rule reproduces the 1.0 checksum of this fixture; it no longer tests the legacy rule")
			}
			// Marshal writes it back with its version and checksum intact.
			again, err := m.Marshal(Compact)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(again); err != nil {
				t.Fatalf("re-marshalled 1.0 manifest: %v", err)
			}
		})
	}
}

func TestLegacyV10DetectsChanges(t *testing.T) {
	data := readLegacy(t)
	for _, tt := range []struct{ old, new string }{
		{`"sizeBytes": 48586496000`, `"sizeBytes": 48586496001`},
		{`café`, `cafe`},
		{`\u003cscript`, `\u003cScript`},
		{`"engine": "postgres",`, ``},
		{`"version": "1.0"`, `"version": "1.1"`}, // the 1.1 rule does not match the 1.0 checksum
	} {
		t.Run(tt.new, func(t *testing.T) {
			if !bytes.Contains(data, []byte(tt.old)) {
				t.Fatalf("fixture lacks %s", tt.old)
			}
			assertMismatch(t, bytes.Replace(data, []byte(tt.old), []byte(tt.new), 1))
		})
	}
}

func TestLegacyV10CannotBeSealed(t *testing.T) {
	m, err := Verify(readLegacy(t))
	if err != nil {
		t.Fatal(err)
	}
	err = m.Seal()
	if err == nil || !strings.Contains(err.Error(), `version is "1.0", want "1.1"`) {
		t.Fatalf("Seal() of a 1.0 manifest = %v, want a version error", err)
	}
	// Upgrading is a matter of setting the version before sealing.
	m.Version = Version
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal(Pretty)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(b); err != nil {
		t.Fatal(err)
	}
}

func TestCanonicalUnknownVersion(t *testing.T) {
	m := sample(t)
	m.Version = "2.0"
	if _, err := m.ComputeChecksum(); err == nil || !strings.Contains(err.Error(), `unsupported version "2.0"`) {
		t.Fatalf("ComputeChecksum() of version 2.0 = %v, want an unsupported version error", err)
	}
	var syntax *json.SyntaxError
	if _, err := canonicalV11([]byte(`[1]`)); err == nil || errors.As(err, &syntax) {
		t.Fatalf("canonicalV11 of an array = %v, want a not-an-object error", err)
	}
}
