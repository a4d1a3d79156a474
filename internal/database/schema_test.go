package database

import (
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite schema.sql from the migrations")

func TestSchemaFileMatchesMigrations(t *testing.T) {
	want, err := SchemaSQL()
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
