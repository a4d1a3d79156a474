package repository

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
)

var sweepStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// putStored puts a stored object for source key n and returns its key relative
// to the repository prefix.
func putStored(t *testing.T, prov *fake.Provider, n int) string {
	t.Helper()
	rel := Identity{Bucket: srcBucket, Key: fmt.Sprintf("%sobj-%d", srcPrefix, n), Size: int64(n)}.digest().key()
	prov.PutObject(dstBucket, repoPrefix+rel, make([]byte, n))
	return rel
}

// writeBackup writes an inventory of stored (relative keys) under backupPrefix and
// the backup's reference record.
func writeBackup(t *testing.T, prov *fake.Provider, uid, backupPrefix string, stored ...string) {
	t.Helper()
	ctx := context.Background()
	w := inventory.NewWriter(prov, dstBucket, backupPrefix, layout.RunID(sweepStart), clocktesting.NewFakePassiveClock(sweepStart))
	for i, rel := range stored {
		w.Add(ctx, inventory.Entry{SourceKey: fmt.Sprintf("%s%d", srcPrefix, i), StoredKey: rel, Size: 1, ETag: "e"})
	}
	if _, err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	writeRef(t, prov, uid, backupPrefix)
}

func writeRef(t *testing.T, prov *fake.Provider, uid, backupPrefix string) {
	t.Helper()
	ref := &Ref{Version: RefVersion, BackupID: "id-" + uid, UID: uid, Namespace: "ns", Name: "backup-" + uid,
		ProjectID: "p1", Environment: "prd", Prefix: backupPrefix, CreatedAt: sweepStart}
	data, err := ref.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := prov.UploadObject(context.Background(), dstBucket, repoPrefix+RefKey(uid), data); err != nil {
		t.Fatal(err)
	}
}

func exists(prov *fake.Provider, key string) bool {
	_, ok := prov.ReadObject(dstBucket, key)
	return ok
}

func TestSweepDeletesOnlyWhatNoBackupReferences(t *testing.T) {
	ctx := context.Background()
	prov := fake.New(dstBucket)
	var s [6]string
	for i := 1; i <= 5; i++ {
		s[i] = putStored(t, prov, i)
	}
	writeBackup(t, prov, "uid-a", "p1/backups/a/", s[1], s[2], s[3])
	writeBackup(t, prov, "uid-b", "p1/backups/b/", s[3], s[4])
	// Keys the sweep must never delete: not stored keys, or outside the repository.
	hex64 := strings.Repeat("0123456789abcdef", 4)
	junk := []string{
		repoPrefix + "objects/zz/not-a-hash",
		repoPrefix + "objects/ff/" + hex64, // digest does not start with ff
		repoPrefix + "objects/01/" + hex64 + ".tmp",
		repoPrefix + "other/" + s[5],
		"p1/elsewhere/" + s[5],
		Prefix("p1", "uat") + s[5], // another environment's repository
	}
	for _, k := range junk {
		prov.PutObject(dstBucket, k, []byte("junk"))
	}

	res, err := Sweep(ctx, prov, dstBucket, repoPrefix, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Done || res.Backups != 2 || res.Referenced != 4 || res.Kept != 4 || res.Deleted != 1 || res.BytesDeleted != 5 {
		t.Errorf("first sweep: %+v; want Done, 2 backups, 4 referenced, 4 kept, 1 deleted (5 bytes)", res)
	}
	for i := 1; i <= 4; i++ {
		if !exists(prov, repoPrefix+s[i]) {
			t.Errorf("referenced object %d deleted", i)
		}
	}
	if exists(prov, repoPrefix+s[5]) {
		t.Error("unreferenced object 5 kept")
	}

	// Backup a is gone: the objects only it referenced go, the shared one stays.
	prov.DeleteObject(dstBucket, repoPrefix+RefKey("uid-a"))
	res, err = Sweep(ctx, prov, dstBucket, repoPrefix, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Done || res.Backups != 1 || res.Referenced != 2 || res.Kept != 2 || res.Deleted != 2 || res.BytesDeleted != 3 {
		t.Errorf("sweep after removing a: %+v; want Done, 1 backup, 2 referenced, 2 kept, 2 deleted (3 bytes)", res)
	}
	for i, want := range map[int]bool{1: false, 2: false, 3: true, 4: true} {
		if got := exists(prov, repoPrefix+s[i]); got != want {
			t.Errorf("object %d exists=%v, want %v", i, got, want)
		}
	}
	for _, k := range junk {
		if !exists(prov, k) {
			t.Errorf("%s deleted: not a stored object of the repository", k)
		}
	}
	// Inventories and the remaining reference are not the sweep's to delete.
	if !exists(prov, repoPrefix+RefKey("uid-b")) {
		t.Error("reference of b deleted")
	}
	if parts, _ := prov.ListObjects(ctx, dstBucket, "p1/backups/"); len(parts) != 2 {
		t.Errorf("%d inventory parts left, want 2", len(parts))
	}
}

func TestSweepReadsEveryRunAndIgnoresOtherKeysUnderTheBackupPrefix(t *testing.T) {
	ctx := context.Background()
	prov := fake.New(dstBucket)
	s1, s2, s3 := putStored(t, prov, 1), putStored(t, prov, 2), putStored(t, prov, 3)
	writeBackup(t, prov, "uid-a", "p1/backups/a/", s1)
	// A second run of the same backup (a resumed copy) references s2.
	w := inventory.NewWriter(prov, dstBucket, "p1/backups/a/", layout.RunID(sweepStart.Add(time.Hour)), clocktesting.NewFakePassiveClock(sweepStart))
	w.Add(ctx, inventory.Entry{SourceKey: srcPrefix + "x", StoredKey: s2, Size: 2})
	if _, err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Not a part key: never read, so its garbage neither fails nor marks.
	prov.PutObject(dstBucket, "p1/backups/a/inventory/notes.txt", []byte("not gzip"))

	res, err := Sweep(ctx, prov, dstBucket, repoPrefix, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 1 || !exists(prov, repoPrefix+s1) || !exists(prov, repoPrefix+s2) || exists(prov, repoPrefix+s3) {
		t.Errorf("sweep %+v: want only object 3 deleted", res)
	}
}

func TestSweepStopsAtMaxDeletes(t *testing.T) {
	ctx := context.Background()
	prov := fake.New(dstBucket)
	kept := putStored(t, prov, 100)
	writeBackup(t, prov, "uid-a", "p1/backups/a/", kept)
	for i := 1; i <= 5; i++ {
		putStored(t, prov, i)
	}
	count := func() int {
		objs, err := prov.ListObjects(ctx, dstBucket, repoPrefix+ObjectsDir)
		if err != nil {
			t.Fatal(err)
		}
		return len(objs)
	}

	res, err := Sweep(ctx, prov, dstBucket, repoPrefix, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Done || res.Deleted != 2 || count() != 4 {
		t.Fatalf("bounded sweep: %+v, %d objects left; want not Done, 2 deleted, 4 left", res, count())
	}
	// Exactly as many left as the bound: this call finishes.
	res, err = Sweep(ctx, prov, dstBucket, repoPrefix, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Done || res.Deleted != 3 || count() != 1 || !exists(prov, repoPrefix+kept) {
		t.Fatalf("second sweep: %+v, %d objects left; want Done, 3 deleted, only the referenced one left", res, count())
	}
	res, err = Sweep(ctx, prov, dstBucket, repoPrefix, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Done || res.Deleted != 0 || res.Kept != 1 {
		t.Errorf("sweep of a clean repository: %+v; want Done, nothing deleted, 1 kept", res)
	}
}

func TestSweepDeletesNothingWhenAnInventoryOrReferenceIsUnreadable(t *testing.T) {
	for name, corrupt := range map[string]func(*fake.Provider){
		"corrupt part": func(p *fake.Provider) {
			p.PutObject(dstBucket, "p1/backups/b/"+layout.PartKey(layout.RunID(sweepStart), 0), []byte("not gzip"))
			writeRef(t, p, "uid-b", "p1/backups/b/")
		},
		"truncated part": func(p *fake.Provider) {
			good, _ := p.ReadObject(dstBucket, "p1/backups/a/"+layout.PartKey(layout.RunID(sweepStart), 0))
			p.PutObject(dstBucket, "p1/backups/a/"+layout.PartKey(layout.RunID(sweepStart), 1), good[:len(good)/2])
		},
		"corrupt ref": func(p *fake.Provider) {
			p.PutObject(dstBucket, repoPrefix+RefKey("uid-b"), []byte("{not json"))
		},
		"ref without prefix": func(p *fake.Provider) {
			p.PutObject(dstBucket, repoPrefix+RefKey("uid-b"), []byte(`{"version":"1","uid":"uid-b"}`))
		},
		"ref without uid": func(p *fake.Provider) {
			p.PutObject(dstBucket, repoPrefix+RefKey("uid-b"), []byte(`{"version":"1","prefix":"p1/backups/b/"}`))
		},
	} {
		t.Run(name, func(t *testing.T) {
			prov := fake.New(dstBucket)
			kept := putStored(t, prov, 1)
			writeBackup(t, prov, "uid-a", "p1/backups/a/", kept)
			orphan := putStored(t, prov, 2)
			corrupt(prov)

			if _, err := Sweep(context.Background(), prov, dstBucket, repoPrefix, 0); err == nil {
				t.Fatal("Sweep succeeded over an unreadable inventory or reference")
			}
			if n := prov.Calls("DeleteObjects"); n != 0 {
				t.Errorf("DeleteObjects called %d times", n)
			}
			if !exists(prov, repoPrefix+orphan) || !exists(prov, repoPrefix+kept) {
				t.Error("an object was deleted")
			}
		})
	}
}

func TestSweepFailuresDeleteNothing(t *testing.T) {
	for _, op := range []string{"ListObjects", "DownloadObject", "WalkObjects"} {
		t.Run(op, func(t *testing.T) {
			prov := fake.New(dstBucket)
			kept := putStored(t, prov, 1)
			writeBackup(t, prov, "uid-a", "p1/backups/a/", kept)
			orphan := putStored(t, prov, 2)
			boom := errors.New("boom")
			prov.FailWith(op, boom)
			if _, err := Sweep(context.Background(), prov, dstBucket, repoPrefix, 0); !errors.Is(err, boom) {
				t.Fatalf("Sweep error %v, want %v", err, boom)
			}
			if !exists(prov, repoPrefix+orphan) || prov.Calls("DeleteObjects") != 0 {
				t.Error("an object was deleted")
			}
		})
	}
}

func TestRestoreItem(t *testing.T) {
	stored := Identity{Bucket: srcBucket, Key: "lib/a/b.txt", Size: 3, ETag: "e"}.digest().key()
	item, err := RestoreItem(repoPrefix, "lib/", inventory.Entry{SourceKey: "lib/a/b.txt", StoredKey: stored, Size: 3, ETag: "e"})
	if err != nil {
		t.Fatal(err)
	}
	if item.DestinationKey != "a/b.txt" || item.Source.Key != repoPrefix+stored || item.Source.Size != 3 || item.Source.ETag != "e" {
		t.Errorf("RestoreItem = %+v; want %s%s -> a/b.txt (3 bytes, ETag e)", item, repoPrefix, stored)
	}
	if item.Source.VersionID != "" {
		t.Errorf("restore reads version %q of the stored object, want the current one", item.Source.VersionID)
	}

	for name, e := range map[string]inventory.Entry{
		"outside the source prefix": {SourceKey: "other/a", StoredKey: stored},
		"sibling prefix":            {SourceKey: "library/a", StoredKey: stored},
		"the prefix itself":         {SourceKey: "lib/", StoredKey: stored},
		"not a stored key":          {SourceKey: "lib/a", StoredKey: "objects/zz/not-a-hash"},
		"a Full backup's data key":  {SourceKey: "lib/a", StoredKey: "data/a"},
		"escaping stored key":       {SourceKey: "lib/a", StoredKey: "../" + stored},
		"empty stored key":          {SourceKey: "lib/a"},
	} {
		if item, err := RestoreItem(repoPrefix, "lib/", e); err == nil {
			t.Errorf("%s: RestoreItem(%+v) = %+v, want an error", name, e, item)
		}
	}
	// Keys are opaque strings: ".." and "." segments, empty segments and a leading '/'
	// are part of a key S3 stored as written, and restored under the target prefix as
	// written (it cannot leave the prefix: the target key is the prefix followed by rel).
	for _, rel := range []string{"a..b/..c", "a/../../etc", "../x", "..", "./x", "a//b", "/x", "x/"} {
		item, err := RestoreItem(repoPrefix, "lib/", inventory.Entry{SourceKey: "lib/" + rel, StoredKey: stored})
		if err != nil || item.DestinationKey != rel {
			t.Errorf("source key lib/%s restores as %+v (%v), want the key %q under the target prefix", rel, item, err, rel)
		}
	}
}

func TestSweepRemovesTheListingHintsWithTheLastBackup(t *testing.T) {
	ctx := context.Background()
	prov := fake.New(dstBucket)
	s1 := putStored(t, prov, 1)
	hints := repoPrefix + ListingHintsKey(srcBucket, srcPrefix)
	prov.PutObject(dstBucket, hints, []byte(`{"version":"1"}`))
	notHints := repoPrefix + ListingDir + "notes.txt"
	prov.PutObject(dstBucket, notHints, []byte("not a hints key: not the sweep's"))
	writeBackup(t, prov, "uid-a", "p1/backups/a/", s1)

	if _, err := Sweep(ctx, prov, dstBucket, repoPrefix, 0); err != nil {
		t.Fatal(err)
	}
	if !exists(prov, hints) || !exists(prov, repoPrefix+s1) {
		t.Fatal("a sweep with a backup left removed its object or the listing hints")
	}

	prov.DeleteObject(dstBucket, repoPrefix+RefKey("uid-a"))
	res, err := Sweep(ctx, prov, dstBucket, repoPrefix, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Done || res.Deleted != 1 || exists(prov, hints) || exists(prov, repoPrefix+s1) {
		t.Errorf("sweep with no backup left: %+v, hints left %v; want the stored object and the hints gone", res, exists(prov, hints))
	}
	if !exists(prov, notHints) {
		t.Error("the sweep deleted a key that is not a listing hints key")
	}
}
