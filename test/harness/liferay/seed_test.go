package liferay_test

import (
	"context"
	"database/sql"
	"maps"
	"reflect"
	"testing"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/lib/pq"

	"github.com/liferay/lc2-backup-controller/test/harness"
	"github.com/liferay/lc2-backup-controller/test/harness/liferay"
)

var smallCounts = liferay.Counts{
	Companies: 2, GroupsPerCompany: 2, FoldersPerGroup: 3, FilesPerFolder: 2, VersionsPerFile: 3,
	BulkRows: 25, BulkRowBytes: 3000, MaxFileSize: 100000,
}

// The row counts smallCounts must give: 4 groups, each with 3 folders plus its
// root holding 2 files of 3 versions; one AssetEntry per file and per article.
var wantRows = map[string]int64{
	"Company": 2, "Group_": 4, "Release_": 3, "DLFolder": 12, "DLFileEntry": 32, "DLFileVersion": 96,
	"AssetEntry": 32 + 25, "JournalArticle": 25, "JournalArticleLocalization": 25,
}

func TestSeedGivesTheSameLiferayDatabaseOnPostgreSQLAndMariaDB(t *testing.T) {
	ctx := context.Background()
	pg, err := harness.StartPostgres(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	maria, err := harness.StartMariaDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer maria.Stop()

	pgURL, err := pg.NewDatabase(ctx, "liferay")
	if err != nil {
		t.Fatal(err)
	}
	mariaDSN, err := maria.NewDatabase(ctx, "liferay")
	if err != nil {
		t.Fatal(err)
	}
	pgDB := open(t, "postgres", pgURL)
	mariaDB := open(t, "mysql", mariaDSN)

	const seed = 42
	pgResult, err := liferay.Seed(ctx, pgDB, liferay.PostgreSQL, seed, smallCounts)
	if err != nil {
		t.Fatal(err)
	}
	mariaResult, err := liferay.Seed(ctx, mariaDB, liferay.MySQL, seed, smallCounts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pgResult, mariaResult) {
		t.Fatal("the same seed and counts gave different results on the two engines")
	}
	if !maps.Equal(pgResult.Rows, wantRows) {
		t.Fatalf("rows written = %v, want %v", pgResult.Rows, wantRows)
	}
	if len(pgResult.Files) != int(wantRows["DLFileVersion"]) {
		t.Fatalf("%d stored files, want one per DLFileVersion (%d)", len(pgResult.Files), wantRows["DLFileVersion"])
	}

	t.Run("known keys", func(t *testing.T) {
		// Ids come from the counter, so they depend on the counts only; the store
		// UUIDs and sizes come from the seed. Company 20106's first site is 20107:
		// its root holds the first files, whose keys use the groupId; folder 20113
		// is nested in 20112, and its files' keys use 20113.
		byID := map[int64]liferay.StoredFile{}
		for _, f := range pgResult.Files {
			byID[f.FileVersionID] = f
		}
		for id, want := range knownFiles {
			if got := byID[id]; got != want {
				t.Errorf("file version %d = %+v, want %+v", id, got, want)
			}
		}
	})

	for engine, db := range map[liferay.Engine]*sql.DB{liferay.PostgreSQL: pgDB, liferay.MySQL: mariaDB} {
		t.Run(string(engine)+" keys match the rows", func(t *testing.T) {
			got := keysFromRows(t, db, engine)
			want := map[string]int64{}
			for _, f := range pgResult.Files {
				want[f.Key] = f.Size
			}
			if !maps.Equal(got, want) {
				t.Fatalf("keys derived in SQL differ from the seeder's: %d vs %d keys", len(got), len(want))
			}
		})
	}

	t.Run("identical contents", func(t *testing.T) {
		pgSums, err := liferay.Checksums(ctx, pgDB)
		if err != nil {
			t.Fatal(err)
		}
		mariaSums, err := liferay.Checksums(ctx, mariaDB)
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range liferay.Tables {
			p, m := pgSums[table.Name], mariaSums[table.Name]
			if p.Rows != wantRows[table.Name] || m.Rows != wantRows[table.Name] {
				t.Errorf("%s: %d rows on postgres, %d on mariadb, want %d", table.Name, p.Rows, m.Rows, wantRows[table.Name])
			}
			if p.SHA256 != m.SHA256 {
				t.Errorf("%s: checksum %s on postgres, %s on mariadb", table.Name, p.SHA256, m.SHA256)
			}
		}

		// The sum sees a one-character change in one row, and only in that table.
		if _, err := mariaDB.ExecContext(ctx, `UPDATE DLFileVersion SET title = CONCAT(title, 'x') WHERE fileVersionId = 20116`); err != nil {
			t.Fatal(err)
		}
		changed, err := liferay.Checksums(ctx, mariaDB)
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range liferay.Tables {
			same := changed[table.Name] == mariaSums[table.Name]
			if same == (table.Name == "DLFileVersion") {
				t.Errorf("%s: after changing one DLFileVersion row, checksum unchanged=%v", table.Name, same)
			}
		}
	})

	t.Run("another seed gives other contents", func(t *testing.T) {
		otherURL, err := pg.NewDatabase(ctx, "liferay_other")
		if err != nil {
			t.Fatal(err)
		}
		other := open(t, "postgres", otherURL)
		otherResult, err := liferay.Seed(ctx, other, liferay.PostgreSQL, seed+1, smallCounts)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(otherResult.Rows, wantRows) {
			t.Fatalf("rows written = %v, want %v", otherResult.Rows, wantRows)
		}
		if reflect.DeepEqual(otherResult.Files, pgResult.Files) {
			t.Fatal("seeds 42 and 43 gave the same files")
		}
	})
}

// keysFromRows derives every file version's store key and size in SQL, the way
// a restore drill would from a restored database, independently of the seeder
// and of StoreKey (names here have no slashes to normalize).
func keysFromRows(t *testing.T, db *sql.DB, engine liferay.Engine) map[string]int64 {
	t.Helper()
	key := `v.companyId || '/' || CASE WHEN e.folderId <> 0 THEN e.folderId ELSE e.groupId END || '/' || e.name
		|| '/' || v.version || CASE WHEN coalesce(v.storeUUID, '') <> '' THEN '~' || v.storeUUID ELSE '' END`
	if engine == liferay.MySQL {
		key = `CONCAT(v.companyId, '/', IF(e.folderId <> 0, e.folderId, e.groupId), '/', e.name,
			'/', v.version, IF(COALESCE(v.storeUUID, '') <> '', CONCAT('~', v.storeUUID), ''))`
	}
	rows, err := db.Query(`SELECT ` + key + `, v.size_ FROM DLFileVersion v JOIN DLFileEntry e ON e.fileEntryId = v.fileEntryId`)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	keys := map[string]int64{}
	for rows.Next() {
		var key string
		var size int64
		if err := rows.Scan(&key, &size); err != nil {
			t.Fatal(err)
		}
		keys[key] = size
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

func open(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close %s: %v", driver, err)
		}
	})
	return db
}

// knownFiles are a few file versions of seed 42 with smallCounts, kept to
// catch a change in the seeder's output (ids, names, keys or sizes).
var knownFiles = map[int64]liferay.StoredFile{
	20116: {FileVersionID: 20116, Key: "20106/20107/1/1.0", Size: 92320},
	20126: {FileVersionID: 20126, Key: "20106/20112/3/1.0", Size: 31937},
	20136: {FileVersionID: 20136, Key: "20106/20113/5/1.0~d492f57f-745e-4500-8a41-a318a8f47c1d", Size: 60989},
	20153: {FileVersionID: 20153, Key: "20106/20114/8/1.2~7f375abe-e770-427a-951d-ca2b273bcfaf", Size: 562},
}
