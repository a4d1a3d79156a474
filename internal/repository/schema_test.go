package repository

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/liferay/lc2-backup-controller/api/schemas"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
)

// TestListingHintsMatchTheirSchema: the hints as writeListingHints stores them, with
// and without bounds and index, are what api/schemas/listing-hints.schema.json and
// docs/incremental.md describe, and the Go types name the same members.
func TestListingHintsMatchTheirSchema(t *testing.T) {
	prov := fake.New(dstBucket)
	opts := BackupOptions{SourceBucket: srcBucket, SourcePrefix: srcPrefix, Bucket: dstBucket, Prefix: repoPrefix}
	for _, h := range []listingHints{
		{},
		{Source: []string{srcPrefix + "a", srcPrefix + "b"}, Repository: defaultRepositoryBounds, Index: &indexHint{UID: "uid-1", Prefix: "p1/prd/b1/"}},
	} {
		if err := writeListingHints(context.Background(), prov, opts, h); err != nil {
			t.Fatal(err)
		}
	}
	uploads := prov.Uploads()
	if len(uploads) != 2 {
		t.Fatalf("%d uploads", len(uploads))
	}
	for _, up := range uploads {
		if err := schemas.ValidateObject(up.Key, up.Data); err != nil {
			t.Errorf("%v\n%s", err, up.Data)
		}
	}
	for pointer, typ := range map[string]reflect.Type{"": reflect.TypeFor[listingHints](), "/properties/index": reflect.TypeFor[indexHint]()} {
		want, err := schemas.Members(schemas.ListingHints, pointer)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			got = append(got, name)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s names %v, the schema at %q %v", typ, got, pointer, want)
		}
	}
}
