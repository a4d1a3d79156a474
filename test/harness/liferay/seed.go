package liferay

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Counts sizes a seeded database.
type Counts struct {
	Companies        int
	GroupsPerCompany int
	// FoldersPerGroup folders are made in each group; every second one is a
	// child of the one before it, so nesting is exercised.
	FoldersPerGroup int
	// FilesPerFolder files go into each folder and into each group's root
	// (folderId 0, whose store keys use the groupId).
	FilesPerFolder  int
	VersionsPerFile int
	// BulkRows journal articles, each with a JournalArticleLocalization whose
	// description holds BulkRowBytes bytes of text, and an AssetEntry: these
	// make the database's size.
	BulkRows     int
	BulkRowBytes int
	// MaxFileSize bounds DLFileVersion.size_ (1..MaxFileSize; 0 means 64 KiB).
	MaxFileSize int64
}

// StoredFile is one document-library object a seeded database refers to.
type StoredFile struct {
	FileVersionID int64
	Key           string // Liferay's S3 store key (StoreKey)
	Size          int64  // DLFileVersion.size_
}

// Result is what Seed wrote.
type Result struct {
	// Files has one entry per DLFileVersion row, in fileVersionId order.
	Files []StoredFile
	// Rows is the number of rows written per table.
	Rows map[string]int64
}

// Release_ rows: shaped like a 7.4 portal and two of its modules, not a real build.
var releases = []struct {
	servletContextName, schemaVersion string
	buildNumber                       int
}{
	{"portal", "29.2.1", 7413},
	{"com.liferay.document.library.service", "3.4.2", 0},
	{"com.liferay.journal.service", "5.3.0", 0},
}

// Words for titles and bulk text; a few non-ASCII ones check that dumps and
// restores keep UTF-8 intact.
var words = strings.Fields(`report budget minutes policy contract invoice summary draft plan review
	agenda roadmap release notes design spec audit memo handbook guide relatório Überblick
	文件 ملف résumé naïve façade`)

const (
	idBase          = 20100 // Liferay's counter hands out ids from about here on a fresh portal
	statusApproved  = 0
	statusDraft     = 2
	defaultMaxFile  = 64 << 10
	batchMaxBytes   = 4 << 20
	batchMaxRows    = 500
	placeholderCap  = 60000 // both servers allow 65,535 parameters per statement
	timestampLayout = "2006-01-02 15:04:05.000000"
)

// Seed creates the schema in db and fills it from seed and counts. The same seed
// and counts give the same rows on either engine; ids come from a counter, so
// they depend on counts only and seed picks names, sizes, dates, store UUIDs and text.
func Seed(ctx context.Context, db *sql.DB, engine Engine, seed uint64, counts Counts) (*Result, error) {
	if err := CreateSchema(ctx, db, engine); err != nil {
		return nil, err
	}
	if counts.MaxFileSize <= 0 {
		counts.MaxFileSize = defaultMaxFile
	}
	s := &seeder{ctx: ctx, db: db, engine: engine, counts: counts,
		rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), nextID: idBase,
		rows: map[string]int64{}, base: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := s.run(); err != nil {
		return nil, err
	}
	return &Result{Files: s.files, Rows: s.rows}, nil
}

type seeder struct {
	ctx    context.Context
	db     *sql.DB
	engine Engine
	counts Counts
	rnd    *rand.Rand
	base   time.Time

	nextID   int64
	nextName int64 // the DLFileEntry counter: file entry names
	rows     map[string]int64
	files    []StoredFile
	pool     string // bulk text to slice rows from
}

type group struct{ companyID, groupID int64 }

func (s *seeder) id() int64 { s.nextID++; return s.nextID }

// date is a deterministic timestamp with microseconds, which both engines keep.
func (s *seeder) date() string {
	d := time.Duration(s.rnd.Int64N(int64(2*365*24*time.Hour/time.Microsecond))) * time.Microsecond
	return s.base.Add(d).Format(timestampLayout)
}

func (s *seeder) title() string {
	n := 1 + s.rnd.IntN(3)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = words[s.rnd.IntN(len(words))]
	}
	return strings.Join(parts, " ")
}

func (s *seeder) uuid() string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(s.rnd.UintN(256))
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *seeder) run() error {
	classNameDLFileEntry, classNameJournalArticle := s.id(), s.id()
	if err := s.seedReleases(); err != nil {
		return err
	}
	var groups []group
	companies := s.batch("Company", "companyId", "userId", "userName", "createDate", "modifiedDate",
		"webId", "mx", "homeURL", "maxUsers", "active_", "name", "indexNameCurrent")
	for c := range s.counts.Companies {
		companyID := s.id()
		webID := "liferay.com"
		if c > 0 {
			webID = fmt.Sprintf("company%d.example.com", c+1)
		}
		if err := companies.add(companyID, 0, "", s.date(), s.date(), webID, webID, "", 0, true,
			fmt.Sprintf("Company %d", c+1), "liferay-"+strconv.FormatInt(companyID, 10)); err != nil {
			return err
		}
		for range s.counts.GroupsPerCompany {
			groups = append(groups, group{companyID, s.id()})
		}
	}
	if err := companies.flush(); err != nil {
		return err
	}
	if err := s.seedGroups(groups); err != nil {
		return err
	}
	if err := s.seedDocumentLibrary(groups, classNameDLFileEntry); err != nil {
		return err
	}
	return s.seedBulk(groups, classNameJournalArticle)
}

func (s *seeder) seedReleases() error {
	b := s.batch("Release_", "releaseId", "createDate", "modifiedDate", "servletContextName",
		"schemaVersion", "buildNumber", "buildDate", "verified", "state_", "testString")
	for _, r := range releases {
		if err := b.add(s.id(), s.date(), s.date(), r.servletContextName, r.schemaVersion,
			r.buildNumber, s.date(), true, 0, "You take the blue pill, the story ends."); err != nil {
			return err
		}
	}
	return b.flush()
}

func (s *seeder) seedGroups(groups []group) error {
	b := s.batch("Group_", "uuid_", "groupId", "companyId", "creatorUserId", "modifiedDate",
		"parentGroupId", "liveGroupId", "treePath", "groupKey", "name", "type_", "typeSettings",
		"manualMembership", "membershipRestriction", "friendlyURL", "site",
		"remoteStagingGroupCount", "inheritContent", "active_")
	for i, g := range groups {
		key := fmt.Sprintf("Site %d", i+1)
		name := `<?xml version='1.0' encoding='UTF-8'?><root available-locales="en_US" default-locale="en_US"><Name language-id="en_US">` +
			key + `</Name></root>`
		if err := b.add(s.uuid(), g.groupID, g.companyID, 0, s.date(), 0, 0,
			"/"+strconv.FormatInt(g.groupID, 10)+"/", key, name, 1, "", true, 0,
			fmt.Sprintf("/site-%d", i+1), true, 0, false, true); err != nil {
			return err
		}
	}
	return b.flush()
}

func (s *seeder) seedDocumentLibrary(groups []group, classNameDLFileEntry int64) error {
	folders := s.batch("DLFolder", "uuid_", "folderId", "groupId", "companyId", "userId", "userName",
		"createDate", "modifiedDate", "repositoryId", "mountPoint", "parentFolderId", "treePath", "name",
		"description", "lastPostDate", "defaultFileEntryTypeId", "hidden_", "restrictionType", "status",
		"statusByUserId", "statusByUserName", "statusDate")
	entries := s.batch("DLFileEntry", "uuid_", "fileEntryId", "groupId", "companyId", "userId", "userName",
		"createDate", "modifiedDate", "classNameId", "classPK", "repositoryId", "folderId", "treePath", "name",
		"fileName", "extension", "mimeType", "title", "description", "extraSettings", "fileEntryTypeId",
		"version", "size_", "smallImageId", "largeImageId", "custom1ImageId", "custom2ImageId",
		"manualCheckInRequired")
	versions := s.batch("DLFileVersion", "uuid_", "fileVersionId", "groupId", "companyId", "userId",
		"userName", "createDate", "modifiedDate", "repositoryId", "folderId", "fileEntryId", "treePath",
		"fileName", "extension", "mimeType", "title", "description", "changeLog", "extraSettings",
		"fileEntryTypeId", "version", "size_", "checksum", "storeUUID", "status", "statusByUserId",
		"statusByUserName", "statusDate")
	assets := s.assetBatch()
	fileCount := 0
	for _, g := range groups {
		type folder struct {
			id       int64
			treePath string
		}
		containers := []folder{{0, "/"}} // the group's root first
		parent := folder{0, "/"}
		for f := range s.counts.FoldersPerGroup {
			if f%2 == 0 {
				parent = folder{0, "/"}
			}
			id := s.id()
			treePath := parent.treePath + strconv.FormatInt(id, 10) + "/"
			if err := folders.add(s.uuid(), id, g.groupID, g.companyID, 0, "", s.date(), s.date(), g.groupID,
				false, parent.id, treePath, s.title(), "", s.date(), 0, false, 0, statusApproved, 0, "",
				s.date()); err != nil {
				return err
			}
			containers = append(containers, folder{id, treePath})
			parent = folder{id, treePath}
		}
		for _, f := range containers {
			for range s.counts.FilesPerFolder {
				fileCount++
				entryID := s.id()
				s.nextName++
				name := strconv.FormatInt(s.nextName, 10)
				title := s.title()
				ext := []string{"pdf", "docx", "png", "txt"}[s.rnd.IntN(4)]
				mime := map[string]string{"pdf": "application/pdf", "png": "image/png", "txt": "text/plain",
					"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}[ext]
				fileName := title + "." + ext
				var version string
				var size int64
				for v := range s.counts.VersionsPerFile {
					versionID := s.id()
					version = fmt.Sprintf("1.%d", v)
					size = 1 + s.rnd.Int64N(s.counts.MaxFileSize)
					var storeUUID *string
					if s.rnd.IntN(4) == 0 {
						u := s.uuid()
						storeUUID = &u
					}
					status := statusApproved
					if v == s.counts.VersionsPerFile-1 && fileCount%5 == 0 {
						status = statusDraft
					}
					if err := versions.add(s.uuid(), versionID, g.groupID, g.companyID, 0, "", s.date(), s.date(),
						g.groupID, f.id, entryID, f.treePath, fileName, ext, mime, title, "", "", "", 0,
						version, size, "", storeUUID, status, 0, "", s.date()); err != nil {
						return err
					}
					s.files = append(s.files, StoredFile{versionID,
						StoreKey(g.companyID, g.groupID, f.id, name, version, storeUUID), size})
				}
				if err := entries.add(s.uuid(), entryID, g.groupID, g.companyID, 0, "", s.date(), s.date(), 0, 0,
					g.groupID, f.id, f.treePath, name, fileName, ext, mime, title, "", "", 0, version, size,
					0, 0, 0, 0, false); err != nil {
					return err
				}
				if err := assets.add(s.id(), g.groupID, g.companyID, 0, "", s.date(), s.date(),
					classNameDLFileEntry, entryID, "", 0, true, true, mime, title, "", "", "", 0, 0, 0.0); err != nil {
					return err
				}
			}
		}
	}
	for _, b := range []*batch{folders, versions, entries, assets} {
		if err := b.flush(); err != nil {
			return err
		}
	}
	return nil
}

func (s *seeder) assetBatch() *batch {
	return s.batch("AssetEntry", "entryId", "groupId", "companyId", "userId", "userName", "createDate",
		"modifiedDate", "classNameId", "classPK", "classUuid", "classTypeId", "listable", "visible",
		"mimeType", "title", "description", "summary", "url", "height", "width", "priority")
}

func (s *seeder) seedBulk(groups []group, classNameJournalArticle int64) error {
	if s.counts.BulkRows == 0 || len(groups) == 0 {
		return nil
	}
	articles := s.batch("JournalArticle", "uuid_", "id_", "resourcePrimKey", "groupId", "companyId",
		"userId", "userName", "createDate", "modifiedDate", "externalReferenceCode", "folderId",
		"classNameId", "classPK", "treePath", "articleId", "version", "urlTitle", "DDMStructureId",
		"DDMTemplateKey", "defaultLanguageId", "displayDate", "indexable", "smallImage", "smallImageId",
		"smallImageSource", "status", "statusByUserId", "statusByUserName", "statusDate")
	localizations := s.batch("JournalArticleLocalization", "articleLocalizationId", "companyId",
		"articlePK", "title", "description", "languageId")
	assets := s.assetBatch()
	s.pool = s.textPool()
	for i := range s.counts.BulkRows {
		g := groups[i%len(groups)]
		articleID, resourcePrimKey := s.id(), s.id()
		title := s.title()
		if err := articles.add(s.uuid(), articleID, resourcePrimKey, g.groupID, g.companyID, 0, "",
			s.date(), s.date(), strconv.FormatInt(resourcePrimKey, 10), 0, 0, 0, "/",
			strconv.FormatInt(resourcePrimKey, 10), 1.0+float64(s.rnd.IntN(5))/10,
			fmt.Sprintf("article-%d", resourcePrimKey), 0, "BASIC-WEB-CONTENT", "en_US", s.date(), true,
			false, 0, 0, statusApproved, 0, "", s.date()); err != nil {
			return err
		}
		if err := localizations.add(s.id(), g.companyID, articleID, title, s.bulkText(), "en_US"); err != nil {
			return err
		}
		if err := assets.add(s.id(), g.groupID, g.companyID, 0, "", s.date(), s.date(), classNameJournalArticle,
			resourcePrimKey, "", 0, true, true, "text/html", title, "", "", "", 0, 0,
			float64(s.rnd.IntN(100))/4); err != nil {
			return err
		}
	}
	for _, b := range []*batch{articles, localizations, assets} {
		if err := b.flush(); err != nil {
			return err
		}
	}
	return nil
}

// textPool is a few MiB of word text; bulk rows are slices of it at random
// offsets, which is fast at gigabyte sizes and still compresses like text.
func (s *seeder) textPool() string {
	size := min(4<<20, 2*s.counts.BulkRowBytes+1<<16)
	var b strings.Builder
	for b.Len() < size {
		w := words[s.rnd.IntN(len(words))]
		if !isASCII(w) {
			w = "lorem" // bulk text is ASCII so BulkRowBytes is exact in bytes
		}
		b.WriteString(w)
		b.WriteByte(' ')
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (s *seeder) bulkText() string {
	n := s.counts.BulkRowBytes
	if n <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(n)
	for b.Len() < n {
		off := s.rnd.IntN(len(s.pool))
		b.WriteString(s.pool[off:min(len(s.pool), off+n-b.Len())])
	}
	return b.String()
}

// batch inserts rows into one table with multi-row INSERTs, flushed by row
// count, parameter count and bytes so no server limit is reached.
type batch struct {
	s       *seeder
	table   string
	columns []string
	args    []any
	rows    int
	bytes   int
}

func (s *seeder) batch(table string, columns ...string) *batch {
	return &batch{s: s, table: table, columns: columns}
}

func (b *batch) add(values ...any) error {
	if len(values) != len(b.columns) {
		return fmt.Errorf("seed %s: %d values for %d columns", b.table, len(values), len(b.columns))
	}
	for _, v := range values {
		if str, ok := v.(string); ok {
			b.bytes += len(str)
		}
	}
	b.args = append(b.args, values...)
	b.rows++
	b.s.rows[b.table]++
	if b.rows >= batchMaxRows || len(b.args)+len(b.columns) > placeholderCap || b.bytes >= batchMaxBytes {
		return b.flush()
	}
	return nil
}

func (b *batch) flush() error {
	if b.rows == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("INSERT INTO " + b.table + " (" + strings.Join(b.columns, ", ") + ") VALUES ")
	n := 0
	for r := range b.rows {
		if r > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for c := range b.columns {
			if c > 0 {
				q.WriteString(", ")
			}
			n++
			if b.s.engine == PostgreSQL {
				q.WriteString("$" + strconv.Itoa(n))
			} else {
				q.WriteByte('?')
			}
		}
		q.WriteByte(')')
	}
	if _, err := b.s.db.ExecContext(b.s.ctx, q.String(), b.args...); err != nil {
		return fmt.Errorf("seed %s: %w", b.table, err)
	}
	b.args, b.rows, b.bytes = b.args[:0], 0, 0
	return nil
}
