package aws

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// enableVersioning turns versioning on for bucket.
func (c rawClients) enableVersioning(t testing.TB, bucket string) {
	t.Helper()
	_, err := c.s3.PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{
		Bucket:                  &bucket,
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	})
	if err != nil {
		t.Fatalf("enable versioning of %s: %v", bucket, err)
	}
}

// putVersion writes one object and returns the version id S3 gave it.
func (c rawClients) putVersion(t testing.TB, bucket, key string, data []byte) string {
	t.Helper()
	out, err := c.s3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: &bucket, Key: &key, Body: bytes.NewReader(data), ContentLength: awssdk.Int64(int64(len(data))),
	})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return awssdk.ToString(out.VersionId)
}

// deleteObject deletes key (a delete marker in a versioned bucket) or, with a
// versionID, that version for good.
func (c rawClients) deleteObject(t testing.TB, bucket, key, versionID string) {
	t.Helper()
	in := &s3.DeleteObjectInput{Bucket: &bucket, Key: &key}
	if versionID != "" {
		in.VersionId = &versionID
	}
	if _, err := c.s3.DeleteObject(context.Background(), in); err != nil {
		t.Fatalf("delete %s/%s (version %q): %v", bucket, key, versionID, err)
	}
}

// objectVersions returns the ids of key's versions, newest first, without its delete
// markers.
func (c rawClients) objectVersions(t testing.TB, bucket, key string) []string {
	t.Helper()
	var ids []string
	in := &s3.ListObjectVersionsInput{Bucket: &bucket, Prefix: &key}
	for {
		out, err := c.s3.ListObjectVersions(context.Background(), in)
		if err != nil {
			t.Fatalf("list versions of %s/%s: %v", bucket, key, err)
		}
		for _, v := range out.Versions {
			if awssdk.ToString(v.Key) == key {
				ids = append(ids, awssdk.ToString(v.VersionId))
			}
		}
		if !awssdk.ToBool(out.IsTruncated) {
			return ids
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
}

// lastModifiedOf is key's LastModified as moto lists it.
func (c rawClients) lastModifiedOf(t testing.TB, bucket, key string) time.Time {
	t.Helper()
	out, err := c.s3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		t.Fatalf("head %s/%s: %v", bucket, key, err)
	}
	return awssdk.ToTime(out.LastModified)
}

// nextSecond waits until the clock has left the second of ts: S3 keeps LastModified
// to the second, so what is written afterwards is listed as later than ts.
func nextSecond(ts time.Time) {
	time.Sleep(time.Until(ts.Truncate(time.Second).Add(time.Second)))
}

func TestCopySourceEncodesKeyAndVersion(t *testing.T) {
	for _, c := range []struct{ key, version, want string }{
		{"dl/a b+c (1).pdf", "", "src/dl/a%20b%2Bc%20%281%29.pdf"},
		{"dl/r\u00e9sum\u00e9", "", "src/dl/r%C3%A9sum%C3%A9"},
		// AWS version ids may hold "+" and "/": S3 would read a bare "+" as a space.
		{"dl/1.0", "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", "src/dl/1.0?versionId=3%2FL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY"},
		{"dl/1.0", "null", "src/dl/1.0?versionId=null"},
	} {
		if got := copySource("src", c.key, c.version); got != c.want {
			t.Errorf("copySource(%q, %q) = %q, want %q", c.key, c.version, got, c.want)
		}
	}
}

// TestAsOfPickerMergesVersionsAndDeleteMarkers holds the merge of a version listing's
// two lists to the order S3 lists entries in, across pages, including the entries
// whose LastModified (whole seconds) cannot order them.
func TestAsOfPickerMergesVersionsAndDeleteMarkers(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) *time.Time { ts := base.Add(time.Duration(s) * time.Second); return &ts }
	version := func(key, id string, s int, latest bool) s3types.ObjectVersion {
		return s3types.ObjectVersion{
			Key: &key, VersionId: &id, LastModified: at(s), IsLatest: &latest,
			ETag: awssdk.String(`"` + id + `-etag"`), Size: awssdk.Int64(int64(len(id))),
		}
	}
	marker := func(key string, s int, latest bool) s3types.DeleteMarkerEntry {
		return s3types.DeleteMarkerEntry{Key: &key, VersionId: awssdk.String("m"), LastModified: at(s), IsLatest: &latest}
	}
	pick := asOfPicker{asOf: *at(10)}
	var got []string
	collect := func(objects []provider.ObjectMetadata) {
		for _, o := range objects {
			if o.ETag != o.VersionID+"-etag" || o.Size != int64(len(o.VersionID)) || o.LastModified.After(*at(10)) {
				t.Errorf("%s: %+v does not carry its version's metadata", o.Key, o)
			}
			got = append(got, o.Key+"@"+o.VersionID)
		}
	}
	collect(pick.page(
		[]s3types.ObjectVersion{
			version("a", "a2", 20, true), version("a", "a1", 5, false), // a1 is as of 10
			version("b", "b1", 3, false),                               // deleted at 7
			version("c", "c1", 9, false),                               // same second as its marker, which is latest: deleted
			version("d", "d2", 9, false), version("d", "d1", 1, false), // same second as a marker that is not latest: d2 taken
			version("e", "e3", 15, true), // e continues on the next page
		},
		[]s3types.DeleteMarkerEntry{marker("b", 7, true), marker("c", 9, true), marker("d", 9, false), marker("d", 12, true)},
	))
	collect(pick.page(
		[]s3types.ObjectVersion{version("e", "e2", 10, false), version("e", "e1", 2, false), version("f", "f1", 11, true)},
		[]s3types.DeleteMarkerEntry{marker("e", 14, false)},
	))
	collect(pick.page(nil, []s3types.DeleteMarkerEntry{marker("g", 4, true)}))
	if want := []string{"a@a1", "d@d2", "e@e2"}; !slices.Equal(got, want) {
		t.Fatalf("picked %q, want %q", got, want)
	}
}

// TestWalkObjectsAsOfPagesThroughVersions walks a history whose keys' versions and
// delete markers span listing pages, with pages of 1 to 5 entries and the default,
// and expects the same walk from each.
func TestWalkObjectsAsOfPagesThroughVersions(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	bucket := raw.newBucket(t, "versions")
	raw.enableVersioning(t, bucket)

	type entry struct {
		version string
		data    []byte
	}
	asOfWant := map[string]entry{}
	put := func(key, data string) entry {
		return entry{raw.putVersion(t, bucket, key, []byte(data)), []byte(data)}
	}
	// First second: every key's first version.
	first := map[string]entry{}
	for i := range 8 {
		key := fmt.Sprintf("dl/k%02d", i)
		first[key] = put(key, fmt.Sprintf("k%02d first version%s", i, strings.Repeat("!", i)))
	}
	first["dl/deleted-before"] = put("dl/deleted-before", "deleted before asOf")
	first["dl/deleted-after"] = put("dl/deleted-after", "deleted after asOf")
	raw.putVersion(t, bucket, "other/outside", []byte("outside the prefix"))
	nextSecond(raw.lastModifiedOf(t, bucket, "dl/deleted-after"))

	// Second second: even keys rewritten, one key deleted; asOf is its end.
	for key, e := range first {
		asOfWant[key] = e
	}
	for i := 0; i < 8; i += 2 {
		key := fmt.Sprintf("dl/k%02d", i)
		asOfWant[key] = put(key, fmt.Sprintf("k%02d second version", i))
	}
	raw.deleteObject(t, bucket, "dl/deleted-before", "")
	delete(asOfWant, "dl/deleted-before")
	asOfWant["dl/clock"] = put("dl/clock", "the last write before asOf")
	asOf := raw.lastModifiedOf(t, bucket, "dl/clock")
	nextSecond(asOf)

	// After asOf: rewrites, deletes and a new key, none of which the walk may see.
	raw.putVersion(t, bucket, "dl/k00", []byte("k00 third version"))
	raw.putVersion(t, bucket, "dl/k01", []byte("k01 rewritten after asOf"))
	raw.deleteObject(t, bucket, "dl/k02", "")
	raw.deleteObject(t, bucket, "dl/k03", "")
	raw.deleteObject(t, bucket, "dl/deleted-after", "")
	raw.putVersion(t, bucket, "dl/deleted-before", []byte("written again after asOf"))
	raw.putVersion(t, bucket, "dl/added-after", []byte("added after asOf"))
	if later := raw.lastModifiedOf(t, bucket, "dl/added-after"); !later.After(asOf) {
		t.Fatalf("moto lists an object written after asOf's second as modified %v, not after %v", later, asOf)
	}

	wantKeys := slices.Sorted(func(yield func(string) bool) {
		for k := range asOfWant {
			if !yield(k) {
				return
			}
		}
	})
	for _, pageSize := range []int32{1, 2, 3, 5, 0} {
		t.Run(fmt.Sprintf("pages of %d", pageSize), func(t *testing.T) {
			p := newTestProvider(t, Options{ListPageSize: pageSize})
			var got []provider.ObjectMetadata
			for o, err := range p.WalkObjectsAsOf(ctx, bucket, "dl/", asOf) {
				if err != nil {
					t.Fatalf("walk: %v", err)
				}
				got = append(got, o)
			}
			var keys []string
			for _, o := range got {
				keys = append(keys, o.Key)
				w := asOfWant[o.Key]
				if o.VersionID != w.version || o.Size != int64(len(w.data)) || o.ETag != md5Hex(w.data) || o.LastModified.After(asOf) {
					t.Errorf("%s: version %q, %d bytes, ETag %q, modified %v; want version %q, %d bytes, ETag %q, at or before %v",
						o.Key, o.VersionID, o.Size, o.ETag, o.LastModified, w.version, len(w.data), md5Hex(w.data), asOf)
				}
			}
			if !slices.Equal(keys, wantKeys) {
				t.Fatalf("walked %q,\nwant %q", keys, wantKeys)
			}
		})
	}

	t.Run("WalkObjects pages through the current objects", func(t *testing.T) {
		p := newTestProvider(t, Options{ListPageSize: 2})
		var keys []string
		for o, err := range p.WalkObjects(ctx, bucket, "dl/", provider.KeyRange{}) {
			if err != nil {
				t.Fatalf("walk: %v", err)
			}
			keys = append(keys, o.Key)
		}
		want := []string{"dl/added-after", "dl/clock", "dl/deleted-before", "dl/k00", "dl/k01", "dl/k04", "dl/k05", "dl/k06", "dl/k07"}
		if !slices.Equal(keys, want) {
			t.Fatalf("walked %q,\nwant %q", keys, want)
		}
	})
}

// TestWalkObjectsAsOfPagesThroughNullVersions walks a bucket whose versioning was
// turned on after some objects were written: those keep the version id "null", which
// sorts among a key's versions by time, not by id. With pages of 1 to 5 entries every
// page boundary falls on or next to a null version somewhere; each key must be walked
// once, as the version current at asOf.
func TestWalkObjectsAsOfPagesThroughNullVersions(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	bucket := raw.newBucket(t, "null-versions")
	// Before versioning: null versions.
	for _, key := range []string{"dl/a", "dl/b", "dl/c", "dl/e"} {
		raw.putVersion(t, bucket, key, []byte(key+" before versioning"))
	}
	raw.enableVersioning(t, bucket)
	type entry struct {
		version string
		data    []byte
	}
	want := map[string]entry{
		"dl/a": {"null", []byte("dl/a before versioning")},
		"dl/e": {"null", []byte("dl/e before versioning")},
	}
	raw.deleteObject(t, bucket, "dl/c", "")        // a delete marker over c's null version
	for _, key := range []string{"dl/b", "dl/d"} { // b: a new version over its null one; d: new
		data := []byte(key + " after versioning")
		want[key] = entry{raw.putVersion(t, bucket, key, data), data}
	}
	asOf := raw.lastModifiedOf(t, bucket, "dl/d") // the last write: every entry is at or before it

	for _, pageSize := range []int32{1, 2, 3, 5, 0} {
		t.Run(fmt.Sprintf("pages of %d", pageSize), func(t *testing.T) {
			p := newTestProvider(t, Options{ListPageSize: pageSize})
			var keys []string
			for o, err := range p.WalkObjectsAsOf(ctx, bucket, "dl/", asOf) {
				if err != nil {
					t.Fatalf("walk: %v", err)
				}
				keys = append(keys, o.Key)
				w := want[o.Key]
				if o.VersionID != w.version || o.Size != int64(len(w.data)) || o.ETag != md5Hex(w.data) {
					t.Errorf("%s: version %q, %d bytes, ETag %q; want version %q, %d bytes, ETag %q",
						o.Key, o.VersionID, o.Size, o.ETag, w.version, len(w.data), md5Hex(w.data))
				}
			}
			if wantKeys := []string{"dl/a", "dl/b", "dl/d", "dl/e"}; !slices.Equal(keys, wantKeys) {
				t.Fatalf("walked %q, want %q", keys, wantKeys)
			}
		})
	}
}

// md5Hex is the ETag of a single-part object.
func md5Hex(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

func TestWalkObjectsStoppedEarlyEndsItsListing(t *testing.T) {
	raw := newRawClients(t)
	bucket := smallSource(t, raw, 30)
	p := newTestProvider(t, Options{ListPageSize: 2}) // many pages: the listing runs ahead of the walk
	n := 0
	for _, err := range p.WalkObjects(context.Background(), bucket, "docs/", provider.KeyRange{}) {
		if err != nil {
			t.Fatalf("walk: %v", err)
		}
		if n++; n == 3 {
			break
		}
	}
	waitUntil(t, "the listing of the stopped walk to end", func() bool { return len(copyGoroutines()) == 0 })
}

// TestCopyUncheckedNeverLooksAtTheDestination fails every listing and HEAD of the
// destination bucket: an Unchecked copy must not notice.
func TestCopyUncheckedNeverLooksAtTheDestination(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	src, dst := smallSource(t, raw, 12), raw.newBucket(t, "unchecked")
	raw.put(t, dst, map[string][]byte{"blobs/doc-000": []byte("document 0")}) // already there, same bytes
	proxy := newFaultProxy(t)
	inDestination := func(kind string) func(*http.Request) bool {
		return func(r *http.Request) bool {
			path := strings.TrimPrefix(r.URL.Path, "/")
			return requestKind(r) == kind && (path == dst || strings.HasPrefix(path, dst+"/"))
		}
	}
	listing := proxy.inject(inDestination("ListObjectsV2"), -1, http.StatusForbidden, "AccessDenied")
	head := proxy.inject(inDestination("HeadObject"), -1, http.StatusForbidden, "AccessDenied")
	p := newTestProvider(t, Options{Endpoint: proxy.URL})

	var items []provider.CopyItem
	for i := 11; i >= 0; i-- { // out of key order: a checked copy would HEAD each key
		key := fmt.Sprintf("docs/doc-%03d", i)
		data := []byte(fmt.Sprintf("document %d", i))
		items = append(items, provider.CopyItem{Source: provider.ObjectMetadata{Key: key, Size: int64(len(data)), ETag: md5Hex(data)}})
	}
	req := provider.ObjectStorageCopyRequest{
		SourceBucket: src, SourcePrefix: "docs/", DestinationBucket: dst, DestinationPrefix: "blobs/",
		Existing: provider.Unchecked,
		Objects: func(yield func(provider.CopyItem, error) bool) {
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
		},
	}
	res, err := p.CopyObjectStorage(ctx, req)
	if err != nil {
		t.Fatalf("Unchecked copy: %v", err)
	}
	if res.ObjectsCopied != 12 || res.ObjectsSkipped != 0 {
		t.Fatalf("result %+v, want all 12 copied", *res)
	}
	if proxy.seen("ListObjectsV2") != 0 || proxy.seen("HeadObject") != 0 || listing.injected.Load() != 0 || head.injected.Load() != 0 {
		t.Fatalf("an Unchecked copy of a list sent %d listings and %d HEADs, want none",
			proxy.seen("ListObjectsV2"), proxy.seen("HeadObject"))
	}
	for i := range 12 {
		key := fmt.Sprintf("blobs/doc-%03d", i)
		if got := raw.get(t, dst, key); string(got) != fmt.Sprintf("document %d", i) {
			t.Errorf("%s holds %q", key, got)
		}
	}

	// Listing the source instead: only the source is listed.
	req.Objects = nil
	if _, err := p.CopyObjectStorage(ctx, req); err != nil {
		t.Fatalf("Unchecked copy of a listing: %v", err)
	}
	if listing.injected.Load() != 0 || head.injected.Load() != 0 || proxy.seen("ListObjectsV2") != 1 {
		t.Fatalf("an Unchecked copy of the source listing sent %d listings (%d of the destination) and %d HEADs of the destination; want only the source's one",
			proxy.seen("ListObjectsV2"), listing.injected.Load(), head.injected.Load())
	}

	// The faults do catch a copy that looks at the destination.
	req.Existing = provider.SkipIdentical
	if _, err := p.CopyObjectStorage(ctx, req); provider.KindOf(err) != provider.KindAccessDenied || listing.injected.Load() == 0 {
		t.Fatalf("a checked copy: %v, %d listings refused; want the destination listing refused", err, listing.injected.Load())
	}
}
