package database

import (
	"fmt"
	"strings"
)

// SchemaSQL returns the whole schema as the migrations build it, the content of
// schema.sql. schema.sql is generated from migrations/ (go test -run
// TestSchemaFile -update) and a test fails when it drifts; never edit it by hand.
func SchemaSQL() (string, error) {
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
