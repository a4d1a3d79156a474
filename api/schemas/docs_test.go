package schemas_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/liferay/lc2-backup-controller/api/schemas"
)

// docsDir holds the pages whose member tables the schemas check.
var docsDir = filepath.Join("..", "..", "docs")

// memberTableMarker precedes a member table in docs/*.md and names the schema object
// the table documents, by schema file and JSON Pointer into it:
//
//	<!-- schema: manifest.schema.json#/properties/database -->
var memberTableMarker = regexp.MustCompile(`<!-- schema: ([a-z-]+\.schema\.json)#(\S*) -->`)

var backticked = regexp.MustCompile("`([^`]+)`")

// docTable is a member table of the docs: the members its first column names.
type docTable struct {
	page    string
	members []string
}

// docTables reads every marked member table of docs/*.md, keyed by schema#pointer.
func docTables(t *testing.T) map[string]docTable {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(docsDir, "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs in %s: %v", docsDir, err)
	}
	tables := map[string]docTable{}
	for _, page := range pages {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		for i, line := range lines {
			m := memberTableMarker.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			key := m[1] + "#" + m[2]
			if prev, dup := tables[key]; dup {
				t.Errorf("%s: a second table for %s (the first is in %s)", page, key, prev.page)
			}
			table := docTable{page: filepath.Base(page)}
			rows := 0
			for _, row := range lines[i+1:] {
				row = strings.TrimSpace(row)
				if !strings.HasPrefix(row, "|") {
					if rows > 0 {
						break
					}
					continue
				}
				rows++
				if rows <= 2 { // the header and the |---| line
					continue
				}
				first, _, _ := strings.Cut(strings.TrimPrefix(row, "|"), "|")
				for _, name := range backticked.FindAllStringSubmatch(first, -1) {
					table.members = append(table.members, name[1])
				}
			}
			if rows <= 2 {
				t.Errorf("%s: no member table after %s", page, line)
			}
			slices.Sort(table.members)
			tables[key] = table
		}
	}
	return tables
}

// schemaObjects returns, by schema#pointer, every object of the published schemas
// that names its members: the objects a record holds (reached through properties,
// items and $defs; the conditions under if/then only restrict them).
func schemaObjects(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, n := range schemas.All {
		var walk func(pointer string, node map[string]any)
		walk = func(pointer string, node map[string]any) {
			if props, ok := node["properties"].(map[string]any); ok {
				out[string(n)+"#"+pointer] = node
				for k, sub := range props {
					if sub, ok := sub.(map[string]any); ok {
						walk(pointer+"/properties/"+k, sub)
					}
				}
			}
			if items, ok := node["items"].(map[string]any); ok {
				walk(pointer+"/items", items)
			}
			if defs, ok := node["$defs"].(map[string]any); ok {
				for k, sub := range defs {
					if sub, ok := sub.(map[string]any); ok {
						walk(pointer+"/$defs/"+k, sub)
					}
				}
			}
		}
		walk("", schemaDoc(t, n))
	}
	return out
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestDocsMemberTablesMatchTheSchemas: every object of every schema has one member
// table in docs/, marked with its schema and pointer, that names exactly its members.
// A member added to a schema without its docs row, or documented without being in the
// schema, fails here (docs/manifest.md promises "no other members, at any level").
func TestDocsMemberTablesMatchTheSchemas(t *testing.T) {
	tables := docTables(t)
	objects := schemaObjects(t)
	for key, node := range objects {
		members := slices.Sorted(mapKeys(node["properties"].(map[string]any)))
		table, ok := tables[key]
		if !ok {
			t.Errorf("%s has no member table in docs/ (precede one with <!-- schema: %s -->)", key, key)
			continue
		}
		if !slices.Equal(table.members, members) {
			t.Errorf("%s: the table in docs/%s names %v, the schema %v (missing from the docs: %v; not in the schema: %v)",
				key, table.page, table.members, members, missing(members, table.members), missing(table.members, members))
		}
	}
	for key, table := range tables {
		if _, ok := objects[key]; !ok {
			t.Errorf("docs/%s: the table marked %s documents no object of the schemas", table.page, key)
		}
	}
}

// missing returns what want has and got lacks.
func missing(want, got []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			out = append(out, w)
		}
	}
	return out
}
