// Package liferay gives tests a database shaped like Liferay's, on PostgreSQL or
// MySQL/MariaDB: the document-library tables (DLFolder, DLFileEntry, DLFileVersion)
// with Company, Group_ and Release_, under Liferay's real table and column names
// and types, plus bulk tables (AssetEntry, JournalArticle, JournalArticleLocalization)
// to reach a chosen size. Seed fills it deterministically and returns the
// document-library store key of every file version, so dump, restore and drill
// tests can check a database against a bucket.
package liferay

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"strings"
)

// Engine is the database engine a schema and seed are written for.
type Engine string

const (
	// PostgreSQL is PostgreSQL (driver "postgres", github.com/lib/pq).
	PostgreSQL Engine = "postgres"
	// MySQL is MySQL or MariaDB (driver "mysql", github.com/go-sql-driver/mysql).
	MySQL Engine = "mysql"
)

var (
	//go:embed schema_postgres.sql
	schemaPostgres string
	//go:embed schema_mysql.sql
	schemaMySQL string
)

// Table is one table of the schema and the columns that order its rows.
type Table struct {
	Name    string
	OrderBy string // the primary key: numeric columns, so both engines order alike
}

// Tables lists every table of the schema, in creation order.
var Tables = []Table{
	{"Company", "companyId"},
	{"Group_", "groupId, ctCollectionId"},
	{"Release_", "releaseId"},
	{"DLFolder", "folderId, ctCollectionId"},
	{"DLFileEntry", "fileEntryId, ctCollectionId"},
	{"DLFileVersion", "fileVersionId, ctCollectionId"},
	{"AssetEntry", "entryId, ctCollectionId"},
	{"JournalArticle", "id_, ctCollectionId"},
	{"JournalArticleLocalization", "articleLocalizationId, ctCollectionId"},
}

// Schema returns the DDL for engine.
func Schema(engine Engine) (string, error) {
	switch engine {
	case PostgreSQL:
		return schemaPostgres, nil
	case MySQL:
		return schemaMySQL, nil
	}
	return "", fmt.Errorf("unknown engine %q", engine)
}

// CreateSchema creates the tables and indexes in the database db is connected to.
func CreateSchema(ctx context.Context, db *sql.DB, engine Engine) error {
	ddl, err := Schema(engine)
	if err != nil {
		return err
	}
	for _, stmt := range statements(ddl) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create liferay schema: %w\n%s", err, stmt)
		}
	}
	return nil
}

// statements splits a schema file into statements, dropping "--" comment lines,
// so no driver needs multi-statement support.
func statements(ddl string) []string {
	var kept []string
	for _, line := range strings.Split(ddl, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			kept = append(kept, line)
		}
	}
	var out []string
	for _, s := range strings.Split(strings.Join(kept, "\n"), ";") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
