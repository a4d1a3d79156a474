package repository

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
)

const (
	srcBucket = "source"
	dstBucket = "backups"
	srcPrefix = "lib/"
)

var repoPrefix = Prefix("p1", "prd")

func md5Hex(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

// recorder collects the entries Backup reports, keyed by source key.
type recorder struct {
	mu      sync.Mutex
	entries map[string]inventory.Entry
	calls   int
}

func newRecorder() *recorder { return &recorder{entries: map[string]inventory.Entry{}} }

func (r *recorder) record(e inventory.Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	r.entries[e.SourceKey] = e
}

func runBackup(t *testing.T, prov *fake.Provider, opts BackupOptions) (*BackupResult, *recorder) {
	t.Helper()
	rec := newRecorder()
	opts.SourceBucket, opts.SourcePrefix = srcBucket, srcPrefix
	opts.Bucket, opts.Prefix = dstBucket, repoPrefix
	opts.Record = rec.record
	res, err := Backup(context.Background(), prov, opts)
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	return res, rec
}

// checkEntries asserts that rec holds exactly want (source key -> bytes), each
// stored at its identity's key with the source bytes.
func checkEntries(t *testing.T, prov *fake.Provider, rec *recorder, want map[string][]byte, versions map[string]string) {
	t.Helper()
	if rec.calls != len(want) || len(rec.entries) != len(want) {
		t.Fatalf("Record called %d times for %d keys, want one per object (%d)", rec.calls, len(rec.entries), len(want))
	}
	for key, data := range want {
		e, ok := rec.entries[key]
		if !ok {
			t.Fatalf("no entry for %s", key)
		}
		id := Identity{Bucket: srcBucket, Key: key, Size: int64(len(data)), ETag: md5Hex(data), VersionID: versions[key]}
		if e.StoredKey != id.digest().key() {
			t.Errorf("%s: StoredKey %q, want %q", key, e.StoredKey, id.digest().key())
		}
		if e.Size != int64(len(data)) || e.SourceETag != md5Hex(data) || e.SourceVersionID != versions[key] {
			t.Errorf("%s: entry %+v does not describe the source object", key, e)
		}
		got, ok := prov.ReadObject(dstBucket, repoPrefix+e.StoredKey)
		if !ok {
			t.Fatalf("%s: stored object %s missing", key, repoPrefix+e.StoredKey)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%s: stored bytes %q, want %q", key, got, data)
		}
		if e.ETag != md5Hex(data) {
			t.Errorf("%s: entry ETag %q, want the stored object's %q", key, e.ETag, md5Hex(data))
		}
	}
}

func TestBackupCopiesOnlyWhatTheRepositoryLacks(t *testing.T) {
	prov := fake.New(srcBucket, dstBucket)
	src := map[string][]byte{
		srcPrefix + "a": []byte("alpha"),
		srcPrefix + "b": []byte("bravo!"),
		srcPrefix + "c": []byte("charlie"),
	}
	for k, v := range src {
		prov.PutObject(srcBucket, k, v)
	}
	prov.PutObject(srcBucket, srcPrefix+"tmp/x", []byte("excluded"))
	prov.PutObject(srcBucket, "other/a", []byte("outside the prefix"))
	excl, err := provider.NewExcluder([]string{"tmp/"}, false)
	if err != nil {
		t.Fatal(err)
	}

	res, rec := runBackup(t, prov, BackupOptions{Exclude: excl})
	if res.Copy.ObjectsCopied != 3 || res.Copy.BytesCopied != 18 || res.ObjectsReferenced != 0 || res.BytesReferenced != 0 {
		t.Errorf("first backup: copied %d (%d bytes), referenced %d (%d bytes); want 3 (18) copied, none referenced",
			res.Copy.ObjectsCopied, res.Copy.BytesCopied, res.ObjectsReferenced, res.BytesReferenced)
	}
	if res.ObjectsExcluded != 1 || res.StoredObjects != 0 {
		t.Errorf("first backup: excluded %d, stored before %d; want 1 and 0", res.ObjectsExcluded, res.StoredObjects)
	}
	checkEntries(t, prov, rec, src, nil)

	// One object added, one replaced in place: exactly those two are copied.
	src[srcPrefix+"d"] = []byte("delta")
	src[srcPrefix+"a"] = []byte("alpha, second edition")
	prov.PutObject(srcBucket, srcPrefix+"d", src[srcPrefix+"d"])
	prov.PutObject(srcBucket, srcPrefix+"a", src[srcPrefix+"a"])

	res, rec = runBackup(t, prov, BackupOptions{Exclude: excl})
	if res.Copy.ObjectsCopied != 2 || res.ObjectsReferenced != 2 || res.BytesReferenced != 13 {
		t.Errorf("second backup: copied %d, referenced %d (%d bytes); want 2 copied, 2 (13 bytes) referenced",
			res.Copy.ObjectsCopied, res.ObjectsReferenced, res.BytesReferenced)
	}
	if res.ObjectsExcluded != 1 || res.StoredObjects != 3 {
		t.Errorf("second backup: excluded %d, stored before %d; want 1 and 3", res.ObjectsExcluded, res.StoredObjects)
	}
	checkEntries(t, prov, rec, src, nil)
	if objs, _ := prov.ListObjects(context.Background(), dstBucket, repoPrefix+ObjectsDir); len(objs) != 5 {
		t.Errorf("repository holds %d objects, want 5 (3 + 2 new)", len(objs))
	}

	// Nothing changed: everything is referenced.
	res, rec = runBackup(t, prov, BackupOptions{Exclude: excl})
	if res.Copy.ObjectsCopied != 0 || res.ObjectsReferenced != 4 {
		t.Errorf("unchanged backup: copied %d, referenced %d; want 0 and 4", res.Copy.ObjectsCopied, res.ObjectsReferenced)
	}
	checkEntries(t, prov, rec, src, nil)
}

func TestBackupAsOfRecordsTheVersionsCurrentThen(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(start)
	prov := fake.New(srcBucket, dstBucket)
	prov.Clock = clk
	prov.EnableVersioning(srcBucket)
	old := []byte("the old bytes")
	prov.PutObject(srcBucket, srcPrefix+"a", old)
	prov.PutObject(srcBucket, srcPrefix+"b", []byte("bravo"))
	prov.PutObject(srcBucket, srcPrefix+"gone", []byte("deleted later"))
	versions := map[string]string{}
	for _, k := range []string{"a", "b", "gone"} {
		versions[srcPrefix+k] = prov.ObjectVersions(srcBucket, srcPrefix+k)[0]
	}

	clk.Step(time.Minute)
	asOf := clk.Now()
	clk.Step(time.Minute)
	prov.PutObject(srcBucket, srcPrefix+"a", []byte("the new bytes, written after asOf"))
	prov.DeleteObject(srcBucket, srcPrefix+"gone")
	prov.PutObject(srcBucket, srcPrefix+"new", []byte("created after asOf"))

	res, rec := runBackup(t, prov, BackupOptions{AsOf: &asOf})
	if res.Copy.ObjectsCopied != 3 || res.ObjectsReferenced != 0 {
		t.Errorf("copied %d, referenced %d; want 3 and 0", res.Copy.ObjectsCopied, res.ObjectsReferenced)
	}
	checkEntries(t, prov, rec, map[string][]byte{
		srcPrefix + "a":    old,
		srcPrefix + "b":    []byte("bravo"),
		srcPrefix + "gone": []byte("deleted later"),
	}, versions)

	// The same point in time again references every object.
	res, rec = runBackup(t, prov, BackupOptions{AsOf: &asOf})
	if res.Copy.ObjectsCopied != 0 || res.ObjectsReferenced != 3 {
		t.Errorf("repeat: copied %d, referenced %d; want 0 and 3", res.Copy.ObjectsCopied, res.ObjectsReferenced)
	}
	if e := rec.entries[srcPrefix+"a"]; e.SourceVersionID != versions[srcPrefix+"a"] {
		t.Errorf("repeat: a recorded as version %q, want %q", e.SourceVersionID, versions[srcPrefix+"a"])
	}
}

func TestIdentityStoredKey(t *testing.T) {
	base := Identity{Bucket: "b", Key: "lib/k", Size: 10, ETag: "e", VersionID: "v"}
	key := base.digest().key()
	if key != base.digest().key() {
		t.Fatal("StoredKey is not stable")
	}
	if !IsStoredKey(key) {
		t.Fatalf("StoredKey %q is not a stored key", key)
	}
	if !strings.HasPrefix(key, ObjectsDir) || len(key) != len("objects/xx/")+64 {
		t.Fatalf("StoredKey %q is not objects/<2hex>/<64hex>", key)
	}
	variants := map[string]Identity{
		"bucket":  {Bucket: "b2", Key: "lib/k", Size: 10, ETag: "e", VersionID: "v"},
		"key":     {Bucket: "b", Key: "lib/k2", Size: 10, ETag: "e", VersionID: "v"},
		"size":    {Bucket: "b", Key: "lib/k", Size: 11, ETag: "e", VersionID: "v"},
		"etag":    {Bucket: "b", Key: "lib/k", Size: 10, ETag: "e2", VersionID: "v"},
		"version": {Bucket: "b", Key: "lib/k", Size: 10, ETag: "e", VersionID: ""},
		// Field boundaries are kept: moving a character from one field to the next
		// names another object.
		"boundary": {Bucket: "bl", Key: "ib/k", Size: 10, ETag: "e", VersionID: "v"},
	}
	seen := map[string]string{key: "base"}
	for name, id := range variants {
		k := id.digest().key()
		if prev, dup := seen[k]; dup {
			t.Errorf("changing the %s gives the same key as %s: %s", name, prev, k)
		}
		seen[k] = name
		if !IsStoredKey(k) {
			t.Errorf("%s: %q is not a stored key", name, k)
		}
	}
}

func TestIsStoredKey(t *testing.T) {
	hex64 := "ab" + strings.Repeat("0123456789abcdef", 4)[2:]
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"objects/ab/" + hex64, true},
		{"objects/cd/" + hex64, false},                  // digest does not start with the folder
		{"objects/AB/" + strings.ToUpper(hex64), false}, // upper case
		{"objects/ab/" + hex64[:63], false},             // 63 hex
		{"objects/ab/" + hex64 + "0", false},            // 65 hex
		{"objects/ab/" + hex64[:63] + "g", false},       // not hex
		{"objects/ab/" + hex64 + "/", false},            // a folder
		{"/objects/ab/" + hex64, false},                 // leading slash
		{"x/objects/ab/" + hex64, false},                // not relative to the repository
		{"objects/ab/" + hex64 + ".json", false},        // suffix
		{"objects/a/" + hex64, false},                   // one hex folder
		{"objects/zz/not-a-hash", false},                // junk
		{"refs/" + hex64 + ".json", false},              // a reference record
		{"objects/ab/../" + hex64[:61], false},          // traversal
		{"objects/ab/" + hex64 + "\n", false},           // trailing newline
		{"", false},
	} {
		if got := IsStoredKey(tc.key); got != tc.want {
			t.Errorf("IsStoredKey(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
}
