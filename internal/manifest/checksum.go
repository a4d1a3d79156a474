package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// checksumPrefix names the hash algorithm inside Manifest.Checksum, so a
// later format can change algorithm without ambiguity.
const checksumPrefix = "sha256:"

var (
	// ErrChecksumMismatch reports that a manifest's content no longer hashes
	// to its recorded checksum: it was edited or corrupted after sealing.
	ErrChecksumMismatch = errors.New("manifest checksum mismatch")
	// ErrMissingChecksum reports a manifest that was never sealed.
	ErrMissingChecksum = errors.New("manifest has no checksum")
)

// Canonical returns the bytes the checksum is computed over: the compact
// JSON encoding of m with Checksum omitted and Timestamp in UTC. Because it
// is derived from the decoded values rather than from the bytes on disk, the
// checksum is the same whether the manifest was written pretty or compact.
func (m *Manifest) Canonical() ([]byte, error) {
	c := *m
	c.Checksum = ""
	c.Timestamp = c.Timestamp.UTC()
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encode canonical manifest: %w", err)
	}
	return b, nil
}

// ComputeChecksum returns the checksum m would carry once sealed, in the
// form "sha256:<64 lowercase hex digits>". It does not modify m.
func (m *Manifest) ComputeChecksum() (string, error) {
	b, err := m.Canonical()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return checksumPrefix + hex.EncodeToString(sum[:]), nil
}

// Seal validates m and sets its Checksum. Any change to m after Seal makes
// Verify fail, so call it last, just before Marshal.
func (m *Manifest) Seal() error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("seal manifest: %w", err)
	}
	sum, err := m.ComputeChecksum()
	if err != nil {
		return fmt.Errorf("seal manifest: %w", err)
	}
	m.Checksum = sum
	return nil
}

// Verify parses data (pretty or compact) and checks that its content still
// hashes to its checksum. It returns the manifest only when it verifies.
// Errors: a Parse error for malformed JSON, unknown fields or an unsupported
// version; ErrMissingChecksum when no checksum is present; and
// ErrChecksumMismatch, naming the recorded and the recomputed checksum, when
// any content differs from what was sealed. Differences that do not change
// content (whitespace, key order, the time zone a same instant is written
// in) are not changes.
func Verify(data []byte) (*Manifest, error) {
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("verify manifest: %w", err)
	}
	if m.Checksum == "" {
		return nil, fmt.Errorf("verify manifest: %w", ErrMissingChecksum)
	}
	if !strings.HasPrefix(m.Checksum, checksumPrefix) {
		return nil, fmt.Errorf("verify manifest: %w: unsupported checksum %q, want %s<hex>", ErrChecksumMismatch, m.Checksum, checksumPrefix)
	}
	actual, err := m.ComputeChecksum()
	if err != nil {
		return nil, fmt.Errorf("verify manifest: %w", err)
	}
	if actual != m.Checksum {
		return nil, fmt.Errorf("verify manifest: %w: expected %s (recorded), actual %s (computed from content)", ErrChecksumMismatch, m.Checksum, actual)
	}
	return m, nil
}
