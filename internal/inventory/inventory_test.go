package inventory

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/liferay/lc2-backup-controller/api/schemas"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
)

func download(t *testing.T, p *fake.Provider, bucket, key string) []byte {
	t.Helper()
	rc, err := p.DownloadObject(context.Background(), bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestWriterSplitsPartsFlushesOnTimeAndRoundTrips(t *testing.T) {
	ctx := context.Background()
	cloud := fake.New("b")
	c := clocktesting.NewFakePassiveClock(time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC))
	run := layout.RunID(c.Now())
	w := NewWriter(cloud, "b", "p/x/", run, c)
	w.partEntries = 3

	var want []Entry
	for i := range 7 {
		e := Entry{SourceKey: fmt.Sprintf("dl/<&>\u2028%d", i), StoredKey: fmt.Sprintf("data/<&>\u2028%d", i), Size: int64(i), ETag: "e", SourceETag: "s"}
		want = append(want, e)
		w.Add(ctx, e)
	}
	// Two full parts are written; the seventh entry waits for the interval.
	if _, err := cloud.ListObjectsUpTo(ctx, "b", "p/x/"+layout.PartKey(run, 2), 1); err != nil {
		t.Fatal(err)
	}
	c.SetTime(c.Now().Add(FlushInterval))
	want = append(want, Entry{SourceKey: "dl/late", StoredKey: "data/late", Size: 100, ETag: "e"})
	w.Add(ctx, want[len(want)-1])
	sum, err := w.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Objects != 8 || sum.Bytes != 0+1+2+3+4+5+6+100 || len(sum.Parts) != 3 {
		t.Fatalf("summary %+v, want 8 objects in 3 parts", sum)
	}
	var got []Entry
	for i, part := range sum.Parts {
		if part.Key != layout.PartKey(run, i) || !layout.IsPartKey(part.Key) {
			t.Fatalf("part %d key %q", i, part.Key)
		}
		read, err := Read(download(t, cloud, "b", "p/x/"+part.Key), func(e Entry) error { got = append(got, e); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if read.SHA256 != part.SHA256 || read.Objects != part.Objects || read.Bytes != part.Bytes {
			t.Fatalf("part %d reads as %+v, written as %+v", i, read, part)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("entries read back differ:\n got %+v\nwant %+v", got, want)
	}
}

func TestWriterWritesEachPartInKeyOrder(t *testing.T) {
	ctx := context.Background()
	cloud := fake.New("b")
	c := clocktesting.NewFakePassiveClock(time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC))
	run := layout.RunID(c.Now())
	w := NewWriter(cloud, "b", "p/x/", run, c)
	w.partEntries = 4
	// Completion order, as concurrent copies finish.
	for _, k := range []string{"d", "b", "a", "c", "h", "e", "g", "f", "i"} {
		w.Add(ctx, Entry{SourceKey: "dl/" + k, StoredKey: "data/" + k, ETag: "e"})
	}
	sum, err := w.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"data/a", "data/b", "data/c", "data/d"}, {"data/e", "data/f", "data/g", "data/h"}, {"data/i"}}
	for i, part := range sum.Parts {
		var keys []string
		if _, err := Read(download(t, cloud, "b", "p/x/"+part.Key), func(e Entry) error { keys = append(keys, e.StoredKey); return nil }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(keys, want[i]) {
			t.Fatalf("part %d holds %v, want %v", i, keys, want[i])
		}
	}
}

func TestWriterKeepsTheFirstUploadError(t *testing.T) {
	ctx := context.Background()
	cloud := fake.New("b")
	c := clocktesting.NewFakePassiveClock(time.Now())
	w := NewWriter(cloud, "b", "p/", layout.RunID(c.Now()), c)
	cloud.FailWith("UploadObject", errors.New("boom"))
	w.Add(ctx, Entry{StoredKey: "data/a"})
	if _, err := w.Close(ctx); err == nil {
		t.Fatal("Close hid the upload failure")
	}
}

func TestReadRefusesGarbage(t *testing.T) {
	if _, err := Read([]byte("not gzip"), func(Entry) error { return nil }); err == nil {
		t.Fatal("garbage read as an inventory part")
	}
	data, _, err := encode([]Entry{{SourceKey: "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Read(data, func(Entry) error { return nil }); err == nil {
		t.Fatal("an entry without storedKey was accepted")
	}
}

func TestWritePartListsMadeFilesInStoredKeyOrderAndRoundTrips(t *testing.T) {
	ctx := context.Background()
	cloud := fake.New("b")
	dumpSum := "sha256:" + strings.Repeat("ab", 32)
	recordSum := "sha256:" + strings.Repeat("cd", 32)
	entries := []Entry{
		Made(provider.ObjectMetadata{Key: "p/x/database/dump.pgdump", Size: 4096, ETag: "e1-3"}, "p/x/", dumpSum),
		Made(provider.ObjectMetadata{Key: "p/x/database/dump.json", Size: 812, ETag: "e2"}, "p/x/", recordSum),
	}
	key := layout.DatabasePartKey("")
	part, err := WritePart(ctx, cloud, "b", "p/x/", key, entries)
	if err != nil {
		t.Fatal(err)
	}
	if part.Key != key || part.Objects != 2 || part.Bytes != 4096+812 {
		t.Fatalf("part %+v, want 2 objects, %d bytes at %s", part, 4096+812, key)
	}
	data := download(t, cloud, "b", "p/x/"+key)
	if err := schemas.ValidateObject("p/x/"+key, data); err != nil {
		t.Fatalf("the database part does not match the published inventory line schema: %v", err)
	}
	var got []Entry
	read, err := Read(data, func(e Entry) error { got = append(got, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if read.SHA256 != part.SHA256 || read.Objects != part.Objects || read.Bytes != part.Bytes {
		t.Fatalf("part reads as %+v, written as %+v", read, part)
	}
	want := []Entry{
		{StoredKey: "database/dump.json", Size: 812, ETag: "e2", Checksum: recordSum},
		{StoredKey: "database/dump.pgdump", Size: 4096, ETag: "e1-3", Checksum: dumpSum},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("entries read back differ:\n got %+v\nwant %+v", got, want)
	}
	// The first line as stored: no source key to speak of, but the member is written,
	// as every line of every part has it.
	if line := firstLine(t, data); line != `{"sourceKey":"","storedKey":"database/dump.json","size":812,"etag":"e2","checksum":"`+recordSum+`"}` {
		t.Fatalf("first line %s", line)
	}

	// Written again whole, e.g. after a dump that ran again: the part is replaced.
	entries[0].Size = 10
	again, err := WritePart(ctx, cloud, "b", "p/x/", key, entries)
	if err != nil {
		t.Fatal(err)
	}
	if again.Bytes != 10+812 || again.Objects != 2 {
		t.Fatalf("rewritten part %+v", again)
	}
	if _, err := Read(download(t, cloud, "b", "p/x/"+key), func(Entry) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestWritePartReturnsTheUploadError(t *testing.T) {
	cloud := fake.New("b")
	cloud.FailWith("UploadObject", errors.New("boom"))
	if _, err := WritePart(context.Background(), cloud, "b", "p/", layout.DatabasePartKey(""), []Entry{{StoredKey: "database/dump.json"}}); err == nil {
		t.Fatal("WritePart hid the upload failure")
	}
}

func firstLine(t *testing.T, data []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	return line
}
