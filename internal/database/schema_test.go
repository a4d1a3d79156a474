package database

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite schema.sql from the migrations")

// schemaSQL returns the whole schema as the migrations build it, the content of
// schema.sql. schema.sql is generated from migrations/ (go test -run
// TestSchemaFile -update) and TestSchemaFileMatchesMigrations fails when it
// drifts; never edit it by hand.
func schemaSQL() (string, error) {
	migs, err := Migrations()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("-- Backup-history schema: the embedded migrations of internal/database/migrations\n")
	b.WriteString("-- concatenated, for reading. GENERATED: edit a migration (add a new one, never edit a\n")
	b.WriteString("-- released one), then: go test ./internal/database -run TestSchemaFile -update\n")
	b.WriteString("-- The controller records applied versions in schema_migrations.\n")
	for _, m := range migs {
		fmt.Fprintf(&b, "\n-- ===== migration %04d: %s =====\n\n", m.Version, m.Name)
		b.WriteString(strings.TrimSpace(m.SQL))
		b.WriteString("\n")
	}
	return b.String(), nil
}

func TestSchemaFileMatchesMigrations(t *testing.T) {
	want, err := schemaSQL()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("schema.sql", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatal("schema.sql differs from migrations/: run go test ./internal/database -run TestSchemaFile -update")
	}
}
