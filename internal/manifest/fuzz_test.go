package manifest

import (
	"bytes"
	"os"
	"testing"
)

// FuzzVerify checks that Verify never panics on arbitrary input, and that
// whatever it accepts can be written out again: the written form parses back,
// verifies once its checksum is recomputed, and verifies as is whenever the
// input was written the way Marshal writes (its checksum equals the one
// recomputed from the decoded manifest).
func FuzzVerify(f *testing.F) {
	m := sample(f)
	if err := m.Seal(); err != nil {
		f.Fatal(err)
	}
	for _, format := range []Format{Pretty, Compact} {
		b, err := m.Marshal(format)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, name := range []string{"testdata/v1.0-sealed.json", "testdata/example-manifest.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "{}", "null", "[]", `{"version":"1.1","checksum":"sha256:"}`, `{"version":"1.0","checksum":"sha256:"}`,
		`{"documentLibrary":{"files":[{}]}}`, `{"version":"1.1","checksum":"sha256:","checksum":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Verify(data)
		if err != nil {
			if got != nil {
				t.Fatalf("Verify returned a manifest with error %v", err)
			}
			return
		}
		asIs, err := got.ComputeChecksum()
		if err != nil {
			t.Fatalf("checksum of accepted manifest: %v\ninput: %q", err, data)
		}
		resealed := *got
		resealed.Checksum = asIs
		for _, format := range []Format{Pretty, Compact} {
			b, err := got.Marshal(format)
			if err != nil {
				t.Fatalf("marshal accepted manifest: %v", err)
			}
			if _, err := Parse(b); err != nil {
				t.Fatalf("accepted manifest does not parse after marshalling: %v\ninput: %q\nwritten: %q", err, data, b)
			}
			if asIs == got.Checksum {
				if _, err := Verify(b); err != nil {
					t.Fatalf("accepted manifest does not verify after marshalling: %v\ninput: %q\nwritten: %q", err, data, b)
				}
			}
			b, err = resealed.Marshal(format)
			if err != nil {
				t.Fatalf("marshal resealed manifest: %v", err)
			}
			if _, err := Verify(b); err != nil {
				t.Fatalf("resealed manifest does not verify: %v\ninput: %q\nwritten: %q", err, data, b)
			}
		}
		if got.Version == Version11 {
			// The 1.1 checksum depends on the content only: compacting the
			// input (which keeps every string escape and number as written)
			// does not change it.
			var compact bytes.Buffer
			if err := compactJSON(&compact, data); err != nil {
				t.Fatalf("compact accepted input: %v", err)
			}
			if _, err := Verify(compact.Bytes()); err != nil {
				t.Fatalf("accepted manifest does not verify once compacted: %v\ninput: %q", err, data)
			}
		}
	})
}
