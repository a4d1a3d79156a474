package contract

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"maps"
	"slices"
	"testing"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// ---- Copies into a destination that holds objects (restores) ---------------------

// objectsOf lists keys of bucket as ObjectMetadata in the given order, with the size
// and ETag ListObjects reports: what a restore reads from a backup's inventory.
func objectsOf(t *testing.T, env Env, bucket string, keys ...string) iter.Seq2[provider.CopyItem, error] {
	t.Helper()
	listed := listing(t, env.Provider, bucket, "")
	var items []provider.CopyItem
	for _, k := range keys {
		o, ok := listed[k]
		if !ok {
			o = provider.ObjectMetadata{Key: k, Size: 1, ETag: md5Hex([]byte("x"))} // listed, but gone from the store
		}
		items = append(items, provider.CopyItem{Source: o})
	}
	return itemsOf(items...)
}

// restoreFixture is a backup's data under "b1/data/" and a live library under "dl/"
// that already holds some of its keys: "same" identical, "changed" with other content
// of the same size, "shorter" with other content of another size; "gone" is only in
// the backup.
type restoreFixture struct {
	src, dst string
	backup   map[string][]byte // relative key → content in the backup
	live     map[string][]byte // relative key → content in the live library before the copy
}

func newRestoreFixture(t *testing.T, env Env) *restoreFixture {
	t.Helper()
	f := &restoreFixture{src: env.NewBucket(t, nil), dst: env.NewBucket(t, nil),
		backup: map[string][]byte{
			"20097/1/same/1.0":                     []byte("identical in both"),
			"20097/1/changed/1.0":                  []byte("the backed-up version"),
			"20097/1/shorter/1.0":                  []byte("the backed-up, longer version"),
			"20097/1/gone/1.0":                     []byte("deleted from the live library"),
			"20097/1/gone/2.0":                     []byte("also deleted"),
			"20097/0/document_thumbnail/1/1.0.jpg": []byte("a generated file the backup kept"),
		},
		live: map[string][]byte{
			"20097/1/same/1.0":    []byte("identical in both"),
			"20097/1/changed/1.0": []byte("THE LIVE, EDITED VERSION"[:len("the backed-up version")]),
			"20097/1/shorter/1.0": []byte("short"),
			"20097/1/only-live":   []byte("never in the backup"),
		},
	}
	for rel, data := range f.backup {
		env.PutObject(t, f.src, "b1/data/"+rel, data)
	}
	env.PutObject(t, f.src, "b1/manifest.json", []byte("outside the data prefix"))
	for rel, data := range f.live {
		env.PutObject(t, f.dst, "dl/"+rel, data)
	}
	return f
}

func (f *restoreFixture) request(stored *storedLog) provider.ObjectStorageCopyRequest {
	return provider.ObjectStorageCopyRequest{
		SourceBucket: f.src, SourcePrefix: "b1/data/", DestinationBucket: f.dst, DestinationPrefix: "dl/",
		Concurrency: 4, FileListLimit: 100, Stored: stored.record,
	}
}

// wantDestination checks the live library holds exactly want, byte for byte.
func (f *restoreFixture) wantDestination(t *testing.T, env Env, want map[string][]byte) {
	t.Helper()
	listed := listing(t, env.Provider, f.dst, "dl/")
	var wantKeys []string
	for rel := range want {
		wantKeys = append(wantKeys, "dl/"+rel)
	}
	if got := slices.Sorted(maps.Keys(listed)); !slices.Equal(got, slices.Sorted(slices.Values(wantKeys))) {
		t.Fatalf("live library holds %q,\nwant %q", got, slices.Sorted(slices.Values(wantKeys)))
	}
	for rel, data := range want {
		if got, ok := env.ReadObject(t, f.dst, "dl/"+rel); !ok || !bytes.Equal(got, data) {
			t.Errorf("dl/%s holds %q, want %q", rel, got, data)
		}
	}
}

// wantStored checks Stored was called exactly for rels, with copied telling which
// of them this run copied.
func wantStored(t *testing.T, stored *storedLog, copied map[string]bool) {
	t.Helper()
	calls := stored.byKey(t)
	var want []string
	for rel := range copied {
		want = append(want, "dl/"+rel)
	}
	if got := slices.Sorted(maps.Keys(calls)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("Stored called for %q,\nwant %q", got, slices.Sorted(slices.Values(want)))
	}
	for rel, c := range copied {
		if o := calls["dl/"+rel]; o.Copied != c || o.SourceKey != "b1/data/"+rel {
			t.Errorf("Stored(%+v), want source b1/data/%s and Copied %v", o, rel, c)
		}
	}
}

func (s *suite) copyExisting(t *testing.T) {
	ctx := context.Background()
	all := func(f *restoreFixture) []string {
		var keys []string
		for rel := range f.backup {
			keys = append(keys, "b1/data/"+rel)
		}
		return keys
	}
	// Objects lists come in key order and out of it: an inventory is written as
	// objects complete, not sorted.
	orders := map[string]func([]string) []string{
		"in key order":     func(k []string) []string { return slices.Sorted(slices.Values(k)) },
		"out of key order": func(k []string) []string { s := slices.Sorted(slices.Values(k)); slices.Reverse(s); return s },
	}

	t.Run("SkipExisting copies only absent keys and leaves every existing object as it was", func(t *testing.T) {
		for name, objects := range map[string]func(env Env, f *restoreFixture) iter.Seq2[provider.CopyItem, error]{
			"listing the source": func(Env, *restoreFixture) iter.Seq2[provider.CopyItem, error] { return nil },
			"Objects in key order": func(env Env, f *restoreFixture) iter.Seq2[provider.CopyItem, error] {
				return objectsOf(t, env, f.src, orders["in key order"](all(f))...)
			},
			"Objects out of key order": func(env Env, f *restoreFixture) iter.Seq2[provider.CopyItem, error] {
				return objectsOf(t, env, f.src, orders["out of key order"](all(f))...)
			},
		} {
			t.Run(name, func(t *testing.T) {
				env := s.newEnv(t)
				f := newRestoreFixture(t, env)
				var stored storedLog
				req := f.request(&stored)
				req.Existing = provider.SkipExisting
				req.Objects = objects(env, f)
				res, err := env.Provider.CopyObjectStorage(ctx, req)
				if err != nil {
					t.Fatalf("copy: %v", err)
				}
				absent := []string{"20097/1/gone/1.0", "20097/1/gone/2.0", "20097/0/document_thumbnail/1/1.0.jpg"}
				want := maps.Clone(f.live)
				var copiedBytes int64
				copied := map[string]bool{}
				for _, rel := range absent {
					want[rel] = f.backup[rel]
					copied[rel] = true
					copiedBytes += int64(len(f.backup[rel]))
				}
				f.wantDestination(t, env, want)
				wantStored(t, &stored, copied)
				if got := countsOf(res); got != (copyCounts{Total: 6, Copied: 3, Skipped: 3, BytesCopied: copiedBytes, BytesTotal: sumSizes(f.backup)}) {
					t.Errorf("result %+v, want 6 total, 3 copied, 3 skipped", got)
				}
				for _, file := range res.Files {
					if !copied[file.Key[len("dl/"):]] {
						t.Errorf("Files lists %s, which this copy did not store", file.Key)
					}
				}
			})
		}
	})

	t.Run("Overwrite replaces what differs and skips what is identical", func(t *testing.T) {
		for name, order := range orders {
			t.Run("Objects "+name, func(t *testing.T) {
				env := s.newEnv(t)
				f := newRestoreFixture(t, env)
				var stored storedLog
				req := f.request(&stored)
				req.Existing = provider.Overwrite
				req.Objects = objectsOf(t, env, f.src, order(all(f))...)
				res, err := env.Provider.CopyObjectStorage(ctx, req)
				if err != nil {
					t.Fatalf("copy: %v", err)
				}
				want := maps.Clone(f.live)
				maps.Copy(want, f.backup)
				f.wantDestination(t, env, want)
				copied := map[string]bool{}
				for rel := range f.backup {
					copied[rel] = rel != "20097/1/same/1.0"
				}
				wantStored(t, &stored, copied)
				if res.ObjectsCopied != 5 || res.ObjectsSkipped != 1 {
					t.Errorf("result %+v, want 5 copied and the identical object skipped", countsOf(res))
				}
			})
		}
	})

	t.Run("Objects copies exactly the listed keys, exclusions aside, and a re-run skips them", func(t *testing.T) {
		env := s.newEnv(t)
		f := newRestoreFixture(t, env)
		var stored storedLog
		req := f.request(&stored)
		req.ExcludeGeneratedFiles = true // not applied to a list
		req.ExcludePatterns = []string{"**/gone/**"}
		picked := []string{"20097/1/gone/2.0", "20097/0/document_thumbnail/1/1.0.jpg", "20097/1/shorter/1.0"}
		var keys []string
		for _, rel := range picked {
			keys = append(keys, "b1/data/"+rel)
		}
		req.Objects = objectsOf(t, env, f.src, append(keys, "b1/data/20097/1/vanished")...)
		res, err := env.Provider.CopyObjectStorage(ctx, req)
		if err != nil {
			t.Fatalf("copy: %v", err)
		}
		want := maps.Clone(f.live)
		copied := map[string]bool{}
		for _, rel := range picked {
			want[rel] = f.backup[rel]
			copied[rel] = true
		}
		f.wantDestination(t, env, want)
		wantStored(t, &stored, copied)
		if res.ObjectsTotal != 4 || res.ObjectsCopied != 3 || res.ObjectsVanished != 1 || res.ObjectsExcluded != 0 {
			t.Errorf("result %+v, want 3 of 4 listed objects copied, the missing one vanished, none excluded", countsOf(res))
		}

		var again storedLog
		req.Stored = again.record
		req.Objects = objectsOf(t, env, f.src, keys...)
		rerun, err := env.Provider.CopyObjectStorage(ctx, req)
		if err != nil {
			t.Fatalf("re-run: %v", err)
		}
		if rerun.ObjectsSkipped != 3 || rerun.ObjectsCopied != 0 {
			t.Errorf("re-run %+v, want the 3 objects skipped", countsOf(rerun))
		}
		for rel := range copied {
			copied[rel] = false
		}
		wantStored(t, &again, copied)
	})

	t.Run("Objects outside the source prefix, or a list that fails, stop the copy", func(t *testing.T) {
		env := s.newEnv(t)
		f := newRestoreFixture(t, env)
		var stored storedLog
		req := f.request(&stored)
		req.Objects = objectsOf(t, env, f.src, "b1/manifest.json")
		_, err := env.Provider.CopyObjectStorage(ctx, req)
		wantError(t, err, provider.KindInvalidInput, "b1/manifest.json")

		broken := provider.NewError(provider.KindNotFound, "GetObject", f.src+"/b1/inventory/1.jsonl.gz", errors.New("gone")).
			WithMessage("object s3://" + f.src + "/b1/inventory/1.jsonl.gz does not exist")
		req.Objects = func(yield func(provider.CopyItem, error) bool) { yield(provider.CopyItem{}, broken) }
		_, err = env.Provider.CopyObjectStorage(ctx, req)
		if !errors.Is(err, broken) || provider.KindOf(err) != provider.KindNotFound {
			t.Errorf("copy with a failing list: %v, want the list's NotFound error", err)
		}
		f.wantDestination(t, env, f.live)
	})
}
