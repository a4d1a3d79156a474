package manifest

import (
	"testing"
)

// FuzzVerify checks that Verify never panics on arbitrary input, and that
// whatever it accepts still verifies after being written out again in
// either format (so accepted input always has a stable canonical form).
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
	for _, s := range []string{"", "{}", "null", "[]", `{"version":"1.0","checksum":"sha256:"}`, `{"documentLibrary":{"files":[{}]}}`} {
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
		for _, format := range []Format{Pretty, Compact} {
			b, err := got.Marshal(format)
			if err != nil {
				t.Fatalf("marshal accepted manifest: %v", err)
			}
			if _, err := Verify(b); err != nil {
				t.Fatalf("accepted manifest does not verify after marshalling: %v\ninput: %q\nwritten: %q", err, data, b)
			}
		}
	})
}
