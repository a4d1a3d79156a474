package contract

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// ---- Walks of current objects and of object versions -----------------------------

// collect reads a walk to its end (or its error).
func collect(walk iter.Seq2[provider.ObjectMetadata, error]) ([]provider.ObjectMetadata, error) {
	var out []provider.ObjectMetadata
	for o, err := range walk {
		if err != nil {
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}

// mustCollect is collect failing the test on an error.
func mustCollect(t *testing.T, what string, walk iter.Seq2[provider.ObjectMetadata, error]) []provider.ObjectMetadata {
	t.Helper()
	out, err := collect(walk)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return out
}

// lastModified is key's LastModified as the store lists it.
func lastModified(t *testing.T, env Env, bucket, key string) time.Time {
	t.Helper()
	o, ok := listing(t, env.Provider, bucket, key)[key]
	if !ok || o.LastModified.IsZero() {
		t.Fatalf("%s/%s is not listed with a LastModified", bucket, key)
	}
	return o.LastModified
}

// afterSecondOf waits until the clock has left the second of ts. S3 keeps LastModified
// to the second: whatever is written after this wait is listed as later than ts on any
// store, however fast or slow the machine is.
func afterSecondOf(ts time.Time) {
	time.Sleep(time.Until(ts.Truncate(time.Second).Add(time.Second)))
}

// versionedObject is what a walk as of some time must yield for one key.
type versionedObject struct {
	data    []byte
	version string
}

// wantAsOf checks a walk as of some time yielded exactly want (key → object), in key
// order, each with its version's size, ETag and id and a LastModified not after asOf.
func wantAsOf(t *testing.T, what string, got []provider.ObjectMetadata, asOf time.Time, want map[string]versionedObject) {
	t.Helper()
	keys := slices.Sorted(maps.Keys(want))
	if !slices.Equal(keysOf(got), keys) {
		t.Fatalf("%s yielded %q,\nwant %q", what, keysOf(got), keys)
	}
	for _, o := range got {
		w := want[o.Key]
		if o.Size != int64(len(w.data)) || o.ETag != md5Hex(w.data) || o.VersionID != w.version {
			t.Errorf("%s: %s is %d bytes, ETag %q, version %q; want %d, %q, %q",
				what, o.Key, o.Size, o.ETag, o.VersionID, len(w.data), md5Hex(w.data), w.version)
		}
		if o.LastModified.IsZero() || o.LastModified.After(asOf) {
			t.Errorf("%s: %s last modified %v, want a time at or before %v", what, o.Key, o.LastModified, asOf)
		}
	}
}

// newestVersion is the id of key's newest version.
func newestVersion(t *testing.T, env Env, bucket, key string) string {
	t.Helper()
	ids := env.ObjectVersions(t, bucket, key)
	if len(ids) == 0 {
		t.Fatalf("%s/%s has no versions", bucket, key)
	}
	return ids[0]
}

func (s *suite) walks(t *testing.T) {
	ctx := context.Background()

	t.Run("WalkObjects streams the current objects under the prefix as ListObjects lists them", func(t *testing.T) {
		env := s.newEnv(t)
		bucket := env.NewBucket(t, nil)
		objects := map[string][]byte{
			"retail/b1/data/10/a.pdf":      []byte("alpha"),
			"retail/b1/data/10/a b+c.pdf":  []byte("spaces and plus"),
			"retail/b1/data/10/a/b.pdf":    []byte("deeper"),
			"retail/b1/data/\u00e9t\u00e9": []byte("utf-8 sorts by bytes"),
			"retail/b1/manifest.json":      []byte("{}"),
			"retail/b10/data/x":            []byte("shares the prefix text retail/b1"),
			"other/b1/data/y":              []byte("outside"),
		}
		for _, k := range shuffled(objects) {
			env.PutObject(t, bucket, k, objects[k])
		}
		listed, err := env.Provider.ListObjects(ctx, bucket, "retail/b1/")
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		walked := mustCollect(t, "walk", env.Provider.WalkObjects(ctx, bucket, "retail/b1/", provider.KeyRange{}))
		if !slices.Equal(walked, listed) {
			t.Fatalf("walked %+v,\nListObjects lists %+v", walked, listed)
		}
		if len(walked) != 5 || !sort.SliceIsSorted(walked, func(i, j int) bool { return walked[i].Key < walked[j].Key }) {
			t.Fatalf("walked %q, want the 5 keys under the prefix in key order", keysOf(walked))
		}

		// A caller may stop early; the provider is fine afterwards.
		for _, err := range env.Provider.WalkObjects(ctx, bucket, "", provider.KeyRange{}) {
			if err != nil {
				t.Fatalf("walk: %v", err)
			}
			break
		}
		if all := mustCollect(t, "walk of the bucket", env.Provider.WalkObjects(ctx, bucket, "", provider.KeyRange{})); len(all) != len(objects) {
			t.Fatalf("walking the whole bucket after an early stop: %d objects, want %d", len(all), len(objects))
		}
		if none := mustCollect(t, "walk of an empty prefix", env.Provider.WalkObjects(ctx, bucket, "retail/b2/", provider.KeyRange{})); len(none) != 0 {
			t.Fatalf("walking an empty prefix yielded %q", keysOf(none))
		}
	})

	t.Run("WalkObjects of a key range yields exactly the keys after StartAfter through Through", func(t *testing.T) {
		env := s.newEnv(t)
		bucket := env.NewBucket(t, nil)
		var keys []string
		for i := range 12 {
			keys = append(keys, fmt.Sprintf("dl/%02d/f", i))
			env.PutObject(t, bucket, keys[i], []byte(keys[i]))
		}
		env.PutObject(t, bucket, "other/x", []byte("outside the prefix"))
		ranges := []provider.KeyRange{
			{},
			{StartAfter: "dl/03/f"}, // an existing key is left out
			{StartAfter: "dl/03"},   // a bound between keys
			{Through: "dl/05/f"},    // an existing key is kept
			{Through: "dl/05/g"},    // a bound between keys
			{StartAfter: "dl/02/f", Through: "dl/07/f"}, // both
			{StartAfter: "dl/99"},                       // after every key
			{Through: "dl/"},                            // before every key
			{StartAfter: "a", Through: "z"},             // bounds outside the prefix
		}
		for _, r := range ranges {
			var want []string
			for _, k := range keys {
				if r.Contains(k) {
					want = append(want, k)
				}
			}
			got := keysOf(mustCollect(t, fmt.Sprintf("walk of %+v", r), env.Provider.WalkObjects(ctx, bucket, "dl/", r)))
			if !slices.Equal(got, want) {
				t.Errorf("walk of %+v yielded %q, want %q", r, got, want)
			}
		}
	})

	t.Run("WalkObjects of a missing bucket ends with NotFound, without a bucket InvalidInput", func(t *testing.T) {
		env := s.newEnv(t)
		missing := unique("no-such-bucket")
		got, err := collect(env.Provider.WalkObjects(ctx, missing, "", provider.KeyRange{}))
		wantError(t, err, provider.KindNotFound, missing)
		if len(got) != 0 {
			t.Errorf("walk of a missing bucket yielded %q", keysOf(got))
		}
		_, err = collect(env.Provider.WalkObjects(ctx, "", "", provider.KeyRange{}))
		wantError(t, err, provider.KindInvalidInput, "")
	})

	t.Run("WalkObjects of a cancelled context ends with a transient error", func(t *testing.T) {
		env := s.newEnv(t)
		bucket := env.NewBucket(t, nil)
		env.PutObject(t, bucket, "a", []byte("a"))
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		_, err := collect(env.Provider.WalkObjects(cancelled, bucket, "", provider.KeyRange{}))
		wantKind(t, err, provider.KindTransient)
	})
}

func (s *suite) versions(t *testing.T) {
	ctx := context.Background()

	t.Run("BucketVersioning is false until versioning is enabled; a missing bucket is NotFound", func(t *testing.T) {
		env := s.newEnv(t)
		bucket := env.NewBucket(t, nil)
		if on, err := env.Provider.BucketVersioning(ctx, bucket); err != nil || on {
			t.Fatalf("BucketVersioning of a new bucket = %v, %v; want false", on, err)
		}
		env.EnableVersioning(t, bucket)
		if on, err := env.Provider.BucketVersioning(ctx, bucket); err != nil || !on {
			t.Fatalf("BucketVersioning after enabling = %v, %v; want true", on, err)
		}
		missing := unique("no-such-bucket")
		_, err := env.Provider.BucketVersioning(ctx, missing)
		wantError(t, err, provider.KindNotFound, missing)
		_, err = env.Provider.BucketVersioning(ctx, "")
		wantError(t, err, provider.KindInvalidInput, "")
	})

	t.Run("WalkObjectsAsOf lists each key as it was at asOf, and copying what it lists gives the old bytes", func(t *testing.T) {
		env := s.newEnv(t)
		bucket := env.NewBucket(t, nil)
		old := map[string][]byte{
			"dl/deleted-before": []byte("deleted before asOf"),
			"dl/kept":           []byte("never changed"),
			"dl/overwritten":    []byte("the version of asOf"),
			"dl/deleted-after":  []byte("deleted after asOf"),
			"dl/a b+c.pdf":      []byte("a key that needs encoding, overwritten later"),
		}
		env.PutObject(t, bucket, "dl/pre-versioning", []byte("written before versioning was enabled"))
		env.EnableVersioning(t, bucket)
		for _, k := range shuffled(old) {
			env.PutObject(t, bucket, k, old[k])
		}
		env.PutObject(t, bucket, "other/outside", []byte("outside the prefix"))
		// The delete marker must be listed as later than the version it hides.
		afterSecondOf(lastModified(t, env, bucket, "dl/deleted-before"))
		env.DeleteObject(t, bucket, "dl/deleted-before")
		env.PutObject(t, bucket, "dl/clock", []byte("the last write before asOf"))
		asOf := lastModified(t, env, bucket, "dl/clock")

		// Everything from here on is listed as later than asOf.
		afterSecondOf(asOf)
		env.PutObject(t, bucket, "dl/added-after", []byte("added after asOf"))
		env.PutObject(t, bucket, "dl/overwritten", []byte("the version written after asOf, longer"))
		env.PutObject(t, bucket, "dl/a b+c.pdf", []byte("rewritten"))
		env.DeleteObject(t, bucket, "dl/deleted-after")
		env.PutObject(t, bucket, "dl/deleted-before", []byte("written again after asOf"))
		if later := lastModified(t, env, bucket, "dl/added-after"); !later.After(asOf) {
			t.Fatalf("an object written after waiting out asOf's second is listed as modified %v, not after asOf %v", later, asOf)
		}

		versionOf := func(key string, data []byte) versionedObject {
			ids := env.ObjectVersions(t, bucket, key)
			return versionedObject{data: data, version: ids[len(ids)-1]} // the oldest: the only one before asOf
		}
		want := map[string]versionedObject{
			// S3 lists it as version "null", GCS with the generation it was written as.
			"dl/pre-versioning": {data: []byte("written before versioning was enabled"), version: newestVersion(t, env, bucket, "dl/pre-versioning")},
			"dl/kept":           versionOf("dl/kept", old["dl/kept"]),
			"dl/overwritten":    versionOf("dl/overwritten", old["dl/overwritten"]),
			"dl/a b+c.pdf":      versionOf("dl/a b+c.pdf", old["dl/a b+c.pdf"]),
			"dl/deleted-after":  versionOf("dl/deleted-after", old["dl/deleted-after"]),
			"dl/clock":          {data: []byte("the last write before asOf"), version: newestVersion(t, env, bucket, "dl/clock")},
		}
		walked := mustCollect(t, "walk as of asOf", env.Provider.WalkObjectsAsOf(ctx, bucket, "dl/", asOf))
		wantAsOf(t, "walk as of asOf", walked, asOf, want)

		now := time.Now().Add(time.Hour)
		current := map[string]versionedObject{
			"dl/pre-versioning": want["dl/pre-versioning"],
			"dl/kept":           want["dl/kept"],
			"dl/clock":          want["dl/clock"],
		}
		for key, data := range map[string]string{
			"dl/added-after": "added after asOf", "dl/overwritten": "the version written after asOf, longer",
			"dl/a b+c.pdf": "rewritten", "dl/deleted-before": "written again after asOf",
		} {
			current[key] = versionedObject{data: []byte(data), version: newestVersion(t, env, bucket, key)}
		}
		wantAsOf(t, "walk as of now", mustCollect(t, "walk as of now", env.Provider.WalkObjectsAsOf(ctx, bucket, "dl/", now)), now, current)
		if got := mustCollect(t, "walk as of before", env.Provider.WalkObjectsAsOf(ctx, bucket, "dl/", asOf.Add(-time.Hour))); len(got) != 0 {
			t.Fatalf("a walk as of an hour before anything was written yielded %q", keysOf(got))
		}
		currentKeys := keysOf(mustCollect(t, "walk of the current objects", env.Provider.WalkObjects(ctx, bucket, "dl/", provider.KeyRange{})))
		if wantKeys := slices.Sorted(maps.Keys(current)); !slices.Equal(currentKeys, wantKeys) {
			t.Fatalf("WalkObjects of the versioned bucket yielded %q, want the current objects %q", currentKeys, wantKeys)
		}

		// Copying what the walk lists restores the library as it was at asOf.
		dst := env.NewBucket(t, nil)
		var stored storedLog
		res, err := env.Provider.CopyObjectStorage(ctx, provider.ObjectStorageCopyRequest{
			SourceBucket: bucket, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "restored/",
			Concurrency: 4, Stored: stored.record,
			Objects: func(yield func(provider.CopyItem, error) bool) {
				for o, err := range env.Provider.WalkObjectsAsOf(ctx, bucket, "dl/", asOf) {
					if !yield(provider.CopyItem{Source: o}, err) {
						return
					}
				}
			},
		})
		if err != nil {
			t.Fatalf("copy of the walk: %v", err)
		}
		if res.ObjectsCopied != int64(len(want)) || res.ObjectsVanished != 0 {
			t.Fatalf("copy of the walk %+v, want all %d objects copied", countsOf(res), len(want))
		}
		calls := stored.byKey(t)
		for key, w := range want {
			restored := "restored/" + strings.TrimPrefix(key, "dl/")
			if got, ok := env.ReadObject(t, dst, restored); !ok || !bytes.Equal(got, w.data) {
				t.Errorf("%s holds %q, want the version of asOf %q", restored, got, w.data)
			}
			if c := calls[restored]; c.SourceVersionID != w.version || c.SourceKey != key || c.SourceETag != md5Hex(w.data) {
				t.Errorf("Stored(%+v), want source %s version %q", c, key, w.version)
			}
		}
	})

	t.Run("WalkObjectsAsOf of a missing bucket ends with NotFound, and a caller may stop early", func(t *testing.T) {
		env := s.newEnv(t)
		missing := unique("no-such-bucket")
		_, err := collect(env.Provider.WalkObjectsAsOf(ctx, missing, "", time.Now()))
		wantError(t, err, provider.KindNotFound, missing)
		_, err = collect(env.Provider.WalkObjectsAsOf(ctx, "", "", time.Now()))
		wantError(t, err, provider.KindInvalidInput, "")

		bucket := env.NewBucket(t, nil)
		env.EnableVersioning(t, bucket)
		for i := range 3 {
			env.PutObject(t, bucket, fmt.Sprintf("k%d", i), []byte{byte(i)})
		}
		n := 0
		for _, err := range env.Provider.WalkObjectsAsOf(ctx, bucket, "", time.Now().Add(time.Hour)) {
			if err != nil {
				t.Fatalf("walk: %v", err)
			}
			n++
			break
		}
		if n != 1 {
			t.Fatalf("an early stop saw %d objects", n)
		}
	})

	t.Run("Source.VersionID copies that version byte for byte after the key was overwritten", func(t *testing.T) {
		env := s.newEnv(t)
		src, dst := env.NewBucket(t, nil), env.NewBucket(t, nil)
		env.EnableVersioning(t, src)
		large := make([]byte, 11<<20+4321) // copied in three parts
		for i := range large {
			large[i] = byte(i*7 + i>>11)
		}
		old := map[string][]byte{
			"dl/doc.pdf":   []byte("the old version, longer than the new one"),
			"dl/a b+c.pdf": []byte("the old version of a key that needs encoding"),
			"dl/video.mp4": large,
		}
		var items []provider.CopyItem
		for _, key := range slices.Sorted(maps.Keys(old)) {
			env.PutObject(t, src, key, old[key])
			env.PutObject(t, src, key, []byte("new"))
			ids := env.ObjectVersions(t, src, key)
			if len(ids) != 2 {
				t.Fatalf("%s has versions %q, want 2", key, ids)
			}
			items = append(items, provider.CopyItem{Source: provider.ObjectMetadata{
				Key: key, Size: int64(len(old[key])), ETag: md5Hex(old[key]), VersionID: ids[1],
			}})
		}
		var stored storedLog
		req := provider.ObjectStorageCopyRequest{
			SourceBucket: src, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "b/",
			MultipartThreshold: 6 << 20, PartSize: 5 << 20, Concurrency: 4, Stored: stored.record,
			Objects: itemsOf(items...),
		}
		res, err := env.Provider.CopyObjectStorage(ctx, req)
		if err != nil {
			t.Fatalf("copy: %v", err)
		}
		if res.ObjectsCopied != 3 || res.BytesCopied != sumSizes(old) {
			t.Fatalf("result %+v, want the 3 old versions copied", countsOf(res))
		}
		calls := stored.byKey(t)
		for _, it := range items {
			key := "b/" + strings.TrimPrefix(it.Source.Key, "dl/")
			if got, ok := env.ReadObject(t, dst, key); !ok || !bytes.Equal(got, old[it.Source.Key]) {
				t.Errorf("%s holds %d bytes (present %v), want the old version's %d", key, len(got), ok, len(old[it.Source.Key]))
			}
			if c := calls[key]; c.SourceVersionID != it.Source.VersionID || c.SourceETag != it.Source.ETag || !c.Copied {
				t.Errorf("Stored(%+v), want source version %q, ETag %q, copied", c, it.Source.VersionID, it.Source.ETag)
			}
		}

		var again storedLog
		req.Stored, req.Objects = again.record, itemsOf(items...)
		rerun, err := env.Provider.CopyObjectStorage(ctx, req)
		if err != nil {
			t.Fatalf("re-run: %v", err)
		}
		if rerun.ObjectsSkipped != 3 || rerun.ObjectsCopied != 0 {
			t.Fatalf("re-run %+v, want the 3 versions recognised as copied", countsOf(rerun))
		}
		for key, c := range again.byKey(t) {
			if c.SourceVersionID == "" || c.Copied {
				t.Errorf("re-run Stored(%+v) for %s, want its source version and Copied false", c, key)
			}
		}
	})

	t.Run("a version deleted for good counts as vanished", func(t *testing.T) {
		env := s.newEnv(t)
		src, dst := env.NewBucket(t, nil), env.NewBucket(t, nil)
		env.EnableVersioning(t, src)
		large := bytes.Repeat([]byte("large "), (7<<20)/6) // above the threshold: the multipart path
		old := map[string][]byte{"dl/doc.pdf": []byte("the version deleted for good"), "dl/video.mp4": large}
		var items []provider.CopyItem
		for _, key := range slices.Sorted(maps.Keys(old)) {
			env.PutObject(t, src, key, old[key])
			env.PutObject(t, src, key, []byte("current"))
			ids := env.ObjectVersions(t, src, key)
			env.DeleteObjectVersion(t, src, key, ids[1])
			items = append(items, provider.CopyItem{Source: provider.ObjectMetadata{
				Key: key, Size: int64(len(old[key])), ETag: md5Hex(old[key]), VersionID: ids[1],
			}})
		}
		var stored storedLog
		res, err := env.Provider.CopyObjectStorage(ctx, provider.ObjectStorageCopyRequest{
			SourceBucket: src, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "b/",
			MultipartThreshold: 6 << 20, PartSize: 5 << 20, Stored: stored.record, Objects: itemsOf(items...),
		})
		if err != nil {
			t.Fatalf("copy: %v", err)
		}
		if got := countsOf(res); got != (copyCounts{Total: 2, Vanished: 2, BytesTotal: sumSizes(old)}) {
			t.Errorf("result %+v, want both versions vanished", got)
		}
		if calls := stored.byKey(t); len(calls) != 0 {
			t.Errorf("Stored called for %q", slices.Sorted(maps.Keys(calls)))
		}
		if got := listing(t, env.Provider, dst, ""); len(got) != 0 {
			t.Errorf("the destination holds %q", slices.Sorted(maps.Keys(got)))
		}
	})
}
