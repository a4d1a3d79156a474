package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	// jcs implements RFC 8785, the JSON Canonicalization Scheme. We use
	// github.com/gowebpki/jcs rather than
	// github.com/cyberphone/json-canonicalization: it is the same code by
	// the RFC's author, forked with his permission into a proper Go module
	// with tagged releases (upstream has no go.mod and only pseudo-versions,
	// its Go package buried under go/src/webpki.org/), and it is maintained: it validates UTF-8 and
	// surrogate pairs, rejects duplicate keys, bounds nesting depth and runs
	// in linear time on hostile input.
	"github.com/gowebpki/jcs"
)

// checksumPrefix names the hash algorithm inside Manifest.Checksum, so a
// later format can change algorithm without ambiguity.
const checksumPrefix = "sha256:"

// checksumMember is the name of the top-level member the checksum is stored
// in, and which is left out of the content it covers.
const checksumMember = "checksum"

var (
	// ErrChecksumMismatch reports that a manifest's content no longer hashes
	// to its recorded checksum: it was edited or corrupted after sealing.
	ErrChecksumMismatch = errors.New("manifest checksum mismatch")
	// ErrMissingChecksum reports a manifest that was never sealed.
	ErrMissingChecksum = errors.New("manifest has no checksum")
)

// Canonical returns the bytes the checksum of m is computed over, by the rule
// of m.Version (docs/manifest.md):
//
//   - Version 1.1: the RFC 8785 (JCS) form of the JSON object Marshal writes
//     for m, without its "checksum" member. Because JCS sorts members,
//     removes whitespace and writes strings and numbers one way only, it is
//     the same for the pretty and the compact layout, and any language with
//     a JCS implementation computes it from the written bytes alone.
//   - Version 1.0: the legacy form, see canonicalV10.
func (m *Manifest) Canonical() ([]byte, error) {
	switch m.Version {
	case Version11:
		c := *m
		c.Checksum = ""
		b, err := c.Marshal(Compact)
		if err != nil {
			return nil, fmt.Errorf("encode canonical manifest: %w", err)
		}
		return canonicalV11(b)
	case Version10:
		return m.canonicalV10()
	default:
		return nil, fmt.Errorf("encode canonical manifest: unsupported version %q", m.Version)
	}
}

// canonicalV11 returns the version 1.1 canonical form of data, a manifest as
// written: its top-level object without the "checksum" member, canonicalized
// by RFC 8785. Every other member is passed to the canonicalizer byte for
// byte as written, so the result depends on the text only, never on how Go
// decodes it (omitted or explicit empty fields, escapes, number spelling).
// The canonicalizer rejects invalid UTF-8, lone surrogates, duplicate keys
// and numbers out of the double range.
func canonicalV11(data []byte) ([]byte, error) {
	content, err := withoutChecksum(data)
	if err != nil {
		return nil, fmt.Errorf("canonicalize manifest (RFC 8785): %w", err)
	}
	out, err := jcs.Transform(content)
	if err != nil {
		return nil, fmt.Errorf("canonicalize manifest (RFC 8785): %w", err)
	}
	return out, nil
}

// withoutChecksum returns the JSON object in data with its top-level
// "checksum" member removed. Each remaining member is copied as written,
// from its name to the end of its value, so nothing inside it is decoded.
func withoutChecksum(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("manifest is not a JSON object")
	}
	out := make([]byte, 0, len(data))
	out = append(out, '{')
	members := 0
	seenChecksum := false
	for dec.More() {
		// A member spans from the end of the previous value (or the '{')
		// to the end of its own value; every member but the first starts
		// with the ',' separating it from the previous one.
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		member := bytes.TrimLeft(data[start:dec.InputOffset()], " \t\r\n")
		member = bytes.TrimPrefix(member, []byte{','})
		if name == checksumMember {
			if seenChecksum {
				return nil, errors.New(`duplicate key "checksum"`)
			}
			seenChecksum = true
			continue
		}
		if members > 0 {
			out = append(out, ',')
		}
		out = append(out, member...)
		members++
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, err
	}
	return append(out, '}'), nil
}

// canonicalV10 returns the version 1.0 canonical form: the compact
// encoding/json encoding of the decoded manifest with Checksum omitted and
// Timestamp in UTC. It is defined by Go's encoding/json (struct field order,
// omitempty, the escaping of <, >, &, U+2028 and U+2029), which is why
// version 1.1 replaced it; it is kept, unchanged, only to verify manifests
// written before.
func (m *Manifest) canonicalV10() ([]byte, error) {
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
// form "sha256:<64 lowercase hex digits>", by the rule of m.Version. It does
// not modify m.
func (m *Manifest) ComputeChecksum() (string, error) {
	b, err := m.Canonical()
	if err != nil {
		return "", err
	}
	return sha256Checksum(b), nil
}

func sha256Checksum(b []byte) string {
	sum := sha256.Sum256(b)
	return checksumPrefix + hex.EncodeToString(sum[:])
}

// Seal validates m and sets its Checksum, computed over the bytes Marshal
// writes for m (version 1.1 rule). Any change to m after Seal makes Verify
// fail, so call it last, just before Marshal.
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
//
// For version 1.1 the checksum is recomputed from data itself (see
// canonicalV11), not from the decoded manifest, exactly as another language
// would; for version 1.0 it is recomputed from the decoded manifest with the
// legacy rule.
//
// Errors: a Parse error for malformed JSON, unknown fields or an unsupported
// version; a canonicalization error for JSON that RFC 8785 refuses
// (duplicate keys, invalid UTF-8, lone surrogates); ErrMissingChecksum when
// no checksum is present; and ErrChecksumMismatch, naming the recorded and
// the recomputed checksum, when any content differs from what was sealed.
// Differences that do not change content (whitespace, member order, how a
// string is escaped) are not changes.
//
// A manifest re-encoded with Marshal keeps its checksum only if the original
// was written the way Marshal writes it; to copy a manifest, copy its bytes.
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
	var actual string
	switch m.Version {
	case Version11:
		b, err := canonicalV11(data)
		if err != nil {
			return nil, fmt.Errorf("verify manifest: %w", err)
		}
		actual = sha256Checksum(b)
	default: // Version10; Parse accepts no other.
		b, err := m.canonicalV10()
		if err != nil {
			return nil, fmt.Errorf("verify manifest: %w", err)
		}
		actual = sha256Checksum(b)
	}
	if actual != m.Checksum {
		return nil, fmt.Errorf("verify manifest: %w: expected %s (recorded), actual %s (computed from content)", ErrChecksumMismatch, m.Checksum, actual)
	}
	return m, nil
}
