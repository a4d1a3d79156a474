package contract

import (
	"bytes"
	"context"
	"iter"
	"maps"
	"slices"
	"testing"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// ---- Explicit copy items: destination keys, Unchecked ----------------------------

// itemsOf yields items in the given order.
func itemsOf(items ...provider.CopyItem) iter.Seq2[provider.CopyItem, error] {
	return func(yield func(provider.CopyItem, error) bool) {
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
	}
}

// reversed returns a reversed copy of items.
func reversed(items []provider.CopyItem) []provider.CopyItem {
	r := slices.Clone(items)
	slices.Reverse(r)
	return r
}

// itemsFixture is a source bucket holding a content-addressed repository outside the
// source prefix ("repo/") and a library under it ("dl/"), and the items of a copy that
// takes objects from both and writes each at a key of its own under "b/".
type itemsFixture struct {
	src, dst string
	// items, in destination key order; want is destination key (relative) → content.
	items []provider.CopyItem
	want  map[string][]byte
}

func newItemsFixture(t *testing.T, env Env) *itemsFixture {
	t.Helper()
	f := &itemsFixture{src: env.NewBucket(t, nil), dst: env.NewBucket(t, nil)}
	objects := map[string][]byte{
		"repo/blobs/ab/cdef01":  []byte("a content-addressed blob, outside the source prefix"),
		"repo/blobs/12/3456":    []byte("another blob"),
		"dl/20097/1/a b+c.pdf":  []byte("a key that needs encoding in x-amz-copy-source"),
		"dl/20097/1/1.0":        []byte("under the source prefix, destination key derived"),
		"dl/20097/1/not-copied": []byte("not in the list"),
	}
	for _, k := range shuffled(objects) {
		env.PutObject(t, f.src, k, objects[k])
	}
	meta := func(key string) provider.ObjectMetadata {
		return provider.ObjectMetadata{Key: key, Size: int64(len(objects[key])), ETag: md5Hex(objects[key])}
	}
	f.items = []provider.CopyItem{
		{Source: meta("dl/20097/1/1.0")}, // → 20097/1/1.0
		{Source: meta("repo/blobs/ab/cdef01"), DestinationKey: "20097/2/restored.pdf"},
		{Source: meta("repo/blobs/12/3456"), DestinationKey: "20097/3/x y+z.pdf"},
		{Source: meta("dl/20097/1/a b+c.pdf"), DestinationKey: "renamed/a b+c.pdf"},
	}
	f.want = map[string][]byte{
		"20097/1/1.0":          objects["dl/20097/1/1.0"],
		"20097/2/restored.pdf": objects["repo/blobs/ab/cdef01"],
		"20097/3/x y+z.pdf":    objects["repo/blobs/12/3456"],
		"renamed/a b+c.pdf":    objects["dl/20097/1/a b+c.pdf"],
	}
	return f
}

func (f *itemsFixture) request(stored *storedLog) provider.ObjectStorageCopyRequest {
	return provider.ObjectStorageCopyRequest{
		SourceBucket: f.src, SourcePrefix: "dl/", DestinationBucket: f.dst, DestinationPrefix: "b/",
		Concurrency: 4, FileListLimit: 100, Stored: stored.record,
	}
}

// destinationKey is where the copy writes item.
func (f *itemsFixture) destinationKey(item provider.CopyItem) string {
	if item.DestinationKey != "" {
		return "b/" + item.DestinationKey
	}
	return "b/" + item.Source.Key[len("dl/"):]
}

// wantHolds checks the destination holds exactly want under "b/" (plus extra, outside
// what the copy wrote), byte for byte.
func (f *itemsFixture) wantHolds(t *testing.T, env Env, extra map[string][]byte) {
	t.Helper()
	all := map[string][]byte{}
	maps.Copy(all, extra)
	for rel, data := range f.want {
		all["b/"+rel] = data
	}
	listed := listing(t, env.Provider, f.dst, "")
	if got, want := slices.Sorted(maps.Keys(listed)), slices.Sorted(maps.Keys(all)); !slices.Equal(got, want) {
		t.Fatalf("destination holds %q,\nwant %q", got, want)
	}
	for key, data := range all {
		if got, ok := env.ReadObject(t, f.dst, key); !ok || !bytes.Equal(got, data) {
			t.Errorf("%s holds %q, want %q", key, got, data)
		}
	}
}

// wantStoredItems checks Stored was called once per item, naming its source key and
// destination key, with the destination's ETag.
func (f *itemsFixture) wantStoredItems(t *testing.T, env Env, stored *storedLog, copied bool) {
	t.Helper()
	listed := listing(t, env.Provider, f.dst, "b/")
	calls := stored.byKey(t)
	if len(calls) != len(f.items) {
		t.Errorf("Stored called for %q, want one call for each of the %d items", slices.Sorted(maps.Keys(calls)), len(f.items))
	}
	for _, it := range f.items {
		key := f.destinationKey(it)
		wantStoredObject(t, calls[key], provider.StoredObject{
			SourceKey: it.Source.Key, Key: key, Size: it.Source.Size,
			ETag: listed[key].ETag, SourceETag: it.Source.ETag, Copied: copied,
		})
	}
}

func (s *suite) copyItems(t *testing.T) {
	ctx := context.Background()

	t.Run("DestinationKey writes an item at DestinationPrefix plus that key, from any key of the source bucket", func(t *testing.T) {
		env := s.newEnv(t)
		f := newItemsFixture(t, env)
		var stored storedLog
		req := f.request(&stored)
		req.Objects = itemsOf(f.items...)
		res, err := env.Provider.CopyObjectStorage(ctx, req)
		if err != nil {
			t.Fatalf("copy: %v", err)
		}
		f.wantHolds(t, env, nil)
		f.wantStoredItems(t, env, &stored, true)
		if got := countsOf(res); got != (copyCounts{Total: 4, Copied: 4, BytesCopied: sumSizes(f.want), BytesTotal: sumSizes(f.want)}) {
			t.Errorf("result %+v, want the 4 items copied", got)
		}
		var wantFiles []string
		for _, it := range f.items {
			wantFiles = append(wantFiles, f.destinationKey(it))
		}
		if got := slices.Sorted(slices.Values(keysOf(res.Files))); !slices.Equal(got, slices.Sorted(slices.Values(wantFiles))) {
			t.Errorf("Files %q, want the destination keys %q", got, wantFiles)
		}

		// A re-run finds every item at its destination key, whatever the order of the
		// list (out of order, the destination listing cannot answer alone).
		for name, items := range map[string][]provider.CopyItem{
			"in destination key order":     f.items,
			"out of destination key order": reversed(f.items),
		} {
			t.Run("a re-run "+name+" skips them all", func(t *testing.T) {
				var again storedLog
				req.Stored = again.record
				req.Objects = itemsOf(items...)
				rerun, err := env.Provider.CopyObjectStorage(ctx, req)
				if err != nil {
					t.Fatalf("re-run: %v", err)
				}
				if rerun.ObjectsSkipped != 4 || rerun.ObjectsCopied != 0 {
					t.Errorf("re-run %+v, want the 4 items skipped", countsOf(rerun))
				}
				f.wantStoredItems(t, env, &again, false)
			})
		}
	})

	t.Run("an item without a source key is InvalidInput", func(t *testing.T) {
		env := s.newEnv(t)
		f := newItemsFixture(t, env)
		var stored storedLog
		req := f.request(&stored)
		req.Objects = itemsOf(provider.CopyItem{DestinationKey: "x"})
		_, err := env.Provider.CopyObjectStorage(ctx, req)
		wantError(t, err, provider.KindInvalidInput, "")
		f.want = nil
		f.wantHolds(t, env, nil)
	})

	t.Run("Unchecked copies every item, and only them, without looking at the destination", func(t *testing.T) {
		env := s.newEnv(t)
		f := newItemsFixture(t, env)
		// A content-addressed destination: a key that is there holds the same bytes.
		env.PutObject(t, f.dst, "b/20097/2/restored.pdf", f.want["20097/2/restored.pdf"])
		env.PutObject(t, f.dst, "b/unlisted", []byte("not in the list: left alone"))
		env.PutObject(t, f.dst, "elsewhere", []byte("outside the destination prefix"))
		var stored storedLog
		req := f.request(&stored)
		req.Existing = provider.Unchecked
		req.Objects = itemsOf(reversed(f.items)...) // any order: nothing is looked up
		res, err := env.Provider.CopyObjectStorage(ctx, req)
		if err != nil {
			t.Fatalf("copy: %v", err)
		}
		f.wantHolds(t, env, map[string][]byte{
			"b/unlisted": []byte("not in the list: left alone"),
			"elsewhere":  []byte("outside the destination prefix"),
		})
		f.wantStoredItems(t, env, &stored, true)
		if got := countsOf(res); got != (copyCounts{Total: 4, Copied: 4, BytesCopied: sumSizes(f.want), BytesTotal: sumSizes(f.want)}) {
			t.Errorf("result %+v, want all 4 items copied, the one already there too", got)
		}
	})

	t.Run("Unchecked with a listing of the source copies every selected object", func(t *testing.T) {
		env := s.newEnv(t)
		src := newLiferaySource(t, env)
		dst := env.NewBucket(t, nil)
		req := src.request(dst, "b/")
		req.Existing = provider.Unchecked
		var stored storedLog
		req.Stored = stored.record
		if _, err := env.Provider.CopyObjectStorage(ctx, req); err != nil {
			t.Fatalf("copy: %v", err)
		}
		var again storedLog
		req.Stored = again.record
		res, err := env.Provider.CopyObjectStorage(ctx, req)
		if err != nil {
			t.Fatalf("second copy: %v", err)
		}
		n := int64(len(src.kept))
		if res.ObjectsCopied != n || res.ObjectsSkipped != 0 || res.ObjectsExcluded != int64(len(src.generated)+len(src.userExcl)) {
			t.Fatalf("second copy %+v, want all %d selected objects copied again and the exclusions honoured", countsOf(res), n)
		}
		checkCopied(t, env, src, dst, "b/", src.kept, &again, true)
	})

	t.Run("Unchecked into a missing destination bucket is NotFound naming it", func(t *testing.T) {
		env := s.newEnv(t)
		f := newItemsFixture(t, env)
		var stored storedLog
		req := f.request(&stored)
		req.Existing = provider.Unchecked
		req.DestinationBucket = unique("no-such-bucket")
		req.Objects = itemsOf(f.items...)
		_, err := env.Provider.CopyObjectStorage(ctx, req)
		wantError(t, err, provider.KindNotFound, req.DestinationBucket)
	})
}
