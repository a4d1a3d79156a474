package azure

import (
	"context"
	"fmt"
	"testing"
)

// Retention deletes an inventory's keys in Blob Batch requests of 256: a list longer
// than one batch, with names that need encoding, is deleted whole and nothing else is.
func TestDeleteObjectsAcrossBatches(t *testing.T) {
	raw := newRawClient(t)
	bucket := raw.newContainer(t, "delete", nil)
	var keys []string
	for i := range deleteBatchSize + 44 {
		keys = append(keys, fmt.Sprintf("b1/data/%04d", i))
	}
	keys = append(keys, "b1/data/a b+c (1).pdf", "b1/data/r\u00e9sum\u00e9.pdf")
	for _, k := range keys {
		raw.put(t, bucket, k, []byte(k))
	}
	raw.put(t, bucket, "b1/manifest.json", []byte("kept"))
	p := newTestProvider(t, Options{})
	n, err := p.DeleteObjects(context.Background(), bucket, append(keys, "b1/data/never-existed"))
	if err != nil || n != len(keys)+1 {
		t.Fatalf("DeleteObjects = %d, %v; want %d", n, err, len(keys)+1)
	}
	left, err := p.ListObjects(context.Background(), bucket, "")
	if err != nil || len(left) != 1 || left[0].Key != "b1/manifest.json" {
		t.Fatalf("left %+v, %v; want only b1/manifest.json", left, err)
	}
}
