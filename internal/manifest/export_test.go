package manifest

import "testing"

// Hooks for the external tests (package manifest_test), which import
// test/harness: keeping them outside package manifest means harness may
// import manifest without an import cycle.

// Sample is sample, a valid unsealed manifest with every optional part.
func Sample(t testing.TB) *Manifest { return sample(t) }

// CanonicalOf is the version 1.1 canonical form of a manifest as written.
func CanonicalOf(data []byte) ([]byte, error) { return canonicalV11(data) }
