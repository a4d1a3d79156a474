package repository

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
)

func TestKeyRangesHoldEveryKeyOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var keys []string
	for i := range 3000 {
		keys = append(keys, fmt.Sprintf("lib/%d/%d", rng.IntN(50), i))
	}
	slices.Sort(keys)
	boundSets := [][]string{
		nil,
		{keys[0]},
		{keys[len(keys)-1]},
		{"lib/", "lib/2", "lib/2/", "lib/40", "lib/9~"}, // bounds that are not keys
		{"a", "z"}, // bounds outside every key
	}
	for range 20 {
		var b []string
		for range rng.IntN(30) {
			b = append(b, keys[rng.IntN(len(keys))])
		}
		slices.Sort(b)
		boundSets = append(boundSets, slices.Compact(b))
	}
	for _, bounds := range boundSets {
		ranges := keyRanges(bounds)
		if len(ranges) != len(bounds)+1 {
			t.Fatalf("%d bounds made %d ranges", len(bounds), len(ranges))
		}
		for _, k := range keys {
			n := 0
			for _, r := range ranges {
				if r.Contains(k) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("bounds %q: key %q lies in %d ranges, want 1", bounds, k, n)
			}
		}
	}
}

func TestNextBoundsMakeRangesOfAtMostRangeKeys(t *testing.T) {
	for _, n := range []int{0, 1, 99, 100, 899, 900, 901, 2500, 20000, 1_000_000} {
		// A listing of n keys split over 7 ranges notes a key every sampleEvery keys of a
		// range and the range's last key.
		var samples []sample
		key := 0
		for r := range 7 {
			size := n / 7
			if r == 6 {
				size = n - 6*(n/7)
			}
			for left := size; left > 0; {
				k := min(sampleEvery, left)
				key += k
				left -= k
				samples = append(samples, sample{key: fmt.Sprintf("k%08d", key), keys: k})
			}
		}
		bounds := nextBounds(samples)
		if len(bounds) >= maxRanges || !validBounds(bounds, "k") {
			t.Fatalf("%d keys: %d bounds, not in order or too many", n, len(bounds))
		}
		// Count the keys of each range from the bounds (keys are k00000001..k<n>).
		prev := 0
		for i, b := range append(bounds, fmt.Sprintf("k%08d", n)) {
			var at int
			if _, err := fmt.Sscanf(b, "k%08d", &at); err != nil {
				t.Fatal(err)
			}
			size := at - prev
			prev = at
			if n <= 100_000 && size > rangeKeys {
				t.Errorf("%d keys: range %d holds %d keys, more than %d", n, i, size, rangeKeys)
			}
			if n <= 100_000 && i < len(bounds)-1 && size < rangeKeys-2*sampleEvery {
				t.Errorf("%d keys: range %d holds only %d keys", n, i, size)
			}
		}
		if n == 1_000_000 && len(bounds) != maxRanges-1 && len(bounds) < maxRanges/2 {
			t.Errorf("a million keys: %d bounds, want the ranges thinned to about %d", len(bounds), maxRanges)
		}
	}
}

// hintsOf reads the listing hints Backup left for the test library.
func hintsOf(t *testing.T, prov *fake.Provider) listingHints {
	t.Helper()
	data, ok := prov.ReadObject(dstBucket, repoPrefix+ListingHintsKey(srcBucket, srcPrefix))
	if !ok {
		t.Fatal("no listing hints in the repository")
	}
	var h listingHints
	if err := json.Unmarshal(data, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestBackupListsInTheRangesTheLastBackupLeft(t *testing.T) {
	prov := fake.New(srcBucket, dstBucket)
	src := map[string][]byte{}
	for i := range 2500 {
		key := fmt.Sprintf("%s%d/%d/1.0", srcPrefix, i%7, i)
		src[key] = []byte(key)
		prov.PutObject(srcBucket, key, src[key])
	}

	// First backup: no hints, so the library is one range and the (empty)
	// repository the sixteen of the first hex digit.
	res, rec := runBackup(t, prov, BackupOptions{})
	if res.Copy.ObjectsCopied != 2500 {
		t.Fatalf("first backup copied %d, want 2500", res.Copy.ObjectsCopied)
	}
	checkEntries(t, prov, rec, src, nil)
	if got := prov.Calls("WalkObjects"); got != 1+len(defaultRepositoryBounds)+1 {
		t.Errorf("first backup walked %d ranges, want 1 of the library and 16 of the repository", got)
	}
	h := hintsOf(t, prov)
	if len(h.Source) != 2 || len(h.Repository) != 0 || h.SourceBucket != srcBucket || h.SourcePrefix != srcPrefix {
		t.Fatalf("hints after the first backup: %+v, want 2 library bounds (2,500 keys in ranges of up to 900) and none for the empty repository", h)
	}

	// Second backup: the library in its 3 ranges, the repository (2,500 stored) in
	// the default 16; everything is referenced.
	before := prov.Calls("WalkObjects")
	res, rec = runBackup(t, prov, BackupOptions{})
	if res.Copy.ObjectsCopied != 0 || res.ObjectsReferenced != 2500 || res.StoredObjects != 2500 {
		t.Fatalf("second backup copied %d, referenced %d of %d stored; want 0, 2500, 2500", res.Copy.ObjectsCopied, res.ObjectsReferenced, res.StoredObjects)
	}
	checkEntries(t, prov, rec, src, nil)
	if got := prov.Calls("WalkObjects") - before; got != 3+16 {
		t.Errorf("second backup walked %d ranges, want 3 + 16", got)
	}
	if h = hintsOf(t, prov); len(h.Repository) != 2 {
		t.Fatalf("hints after the second backup: %d repository bounds, want 2", len(h.Repository))
	}

	// Third backup, after changes: 3 + 3 ranges, and only the change is copied.
	added := srcPrefix + "0/99999/1.0"
	src[added] = []byte("added")
	prov.PutObject(srcBucket, added, src[added])
	before = prov.Calls("WalkObjects")
	res, rec = runBackup(t, prov, BackupOptions{})
	if res.Copy.ObjectsCopied != 1 || res.ObjectsReferenced != 2500 {
		t.Fatalf("third backup copied %d, referenced %d; want 1 and 2500", res.Copy.ObjectsCopied, res.ObjectsReferenced)
	}
	checkEntries(t, prov, rec, src, nil)
	if got := prov.Calls("WalkObjects") - before; got != 3+3 {
		t.Errorf("third backup walked %d ranges, want 3 + 3", got)
	}
}

func TestBackupListsEverythingWhateverTheHintsSay(t *testing.T) {
	prov := fake.New(srcBucket, dstBucket)
	src := map[string][]byte{}
	for i := range 300 {
		key := fmt.Sprintf("%s%03d", srcPrefix, i)
		src[key] = []byte(key)
		prov.PutObject(srcBucket, key, src[key])
	}
	excl, err := provider.NewExcluder([]string{"1*"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for key := range src {
		if key[len(srcPrefix)] == '1' {
			delete(src, key)
		}
	}
	hintsKey := repoPrefix + ListingHintsKey(srcBucket, srcPrefix)
	for _, hints := range []string{
		`{"version":"1","sourceBucket":"source","sourcePrefix":"lib/","source":["lib/050","lib/05","lib/299"]}`,   // out of order
		`{"version":"1","sourceBucket":"source","sourcePrefix":"lib/","source":["other/1"],"repository":["zzz"]}`, // other prefixes
		`{"version":"1","sourceBucket":"elsewhere","sourcePrefix":"lib/","source":["lib/100"]}`,                   // another library
		`{"version":"1","sourceBucket":"source","sourcePrefix":"lib/","source":["lib/","lib/000","lib/0001","lib/2999","lib/~"],"repository":["objects/","objects/ff/~"]}`,
		`not json`,
	} {
		prov.PutObject(dstBucket, hintsKey, []byte(hints))
		res, rec := runBackup(t, prov, BackupOptions{Exclude: excl})
		checkEntries(t, prov, rec, src, nil)
		if res.ObjectsExcluded != 100 || res.Copy.ObjectsCopied+res.ObjectsReferenced != 200 {
			t.Errorf("hints %s: excluded %d, copied %d + referenced %d; want 100 and 200 in all", hints,
				res.ObjectsExcluded, res.Copy.ObjectsCopied, res.ObjectsReferenced)
		}
	}
}

func TestBackupFailsWhenARangeFails(t *testing.T) {
	prov := fake.New(srcBucket, dstBucket)
	prov.PutObject(srcBucket, srcPrefix+"a", []byte("a"))
	prov.FailWith("WalkObjects", provider.NewError(provider.KindTransient, "ListObjectsV2", srcBucket, fmt.Errorf("slow down")))
	res, err := Backup(context.Background(), prov, BackupOptions{SourceBucket: srcBucket, SourcePrefix: srcPrefix,
		Bucket: dstBucket, Prefix: repoPrefix, Record: newRecorder().record})
	if err == nil || !provider.IsTransient(err) {
		t.Fatalf("Backup with failing listings: %v, want the transient listing error", err)
	}
	if res.Copy.ObjectsCopied != 0 {
		t.Errorf("copied %d objects after a failed listing", res.Copy.ObjectsCopied)
	}
	if _, ok := prov.ReadObject(dstBucket, repoPrefix+ListingHintsKey(srcBucket, srcPrefix)); ok {
		t.Error("a failed backup wrote listing hints")
	}
}

// runRecordedBackup backs the library up as the controller does: the reference
// record first, then Backup with the entries going to the backup's inventory.
func runRecordedBackup(t *testing.T, prov *fake.Provider, uid string) *BackupResult {
	t.Helper()
	ctx := context.Background()
	backupPrefix := "p1/backups/" + uid + "/"
	writeRef(t, prov, uid, backupPrefix)
	w := inventory.NewWriter(prov, dstBucket, backupPrefix, layout.RunID(sweepStart), clocktesting.NewFakePassiveClock(sweepStart))
	rec := newRecorder()
	res, err := Backup(ctx, prov, BackupOptions{SourceBucket: srcBucket, SourcePrefix: srcPrefix, Bucket: dstBucket, Prefix: repoPrefix,
		BackupUID: uid, BackupPrefix: backupPrefix,
		Record: func(e inventory.Entry) {
			rec.record(e)
			w.Add(ctx, e)
		}})
	if err != nil {
		t.Fatalf("Backup %s: %v", uid, err)
	}
	if _, err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestBackupTakesTheLastBackupsInventoryAsTheIndex(t *testing.T) {
	prov := fake.New(srcBucket, dstBucket)
	for i := range 50 {
		prov.PutObject(srcBucket, fmt.Sprintf("%s%02d", srcPrefix, i), []byte{byte(i)})
	}
	first := runRecordedBackup(t, prov, "uid-a")
	if first.Copy.ObjectsCopied != 50 || first.IndexedBy != "" {
		t.Fatalf("first backup: copied %d, indexed by %q; want 50, and the repository listed", first.Copy.ObjectsCopied, first.IndexedBy)
	}

	// The second backup reads uid-a's inventory instead of listing the repository.
	prov.PutObject(srcBucket, srcPrefix+"new", []byte("new"))
	walks := prov.Calls("WalkObjects")
	second := runRecordedBackup(t, prov, "uid-b")
	if second.IndexedBy != "uid-a" || second.StoredObjects != 50 || second.Copy.ObjectsCopied != 1 || second.ObjectsReferenced != 50 {
		t.Fatalf("second backup: indexed by %q (%d stored), copied %d, referenced %d; want uid-a's 50, 1 copied, 50 referenced",
			second.IndexedBy, second.StoredObjects, second.Copy.ObjectsCopied, second.ObjectsReferenced)
	}
	if got := prov.Calls("WalkObjects") - walks; got != 1 {
		t.Errorf("second backup walked %d ranges, want only the library's one", got)
	}

	// The third takes the second as its index, which holds all 51.
	third := runRecordedBackup(t, prov, "uid-c")
	if third.IndexedBy != "uid-b" || third.Copy.ObjectsCopied != 0 || third.ObjectsReferenced != 51 {
		t.Fatalf("third backup: indexed by %q, copied %d, referenced %d; want uid-b, 0, 51", third.IndexedBy, third.Copy.ObjectsCopied, third.ObjectsReferenced)
	}

	// Without the indexed backup's reference record (expired), the repository is listed.
	prov.DeleteObject(dstBucket, repoPrefix+RefKey("uid-c"))
	fourth := runRecordedBackup(t, prov, "uid-d")
	if fourth.IndexedBy != "" || fourth.StoredObjects != 51 || fourth.Copy.ObjectsCopied != 0 {
		t.Fatalf("fourth backup: indexed by %q (%d stored), copied %d; want the repository's 51 listed, nothing copied",
			fourth.IndexedBy, fourth.StoredObjects, fourth.Copy.ObjectsCopied)
	}

	// A record that names another prefix, or an unreadable inventory: listed too.
	writeRef(t, prov, "uid-d", "p1/backups/elsewhere/")
	if fifth := runRecordedBackup(t, prov, "uid-e"); fifth.IndexedBy != "" || fifth.StoredObjects != 51 {
		t.Fatalf("fifth backup: indexed by %q (%d stored); want the repository listed", fifth.IndexedBy, fifth.StoredObjects)
	}
	parts, err := prov.ListObjects(context.Background(), dstBucket, layout.InventoryPrefix("p1/backups/uid-e/"))
	if err != nil || len(parts) == 0 {
		t.Fatalf("uid-e's inventory: %v, %d parts", err, len(parts))
	}
	prov.PutObject(dstBucket, parts[0].Key, []byte("not gzip"))
	if sixth := runRecordedBackup(t, prov, "uid-f"); sixth.IndexedBy != "" || sixth.StoredObjects != 51 || sixth.Copy.ObjectsCopied != 0 {
		t.Fatalf("sixth backup: indexed by %q (%d stored), copied %d; want the repository listed", sixth.IndexedBy, sixth.StoredObjects, sixth.Copy.ObjectsCopied)
	}
}
