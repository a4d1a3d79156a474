package schemas_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/liferay/lc2-backup-controller/api/schemas"
	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
	"github.com/liferay/lc2-backup-controller/internal/repolock"
	"github.com/liferay/lc2-backup-controller/internal/repository"
)

var at = time.Date(2026, 11, 9, 14, 30, 0, 0, time.UTC)

// schemaDoc is a schema file decoded generically.
func schemaDoc(t *testing.T, n schemas.Name) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(schemas.Source(n), &doc); err != nil {
		t.Fatalf("%s: %v", n, err)
	}
	return doc
}

// TestEveryObjectRefusesUnknownMembers holds the schemas to their promise: every
// object with named members has additionalProperties false, at any depth.
func TestEveryObjectRefusesUnknownMembers(t *testing.T) {
	objects := schemaObjects(t)
	if len(objects) < len(schemas.All) {
		t.Fatalf("%d objects in %d schemas", len(objects), len(schemas.All))
	}
	for key, node := range objects {
		if node["additionalProperties"] != false {
			t.Errorf("%s names its members without additionalProperties false", key)
		}
	}
	for _, n := range schemas.All {
		if err := schemas.Validate(n, []byte(`{}`)); err == nil {
			t.Errorf("%s accepts an empty object", n)
		}
	}
}

// sealed returns m sealed and written as the controller writes it.
func sealed(t *testing.T, m *manifest.Manifest, f manifest.Format) []byte {
	t.Helper()
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	data, err := m.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.Verify(data); err != nil {
		t.Fatal(err)
	}
	return data
}

func documentLibrary(mutate func(*manifest.DocumentLibraryInfo)) *manifest.DocumentLibraryInfo {
	dl := &manifest.DocumentLibraryInfo{
		SourceBucket: "retail-prd-dl", SourcePrefix: "document_library/",
		DestinationBucket: "liferay-backups", DestinationPrefix: "retail/prd/b1/", Consistency: "Live",
	}
	dl.SetFiles([]manifest.File{{Key: "retail/prd/b1/data/10/a.pdf", Size: 10, ETag: "e1"}, {Key: "retail/prd/b1/data/10/../b", Size: 0, ETag: "e2"}})
	dl.Inventory = &manifest.InventoryInfo{Format: manifest.InventoryFormat, ObjectCount: 2, TotalSizeBytes: 10, Parts: []manifest.InventoryPart{
		{Key: layout.PartKey(layout.RunID(at), 0), SHA256: inventory.Checksum([]byte("part")), ObjectCount: 2, SizeBytes: 10}}}
	if mutate != nil {
		mutate(dl)
	}
	return dl
}

// manifestVariants are manifests as the Go writer produces them, one per kind of
// backup the controller takes.
func manifestVariants(t *testing.T) map[string][]byte {
	t.Helper()
	pit := at.Add(-time.Minute + 123456789*time.Nanosecond)
	out := map[string][]byte{}
	add := func(name string, f manifest.Format, mutate func(*manifest.Manifest)) {
		m := manifest.New("retail", "prd", "proj-retail-prd-b1-uid", at)
		mutate(m)
		out[name] = sealed(t, m, f)
	}
	db := func() *manifest.DatabaseInfo {
		return &manifest.DatabaseInfo{SnapshotID: "lc2-retail-prd-b1", SnapshotARN: "arn:aws:rds:us-east-1:1:snapshot:lc2-retail-prd-b1",
			InstanceID: "retail-prd-db", SizeBytes: 20 << 30, Engine: "postgres", EngineVersion: "16.4"}
	}
	add("full, live", manifest.Pretty, func(m *manifest.Manifest) {
		m.Database, m.DocumentLibrary = db(), documentLibrary(nil)
	})
	add("full, point in time, compact", manifest.Compact, func(m *manifest.Manifest) {
		m.Database = db()
		m.DocumentLibrary = documentLibrary(func(dl *manifest.DocumentLibraryInfo) { dl.Consistency, dl.PointInTime = "PointInTime", &pit })
	})
	add("incremental, point in time", manifest.Pretty, func(m *manifest.Manifest) {
		m.DocumentLibrary = documentLibrary(func(dl *manifest.DocumentLibraryInfo) {
			dl.Mode, dl.RepositoryPrefix = manifest.ModeIncremental, repository.Prefix("retail", "prd")
			dl.ObjectsCopied, dl.ObjectsReferenced = 1, 1
			dl.Consistency, dl.PointInTime = "PointInTime", &pit
		})
	})
	add("incremental, nothing new", manifest.Pretty, func(m *manifest.Manifest) {
		m.DocumentLibrary = documentLibrary(func(dl *manifest.DocumentLibraryInfo) {
			dl.Mode, dl.RepositoryPrefix, dl.ObjectsReferenced = manifest.ModeIncremental, repository.Prefix("retail", "prd"), 2
		})
	})
	add("truncated file list", manifest.Pretty, func(m *manifest.Manifest) {
		m.DocumentLibrary = documentLibrary(func(dl *manifest.DocumentLibraryInfo) {
			files := make([]manifest.File, manifest.MaxFiles+1)
			for i := range files {
				files[i] = manifest.File{Key: fmt.Sprintf("k%d", i), ETag: "e"}
			}
			dl.SetFiles(files)
			dl.Inventory.ObjectCount, dl.Inventory.TotalSizeBytes = dl.ObjectCount, 0
			dl.Inventory.Parts[0].ObjectCount, dl.Inventory.Parts[0].SizeBytes = dl.ObjectCount, 0
		})
	})
	add("database only", manifest.Pretty, func(m *manifest.Manifest) { m.Database = db() })
	add("database only, with source instance", manifest.Pretty, func(m *manifest.Manifest) {
		m.Database = db()
		m.Database.SourceInstance = &manifest.InstanceSettings{InstanceClass: "db.m6g.large", StorageType: "gp3", AllocatedStorageGiB: 400,
			Iops: 12000, ParameterGroup: "pg", OptionGroup: "og", SubnetGroup: "sg", SecurityGroupIDs: []string{"sg-1", "sg-2"}, Port: 5432,
			MultiAZ: true, PubliclyAccessible: true, Tags: map[string]string{"backup.liferay.cloud/project-id": "retail", "": ""}}
	})
	for _, name := range []string{"example-manifest.json", "v1.0-sealed.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "internal", "manifest", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := manifest.Verify(data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out["testdata "+name] = data
	}
	return out
}

func TestManifestsTheWriterProducesMatchTheSchema(t *testing.T) {
	for name, data := range manifestVariants(t) {
		if err := schemas.Validate(schemas.Manifest, data); err != nil {
			t.Errorf("%s: %v\n%s", name, err, data)
		}
	}
}

// TestManifestSchemaRefusesWhatReadersRefuse: the rules beyond member names.
func TestManifestSchemaRefusesWhatReadersRefuse(t *testing.T) {
	valid := manifestVariants(t)["incremental, point in time"]
	for _, c := range []struct{ name, from, to string }{
		{"another version", `"version": "1.1"`, `"version": "1.2"`},
		{"a member spelled in another case", `"projectId"`, `"ProjectId"`},
		{"a negative count", `"objectsCopied": 1`, `"objectsCopied": -1`},
		{"an integer beyond 2^53-1", `"objectsCopied": 1`, `"objectsCopied": 9007199254740992`},
		{"a fraction", `"objectsCopied": 1`, `"objectsCopied": 1.5`},
		{"another mode", `"mode": "Incremental"`, `"mode": "Differential"`},
		{"another consistency", `"consistency": "PointInTime"`, `"consistency": "Eventual"`},
		{"a time that is not RFC 3339", `"timestamp": "2026-11-09T14:30:00Z"`, `"timestamp": "9 Nov 2026"`},
		{"an incremental backup without its repository", `"repositoryPrefix": "retail/.repository/prd/",`, ``},
		{"a point in time without its time", `"pointInTime": "2026-11-09T14:29:00.123456789Z"`, `"pointInTime": null`},
		{"another inventory format", `"format": "jsonl+gzip"`, `"format": "csv"`},
		{"a bad part checksum", `"sha256": "sha256:`, `"sha256": "md5:`},
		{"no checksum", `"checksum": "sha256:`, `"notchecksum": "sha256:`},
		{"trailing data", "", "{}"},
	} {
		bad := string(valid) + c.to
		if c.from != "" {
			bad = strings.Replace(string(valid), c.from, c.to, 1)
		}
		if bad == string(valid) {
			t.Fatalf("%s: %q is not in the manifest:\n%s", c.name, c.from, valid)
		}
		if err := schemas.Validate(schemas.Manifest, []byte(bad)); err == nil {
			t.Errorf("%s: accepted\n%s", c.name, bad)
		}
	}
	for _, c := range []struct {
		name, object, member string
		value                any
	}{
		{"an inventory in a 1.0 manifest", "documentLibrary", "inventory",
			map[string]any{"format": "jsonl+gzip", "objectCount": 2, "totalSizeBytes": 3072, "parts": []any{}}},
		{"a source instance in a 1.0 manifest", "database", "sourceInstance", map[string]any{"port": 5432}},
	} {
		var doc map[string]any
		if err := json.Unmarshal([]byte(valid10(t)), &doc); err != nil {
			t.Fatal(err)
		}
		doc[c.object].(map[string]any)[c.member] = c.value
		bad, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := manifest.Parse(bad); err == nil {
			t.Fatalf("%s: manifest.Parse accepts it", c.name)
		}
		if err := schemas.Validate(schemas.Manifest, bad); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

func valid10(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "internal", "manifest", "testdata", "v1.0-sealed.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// oddKeys are source keys S3 accepts that a path or a JSON encoder could mangle.
var oddKeys = []string{
	"document_library/20097/20121/../dotdot-segment.txt", "document_library/./dot", "document_library/a//b",
	"document_library/trailing/", "document_library/trailing.", "document_library/" + strings.Repeat("k", 1000),
	"document_library/caf\u00e9", "document_library/cafe\u0301", `document_library/"quoted" \ back`, "document_library/<&>\u2028\u2029",
	"document_library/ctl\u0001\u001f\t", "document_library/😀", "document_library/manifest.json", "document_library/claim.json",
}

func TestInventoryLinesTheWriterProducesMatchTheSchema(t *testing.T) {
	cloud := fake.New("liferay-backups")
	w := inventory.NewWriter(cloud, "liferay-backups", "retail/prd/b1/", layout.RunID(at), clocktesting.NewFakePassiveClock(at))
	for i, k := range oddKeys {
		e := inventory.Entry{SourceKey: k, StoredKey: "data/" + strings.TrimPrefix(k, "document_library/"), Size: int64(i), ETag: fmt.Sprintf("etag-%d", i)}
		if i%2 == 0 {
			e.SourceETag, e.SourceVersionID, e.Checksum = e.ETag, "v"+e.ETag, "sha256:"+strings.Repeat("0", 64)
		}
		w.Add(context.Background(), e)
	}
	if _, err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(cloud.Uploads()) == 0 {
		t.Fatal("no part written")
	}
	for _, up := range cloud.Uploads() {
		data := up.Data
		if err := schemas.ValidateObject(up.Key, data); err != nil {
			t.Error(err)
		}
		lines := 0
		if _, err := inventory.Read(data, func(inventory.Entry) error { lines++; return nil }); err != nil || lines != len(oddKeys) {
			t.Fatalf("read back %d lines: %v", lines, err)
		}
	}
}

func TestClaimsAndRepositoryRecordsTheWritersProduceMatchTheSchemas(t *testing.T) {
	claim, err := (&layout.Claim{Version: layout.ClaimVersion, BackupID: "proj-retail-prd-b1-uid", UID: "uid", Namespace: "proj-retail-prd",
		Name: "b1", ProjectID: "retail", Environment: "prd", ClaimedAt: at}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := schemas.ValidateObject("retail/prd/b1/claim.json", claim); err != nil {
		t.Error(err)
	}
	ref, err := (&repository.Ref{Version: repository.RefVersion, BackupID: "proj-retail-prd-b1-uid", UID: "uid", Namespace: "proj-retail-prd",
		Name: "b1", ProjectID: "retail", Environment: "prd", Prefix: "retail/prd/b1/", CreatedAt: at}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := schemas.ValidateObject(repository.Prefix("retail", "prd")+repository.RefKey("uid"), ref); err != nil {
		t.Error(err)
	}
}

// TestDumpRecordsTheDumperWritesMatchTheSchema: a succeeded and a failed record, as
// dump.Result marshals them.
func TestDumpRecordsTheDumperWritesMatchTheSchema(t *testing.T) {
	succeeded := dump.Result{Version: dump.ResultVersion, Run: "2026-12-07T13:00:00Z", State: dump.StateSucceeded, Engine: "postgres",
		ServerVersion: "15.18", Database: "lportal", Tool: "pg_dump", ToolVersion: "15.18", Format: "custom", Compression: "pg-internal",
		Bucket: "b", Key: layout.DumpKey("retail/prd/b1/", layout.DumpExtCustom), SizeBytes: 10, SHA256: strings.Repeat("ab", 32),
		EstimatedBytes: 100, PartSizeBytes: 5 << 20, StartTime: at, EndTime: at,
		Processes:     []dump.ProcessExit{{Name: "pg_dump", Args: []string{"--format=custom"}, ExitCode: 0}},
		Verification:  &dump.Verification{Method: "pg_restore -f /dev/null", StoredSizeBytes: 10, StoredSHA256: strings.Repeat("ab", 32), Passed: true, StartTime: at, EndTime: at},
		LargestTables: []dump.TableRows{{Table: "journalarticle", Rows: 3}}}
	failed := dump.Result{Version: dump.ResultVersion, State: dump.StateFailed, Reason: dump.ReasonAuthenticationFailed,
		Message: `the server refused the key "password" of Secret ns/db`, StartTime: at, EndTime: at,
		Processes: []dump.ProcessExit{{Name: "pg_dump", ExitCode: -1, Signal: "killed"}}}
	for _, r := range []dump.Result{succeeded, failed} {
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := schemas.ValidateObject(layout.DumpResultKey("retail/prd/b1/"), data); err != nil {
			t.Errorf("%s record: %v", r.State, err)
		}
	}
	unverified := succeeded
	unverified.Verification = &dump.Verification{Method: "pg_restore -f /dev/null", Passed: false}
	data, err := json.Marshal(unverified)
	if err != nil {
		t.Fatal(err)
	}
	if err := schemas.ValidateObject(layout.DumpResultKey("retail/prd/b1/"), data); err == nil {
		t.Error("a Succeeded record whose verification did not pass is accepted")
	}
}

func TestRepositoryLockHoldersMatchTheSchema(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := coordinationv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fakeclient.NewClientBuilder().WithScheme(scheme).Build()
	locks := &repolock.Locks{Reader: c, Client: c, Namespace: "lc2-system", Clock: clocktesting.NewFakePassiveClock(at)}
	ctx := context.Background()
	holders := func() string {
		var l coordinationv1.Lease
		if err := c.Get(ctx, client.ObjectKey{Namespace: "lc2-system", Name: repolock.LeaseName("b", "p/")}, &l); err != nil {
			t.Fatal(err)
		}
		return l.Annotations[repolock.HoldersAnnotation]
	}
	for _, h := range []repolock.Holder{{Namespace: "ns", Name: "a", UID: "uid-a"}, {Namespace: "ns", Name: "b", UID: "uid-b"}} {
		if ok, _, err := locks.AcquireShared(ctx, "b", "p/", h); !ok || err != nil {
			t.Fatalf("acquire: %v %v", ok, err)
		}
	}
	seen := []string{holders()}
	for _, h := range []repolock.Holder{{Namespace: "ns", Name: "a", UID: "uid-a"}, {Namespace: "ns", Name: "b", UID: "uid-b"}} {
		if err := locks.ReleaseShared(ctx, "b", "p/", h); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, holders())
	}
	for _, raw := range seen {
		if err := schemas.Validate(schemas.RepositoryLockHolders, []byte(raw)); err != nil {
			t.Errorf("%s: %v", raw, err)
		}
	}
	if err := schemas.Validate(schemas.RepositoryLockHolders, []byte(`[{"namespace":"ns","name":"a","uid":"u","since":"now"}]`)); err == nil {
		t.Error("a holder with an unknown member is accepted")
	}
}

// TestAnUnknownMemberIsRefusedAtEveryLevel adds a member to each object of a valid
// record in turn: the schema must refuse every one of them.
func TestAnUnknownMemberIsRefusedAtEveryLevel(t *testing.T) {
	records := map[schemas.Name][]byte{
		schemas.Manifest:              manifestVariants(t)["database only, with source instance"],
		schemas.Claim:                 []byte(`{"version":"1","backupId":"b","uid":"u","namespace":"n","name":"x","projectId":"p","environment":"prd","claimedAt":"2026-11-09T14:30:00Z"}`),
		schemas.InventoryEntry:        []byte(`{"sourceKey":"s","storedKey":"data/s","size":1,"etag":"e","sourceEtag":"e","sourceVersionId":"v","checksum":"sha256:00"}`),
		schemas.RepositoryRef:         []byte(`{"version":"1","backupId":"b","uid":"u","namespace":"n","name":"x","projectId":"p","environment":"prd","prefix":"p/prd/x/","createdAt":"2026-11-09T14:30:00Z"}`),
		schemas.ListingHints:          []byte(`{"version":"1","sourceBucket":"b","sourcePrefix":"dl/","source":["dl/k"],"repository":null,"index":{"uid":"u","prefix":"p/prd/x/"}}`),
		schemas.RepositoryLockHolders: []byte(`[{"namespace":"n","name":"x","uid":"u"}]`),
	}
	// The incremental manifest has the document library's members the other lacks.
	incremental := manifestVariants(t)["incremental, point in time"]
	for n, data := range records {
		docs := [][]byte{data}
		if n == schemas.Manifest {
			docs = append(docs, incremental)
		}
		for _, data := range docs {
			if err := schemas.Validate(n, data); err != nil {
				t.Fatalf("%s: the valid record is refused: %v", n, err)
			}
			var doc any
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			objects := 0
			for path, obj := range objectsOf("", doc) {
				objects++
				obj["unexpectedMember"] = 1
				bad, err := json.Marshal(doc)
				delete(obj, "unexpectedMember")
				if err != nil {
					t.Fatal(err)
				}
				err = schemas.Validate(n, bad)
				if err == nil {
					t.Errorf("%s: an unknown member at %q is accepted", n, path)
				} else if !strings.Contains(err.Error(), "unexpectedMember") {
					t.Errorf("%s: an unknown member at %q is refused without being named: %v", n, path, err)
				}
			}
			if objects == 0 {
				t.Fatalf("%s: no object", n)
			}
		}
	}
}

// objectsOf yields every JSON object in v with its JSON Pointer.
func objectsOf(path string, v any) func(yield func(string, map[string]any) bool) {
	return func(yield func(string, map[string]any) bool) {
		var walk func(string, any) bool
		walk = func(path string, v any) bool {
			switch v := v.(type) {
			case map[string]any:
				if !yield(path, v) {
					return false
				}
				for _, k := range slices.Sorted(func(yield func(string) bool) {
					for k := range v {
						if !yield(k) {
							return
						}
					}
				}) {
					if !walk(path+"/"+k, v[k]) {
						return false
					}
				}
			case []any:
				for i, e := range v {
					if !walk(fmt.Sprintf("%s/%d", path, i), e) {
						return false
					}
				}
			}
			return true
		}
		walk(path, v)
	}
}

// TestSchemasNameEveryGoField: a field added to a Go record type without the schema
// (or the other way round) fails here, before any reader refuses a record.
func TestSchemasNameEveryGoField(t *testing.T) {
	for _, c := range []struct {
		schema  schemas.Name
		pointer string
		typ     reflect.Type
	}{
		{schemas.Manifest, "", reflect.TypeFor[manifest.Manifest]()},
		{schemas.Manifest, "/properties/database", reflect.TypeFor[manifest.DatabaseInfo]()},
		{schemas.Manifest, "/properties/database/properties/sourceInstance", reflect.TypeFor[manifest.InstanceSettings]()},
		{schemas.Manifest, "/properties/documentLibrary", reflect.TypeFor[manifest.DocumentLibraryInfo]()},
		{schemas.Manifest, "/properties/documentLibrary/properties/files/items", reflect.TypeFor[manifest.File]()},
		{schemas.Manifest, "/properties/documentLibrary/properties/inventory", reflect.TypeFor[manifest.InventoryInfo]()},
		{schemas.Manifest, "/properties/documentLibrary/properties/inventory/properties/parts/items", reflect.TypeFor[manifest.InventoryPart]()},
		{schemas.Claim, "", reflect.TypeFor[layout.Claim]()},
		{schemas.InventoryEntry, "", reflect.TypeFor[inventory.Entry]()},
		{schemas.RepositoryRef, "", reflect.TypeFor[repository.Ref]()},
		{schemas.RepositoryLockHolders, "/items", reflect.TypeFor[repolock.Holder]()},
		{schemas.Manifest, "/properties/database/properties/dump", reflect.TypeFor[manifest.DumpInfo]()},
		{schemas.Manifest, "/properties/database/properties/inventory", reflect.TypeFor[manifest.InventoryInfo]()},
		{schemas.Manifest, "/properties/database/properties/inventory/properties/parts/items", reflect.TypeFor[manifest.InventoryPart]()},
		{schemas.DumpResult, "", reflect.TypeFor[dump.Result]()},
		{schemas.DumpResult, "/properties/processes/items", reflect.TypeFor[dump.ProcessExit]()},
		{schemas.DumpResult, "/properties/verification", reflect.TypeFor[dump.Verification]()},
		{schemas.DumpResult, "/properties/largestTables/items", reflect.TypeFor[dump.TableRows]()},
		{schemas.RestoreResult, "", reflect.TypeFor[dump.RestoreResult]()},
		{schemas.RestoreResult, "/properties/processes/items", reflect.TypeFor[dump.ProcessExit]()},
		{schemas.RestoreResult, "/properties/tables/items", reflect.TypeFor[dump.TableRows]()},
	} {
		if got, want := schemaMembers(t, c.schema, c.pointer), goMembers(c.typ); !slices.Equal(got, want) {
			t.Errorf("%s#%s has members %v, Go type %s has %v", c.schema, c.pointer, got, c.typ, want)
		}
	}
}

func schemaMembers(t *testing.T, n schemas.Name, pointer string) []string {
	t.Helper()
	members, err := schemas.Members(n, pointer)
	if err != nil {
		t.Fatal(err)
	}
	return members
}

func goMembers(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "-" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func TestValidateObjectNamesTheRecordAndRefusesUnknownOnes(t *testing.T) {
	for key, want := range map[string]schemas.Name{
		"retail/prd/b1/manifest.json":          schemas.Manifest,
		"manifest.json":                        schemas.Manifest,
		"retail/.restores/ns/r-uid/claim.json": schemas.Claim,
		"retail/prd/b1/inventory/20261109T143000.000000000Z-00000.jsonl.gz": schemas.InventoryEntry,
		layout.DatabasePartKey("retail/prd/b1/"):                            schemas.InventoryEntry,
		"retail/.repository/prd/refs/uid.json":                              schemas.RepositoryRef,
		"retail/.repository/prd/" + repository.ListingHintsKey("b", "dl/"):  schemas.ListingHints,
		layout.DumpResultKey("retail/prd/b1/"):                              schemas.DumpResult,
		layout.RestoreResultKey("retail/.restores/ns/r-uid/"):               schemas.RestoreResult,
	} {
		if got, ok := schemas.ForKey(key); !ok || got != want {
			t.Errorf("ForKey(%q) = %q, %v, want %q", key, got, ok, want)
		}
	}
	for _, ext := range []string{layout.DumpExtCustom, layout.DumpExtSQLGzip, layout.DumpExtSQLZstd} {
		if key := layout.DumpKey("retail/prd/b1/", ext); !schemas.IsDumpObject(key) {
			t.Errorf("IsDumpObject(%q) is false", key)
		}
	}
	if schemas.IsDumpObject("retail/prd/b1/data/database/dump.pgdump.json") {
		t.Error("a file named like a dump but not one is taken for a dump")
	}
	if err := schemas.ValidateObject("retail/prd/b1/notes.json", []byte(`{}`)); err == nil {
		t.Error("an object no schema describes is accepted")
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = io.WriteString(zw, `{"sourceKey":"s","storedKey":"data/s","size":1,"etag":"e","extra":true}`+"\n")
	_ = zw.Close()
	err := schemas.ValidateObject("p/inventory/20261109T143000.000000000Z-00000.jsonl.gz", gz.Bytes())
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("an inventory line with an unknown member: %v", err)
	}
}
