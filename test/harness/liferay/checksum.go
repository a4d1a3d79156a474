package liferay

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TableSum is a table's row count and a SHA-256 over its rows in primary-key
// order, each value written in one canonical form whichever engine holds it,
// so equal sums mean equal contents across PostgreSQL and MySQL/MariaDB.
type TableSum struct {
	Rows   int64
	SHA256 string
}

// Checksums sums every table of Tables in the database db is connected to.
func Checksums(ctx context.Context, db *sql.DB) (map[string]TableSum, error) {
	sums := make(map[string]TableSum, len(Tables))
	for _, t := range Tables {
		sum, err := checksumTable(ctx, db, t)
		if err != nil {
			return nil, err
		}
		sums[t.Name] = sum
	}
	return sums, nil
}

func checksumTable(ctx context.Context, db *sql.DB, t Table) (_ TableSum, err error) {
	rows, err := db.QueryContext(ctx, "SELECT * FROM "+t.Name+" ORDER BY "+t.OrderBy)
	if err != nil {
		return TableSum{}, fmt.Errorf("checksum %s: %w", t.Name, err)
	}
	defer func() {
		if cerr := rows.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("checksum %s: %w", t.Name, cerr)
		}
	}()
	types, err := rows.ColumnTypes()
	if err != nil {
		return TableSum{}, fmt.Errorf("checksum %s: %w", t.Name, err)
	}
	h := sha256.New()
	// The column names go in first (lower case: PostgreSQL folds unquoted names),
	// so a column missing on one engine changes the sum even in an empty table.
	for _, ct := range types {
		h.Write([]byte(strings.ToLower(ct.Name()) + "\x1f"))
	}
	values := make([]any, len(types))
	ptrs := make([]any, len(types))
	for i := range values {
		ptrs[i] = &values[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return TableSum{}, fmt.Errorf("checksum %s: %w", t.Name, err)
		}
		h.Write([]byte{'\x1e'})
		for i, ct := range types {
			v, err := canonical(values[i], ct.DatabaseTypeName())
			if err != nil {
				return TableSum{}, fmt.Errorf("checksum %s.%s: %w", t.Name, ct.Name(), err)
			}
			h.Write([]byte(v + "\x1f"))
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return TableSum{}, fmt.Errorf("checksum %s: %w", t.Name, err)
	}
	return TableSum{Rows: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// canonical writes one value the same way for both engines. The drivers hand
// back different Go types for the same column (bool or tinyint, time.Time or
// text), so the column's database type decides the form.
func canonical(v any, dbType string) (string, error) {
	if v == nil {
		return "\x00NULL", nil
	}
	text := func() string {
		switch x := v.(type) {
		case []byte:
			return string(x)
		case string:
			return x
		}
		return fmt.Sprint(v)
	}
	switch strings.ToUpper(dbType) {
	case "BOOL", "TINYINT":
		switch x := v.(type) {
		case bool:
			if x {
				return "1", nil
			}
			return "0", nil
		}
		i, err := strconv.ParseInt(text(), 10, 64)
		if err != nil {
			return "", err
		}
		if i != 0 {
			return "1", nil
		}
		return "0", nil
	case "TIMESTAMP", "DATETIME":
		if x, ok := v.(time.Time); ok {
			return x.Format(timestampLayout), nil
		}
		t, err := time.Parse("2006-01-02 15:04:05.999999", text())
		if err != nil {
			return "", err
		}
		return t.Format(timestampLayout), nil
	case "FLOAT8", "DOUBLE":
		if x, ok := v.(float64); ok {
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
		f, err := strconv.ParseFloat(text(), 64)
		if err != nil {
			return "", err
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	case "INT8", "INT4", "BIGINT", "INT", "INTEGER":
		if x, ok := v.(int64); ok {
			return strconv.FormatInt(x, 10), nil
		}
		i, err := strconv.ParseInt(text(), 10, 64)
		if err != nil {
			return "", err
		}
		return strconv.FormatInt(i, 10), nil
	}
	return text(), nil
}
