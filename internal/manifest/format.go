package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Format selects how Marshal lays out the JSON. Both layouts carry the same
// content and therefore the same checksum.
type Format int

const (
	// Pretty is indented with two spaces and ends with a newline, for
	// manifests people read.
	Pretty Format = iota
	// Compact has no insignificant whitespace, for the smallest object.
	Compact
)

// Marshal encodes m in the given format. It does not seal m: call Seal
// first, or Verify will report ErrMissingChecksum.
func (m *Manifest) Marshal(f Format) ([]byte, error) {
	c := *m
	c.Timestamp = c.Timestamp.UTC()
	switch f {
	case Pretty:
		b, err := json.MarshalIndent(&c, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encode manifest: %w", err)
		}
		return append(b, '\n'), nil
	case Compact:
		b, err := json.Marshal(&c)
		if err != nil {
			return nil, fmt.Errorf("encode manifest: %w", err)
		}
		return b, nil
	default:
		return nil, fmt.Errorf("encode manifest: unknown format %d", f)
	}
}

// Parse decodes a manifest without checking its checksum; use Verify when
// the content must be trusted. Unknown fields and trailing data are
// rejected because the checksum could not cover them, and only Version is
// accepted because another version may hash a different canonical form.
func Parse(data []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse manifest: unexpected data after the JSON object")
	}
	if m.Version != Version {
		return nil, fmt.Errorf("parse manifest: unsupported version %q, want %q", m.Version, Version)
	}
	return &m, nil
}
