package gcp

import (
	"context"
	"strconv"
	"testing"

	"cloud.google.com/go/storage"

	"github.com/liferay/lc2-backup-controller/internal/provider/contract"
)

// TestContract holds the GCS provider, on fake-gcs-server behind the gap proxy, to
// the expectations every store meets. Setup and checks go through a plain storage
// client, never through the provider. There is no database service (the Database and
// Instances groups skip); object generations serve the Versions group.
func TestContract(t *testing.T) {
	raw := newRawClient(t, gaps.URL)
	contract.Run(t, func(t *testing.T) contract.Env {
		return contract.Env{
			Provider: newTestProvider(t, gaps.URL, Options{}),
			NewBucket: func(t *testing.T, tags map[string]string) string {
				t.Helper()
				return raw.newBucket(t, labelsOf(t, tags))
			},
			PutObject: func(t *testing.T, bucket, key string, data []byte) {
				t.Helper()
				raw.put(t, bucket, key, data)
			},
			ReadObject: func(t *testing.T, bucket, key string) ([]byte, bool) {
				t.Helper()
				return raw.read(t, bucket, key)
			},
			EnableVersioning: func(t *testing.T, bucket string) {
				t.Helper()
				if _, err := raw.Bucket(bucket).Update(context.Background(), storage.BucketAttrsToUpdate{VersioningEnabled: true}); err != nil {
					t.Fatalf("enable versioning on %s: %v", bucket, err)
				}
			},
			DeleteObject: func(t *testing.T, bucket, key string) {
				t.Helper()
				if err := raw.Bucket(bucket).Object(key).Delete(context.Background()); err != nil {
					t.Fatalf("delete %s/%s: %v", bucket, key, err)
				}
			},
			ObjectVersions: func(t *testing.T, bucket, key string) []string {
				t.Helper()
				var ids []string
				for _, g := range raw.generations(t, bucket, key) {
					ids = append(ids, strconv.FormatInt(g, 10))
				}
				return ids
			},
			DeleteObjectVersion: func(t *testing.T, bucket, key, versionID string) {
				t.Helper()
				g, err := strconv.ParseInt(versionID, 10, 64)
				if err != nil {
					t.Fatalf("version %q of %s/%s: %v", versionID, bucket, key, err)
				}
				if err := raw.Bucket(bucket).Object(key).Generation(g).Delete(context.Background()); err != nil {
					t.Fatalf("delete %s/%s generation %d: %v", bucket, key, g, err)
				}
			},
			// A rewrite copies an object whole, whatever its size, and keeps its MD5.
			LargeCopyETag: func(data []byte, _ int) string { return md5Hex(data) },
		}
	})
}

// labelsOf maps tags to bucket labels the documented way (LabelKey).
func labelsOf(t *testing.T, tags map[string]string) map[string]string {
	t.Helper()
	if len(tags) == 0 {
		return nil
	}
	labels := make(map[string]string, len(tags))
	for key, value := range tags {
		label, err := LabelKey(key)
		if err != nil {
			t.Fatalf("tag %q: %v", key, err)
		}
		labels[label] = value
	}
	return labels
}
