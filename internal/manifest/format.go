package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
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

// Parse decodes a manifest of version 1.0 or 1.1 without checking its
// checksum; use Verify when the content must be trusted. It rejects what the
// checksum could not cover or could cover ambiguously: unknown fields,
// member names that match a field only when case is ignored (encoding/json
// would accept them, other readers would not), trailing data, integers
// beyond 2^53-1 in a 1.1 manifest (RFC 8785 hashes numbers as doubles), an
// inventory or a source instance in a 1.0 manifest, a timestamp whose UTC form has no RFC 3339
// spelling, and any other version, which may hash a different canonical
// form.
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
	switch m.Version {
	case Version11:
	case Version10:
		if m.DocumentLibrary != nil && m.DocumentLibrary.Inventory != nil {
			return nil, fmt.Errorf("parse manifest: documentLibrary.inventory needs version %q, manifest is %q", Version11, m.Version)
		}
		if m.Database != nil && m.Database.SourceInstance != nil {
			return nil, fmt.Errorf("parse manifest: database.sourceInstance needs version %q, manifest is %q", Version11, m.Version)
		}
		if m.Database != nil && m.Database.Dump != nil {
			return nil, fmt.Errorf("parse manifest: database.dump needs version %q, manifest is %q", Version11, m.Version)
		}
		if m.Database != nil && m.Database.Inventory != nil {
			return nil, fmt.Errorf("parse manifest: database.inventory needs version %q, manifest is %q", Version11, m.Version)
		}
	default:
		return nil, fmt.Errorf("parse manifest: unsupported version %q, want %q or %q", m.Version, Version11, Version10)
	}
	if _, err := m.Timestamp.UTC().MarshalJSON(); err != nil {
		// A year beyond 9999 once in UTC: Marshal could not write it again.
		return nil, fmt.Errorf("parse manifest: timestamp: %w", err)
	}
	var tree any
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	if err := checkMembers(tree, reflect.TypeFor[Manifest](), "", m.Version == Version11); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	return &m, nil
}

// checkMembers walks the generic decoding v of a value of type t and
// reports an object member whose name is not exactly one of t's JSON field
// names and, when exactIntegers is set, an integer field beyond ±(2^53-1).
// Values encoding/json refused to decode into t never reach it.
func checkMembers(v any, t reflect.Type, path string, exactIntegers bool) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok || t == reflect.TypeFor[time.Time]() {
			return nil
		}
		fields := jsonFields(t)
		for name, sub := range obj {
			ft, ok := fields[name]
			if !ok {
				return fmt.Errorf("member %q%s does not spell a field name exactly", name, inPath(path))
			}
			if err := checkMembers(sub, ft, path+"."+name, exactIntegers); err != nil {
				return err
			}
		}
	case reflect.Slice:
		arr, _ := v.([]any)
		for i, e := range arr {
			if err := checkMembers(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), exactIntegers); err != nil {
				return err
			}
		}
	case reflect.Int64:
		n, ok := v.(json.Number)
		if !ok || !exactIntegers {
			return nil
		}
		if i, err := n.Int64(); err != nil || i > maxExactInteger || i < -maxExactInteger {
			return fmt.Errorf("%s is %s, beyond the exactly representable ±%d", strings.TrimPrefix(path, "."), n, int64(maxExactInteger))
		}
	}
	return nil
}

func inPath(path string) string {
	if path == "" {
		return ""
	}
	return " in " + strings.TrimPrefix(path, ".")
}

// jsonFields maps the JSON names of struct t's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}
