// Package schemas publishes the JSON Schemas (draft 2020-12) of every JSON record the
// controller stores: the manifest, claim.json, an inventory line, the repository's
// reference records and listing hints, and the holders of a repository lock. The
// *.schema.json files beside this file are the published schemas; this package embeds
// them, so the unit tests, the integration and e2e suites and the docs check all read
// the same files. Every object in them has additionalProperties false: a member the
// schema does not name is refused, at any level.
//
// The schemas are checked by tests, not by the controller: it keeps its own strict
// decoders (manifest.Parse, inventory.Read), and the tests hold both to the schemas.
package schemas

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Name is the file name of a schema in this directory.
type Name string

// The published schemas.
const (
	Manifest              Name = "manifest.schema.json"
	Claim                 Name = "claim.schema.json"
	InventoryEntry        Name = "inventory-entry.schema.json"
	RepositoryRef         Name = "repository-ref.schema.json"
	ListingHints          Name = "listing-hints.schema.json"
	RepositoryLockHolders Name = "repository-lock-holders.schema.json"
	DumpResult            Name = "dump-result.schema.json"
	RestoreResult         Name = "restore-result.schema.json"
)

// All lists every published schema.
var All = []Name{Manifest, Claim, InventoryEntry, RepositoryRef, ListingHints, RepositoryLockHolders, DumpResult, RestoreResult}

//go:embed *.schema.json
var files embed.FS

// idBase is the prefix of every schema's $id.
const idBase = "https://github.com/liferay/lc2-backup-controller/api/schemas/"

var compiled = sync.OnceValues(func() (map[Name]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	// date-time is an assertion, as every reader of these records parses the times.
	c.AssertFormat()
	for _, n := range All {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Source(n)))
		if err != nil {
			return nil, fmt.Errorf("read schema %s: %w", n, err)
		}
		if err := c.AddResource(idBase+string(n), doc); err != nil {
			return nil, fmt.Errorf("add schema %s: %w", n, err)
		}
	}
	out := make(map[Name]*jsonschema.Schema, len(All))
	for _, n := range All {
		s, err := c.Compile(idBase + string(n))
		if err != nil {
			return nil, fmt.Errorf("compile schema %s: %w", n, err)
		}
		out[n] = s
	}
	return out, nil
})

// Source returns the schema's file as published; nil for a name that is not one.
func Source(n Name) []byte {
	b, err := files.ReadFile(string(n))
	if err != nil {
		return nil
	}
	return b
}

// Validate checks one JSON document against schema n and returns every violation,
// each with the location of the offending member.
func Validate(n Name, data []byte) error {
	schemas, err := compiled()
	if err != nil {
		return err
	}
	s, ok := schemas[n]
	if !ok {
		return fmt.Errorf("no schema %q", n)
	}
	// UnmarshalJSON keeps numbers exact and refuses data after the document.
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: not JSON: %w", n, err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%s: %w", n, err)
	}
	return nil
}

// ValidateInventoryPart checks every line of an inventory part as stored
// (gzip-compressed JSON Lines) against InventoryEntry.
func ValidateInventoryPart(data []byte) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("inventory part: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return fmt.Errorf("inventory part: %w", err)
	}
	if len(raw) == 0 {
		return errors.New("inventory part: no lines")
	}
	if raw[len(raw)-1] != '\n' {
		return errors.New("inventory part: the last line does not end with a newline")
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var errs []error
	for line := 1; sc.Scan(); line++ {
		if err := Validate(InventoryEntry, sc.Bytes()); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", line, err))
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("inventory part: %w", err)
	}
	return nil
}

var (
	partKey          = regexp.MustCompile(`(^|/)inventory/([0-9]{8}T[0-9]{6}\.[0-9]{9}Z-[0-9]{5}|database)\.jsonl\.gz$`)
	refKey           = regexp.MustCompile(`(^|/)\.repository/[^/]+/refs/[^/]+\.json$`)
	listingHintsKey  = regexp.MustCompile(`(^|/)\.repository/[^/]+/listing/[0-9a-f]{32}\.json$`)
	dumpResultKey    = regexp.MustCompile(`(^|/)database/dump\.json$`)
	restoreResultKey = regexp.MustCompile(`(^|/)\.restores/.+/database/restore\.json$`)
	dumpObjectKey    = regexp.MustCompile(`(^|/)database/dump\.(pgdump|sql\.gz|sql\.zst)$`)
)

// IsDumpObject reports whether key is where the dumper stores a database dump: a
// pg_dump archive or a compressed SQL stream, not a JSON record.
func IsDumpObject(key string) bool { return dumpObjectKey.MatchString(key) }

// ForKey names the schema of the record the controller stores at key, the way
// internal/layout and internal/repository name them; ok is false for any other key.
func ForKey(key string) (n Name, ok bool) {
	base := key[strings.LastIndex(key, "/")+1:]
	switch {
	case base == "manifest.json":
		return Manifest, true
	case base == "claim.json":
		return Claim, true
	case partKey.MatchString(key):
		return InventoryEntry, true
	case refKey.MatchString(key):
		return RepositoryRef, true
	case listingHintsKey.MatchString(key):
		return ListingHints, true
	case dumpResultKey.MatchString(key):
		return DumpResult, true
	case restoreResultKey.MatchString(key):
		return RestoreResult, true
	}
	return "", false
}

// ValidateObject checks an object the controller uploaded (not a copied file) at key
// against the schema ForKey names; an object no schema covers is an error.
func ValidateObject(key string, data []byte) error {
	n, ok := ForKey(key)
	if !ok {
		return fmt.Errorf("%s: the controller wrote an object no schema in api/schemas describes", key)
	}
	var err error
	if n == InventoryEntry {
		err = ValidateInventoryPart(data)
	} else {
		err = Validate(n, data)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// Members returns, sorted, the member names the schema object at pointer (a JSON
// Pointer into schema n, "" for its root) allows: tests hold the Go types that write
// a record to them.
func Members(n Name, pointer string) ([]string, error) {
	var node any
	if err := json.Unmarshal(Source(n), &node); err != nil {
		return nil, fmt.Errorf("schema %q: %w", n, err)
	}
	for _, tok := range strings.Split(pointer, "/")[1:] {
		obj, _ := node.(map[string]any)
		node = obj[strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")]
	}
	obj, _ := node.(map[string]any)
	props, ok := obj["properties"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema %s#%s names no members", n, pointer)
	}
	return slices.Sorted(maps.Keys(props)), nil
}
