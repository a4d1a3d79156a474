package aws

import (
	"bytes"
	"context"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/contract"
)

// TestContract holds the AWS provider, on moto, to the expectations the fake must meet
// too. Setup and checks go through plain SDK clients, never through the provider.
func TestContract(t *testing.T) {
	raw := newRawClients(t)
	contract.Run(t, func(t *testing.T) contract.Env {
		return contract.Env{
			Provider: newTestProvider(t, Options{}),
			NewBucket: func(t *testing.T, tags map[string]string) string {
				bucket := raw.newBucket(t, "contract")
				if len(tags) > 0 {
					raw.tagBucket(t, bucket, tags)
				}
				return bucket
			},
			PutObject: func(t *testing.T, bucket, key string, data []byte) {
				t.Helper()
				_, err := raw.s3.PutObject(context.Background(), &s3.PutObjectInput{
					Bucket: &bucket, Key: &key, Body: bytes.NewReader(data), ContentLength: awssdk.Int64(int64(len(data))),
				})
				if err != nil {
					t.Fatalf("put %s/%s: %v", bucket, key, err)
				}
			},
			ReadObject: func(t *testing.T, bucket, key string) ([]byte, bool) {
				t.Helper()
				return raw.getIfExists(t, bucket, key)
			},
			NewInstance: func(t *testing.T, tags map[string]string) string {
				return raw.newTaggedInstance(t, tags)
			},
			NewConfiguredInstance: func(t *testing.T, tags map[string]string) (string, provider.DatabaseInstanceSettings) {
				return raw.newConfiguredInstance(t, tags)
			},
			SnapshotTimeout: time.Minute,
			EnableVersioning: func(t *testing.T, bucket string) {
				t.Helper()
				raw.enableVersioning(t, bucket)
			},
			DeleteObject: func(t *testing.T, bucket, key string) {
				t.Helper()
				raw.deleteObject(t, bucket, key, "")
			},
			ObjectVersions: func(t *testing.T, bucket, key string) []string {
				t.Helper()
				return raw.objectVersions(t, bucket, key)
			},
			DeleteObjectVersion: func(t *testing.T, bucket, key, versionID string) {
				t.Helper()
				raw.deleteObject(t, bucket, key, versionID)
			},
			UnfinishedUploads: func(t *testing.T, bucket string) []string {
				t.Helper()
				return raw.unfinishedUploads(t, bucket)
			},
		}
	})
}
