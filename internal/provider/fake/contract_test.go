package fake_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/contract"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
)

// TestContract holds the fake to the expectations the AWS provider meets on moto.
func TestContract(t *testing.T) {
	contract.Run(t, func(t *testing.T) contract.Env {
		p := fake.New()
		p.RequireInstances = true // as on AWS: only instances that exist can be snapshotted
		var seq atomic.Int64
		return contract.Env{
			Provider: p,
			NewBucket: func(t *testing.T, tags map[string]string) string {
				name := fmt.Sprintf("bucket-%d", seq.Add(1))
				p.CreateBucket(name)
				if len(tags) > 0 {
					p.SetBucketTags(name, tags)
				}
				return name
			},
			PutObject: func(t *testing.T, bucket, key string, data []byte) { p.PutObject(bucket, key, data) },
			ReadObject: func(t *testing.T, bucket, key string) ([]byte, bool) {
				return p.ReadObject(bucket, key)
			},
			NewInstance: func(t *testing.T, tags map[string]string) string {
				id := fmt.Sprintf("db-%d", seq.Add(1))
				p.SetInstanceTags(id, tags)
				return id
			},
			NewConfiguredInstance: func(t *testing.T, tags map[string]string) (string, provider.DatabaseInstanceSettings) {
				id := fmt.Sprintf("db-%d", seq.Add(1))
				settings := provider.DatabaseInstanceSettings{
					InstanceClass: "db.m5.large", StorageType: "io1", AllocatedStorageGiB: 100, Iops: 1000,
					ParameterGroup: "lc2-params", OptionGroup: "lc2-options", SubnetGroup: "lc2-subnets",
					SecurityGroupIDs: []string{"sg-2", "sg-1"}, Port: 5433, MultiAZ: true, Tags: tags,
				}
				p.PutInstance(id, settings)
				return id, settings
			},
			EnableVersioning: func(t *testing.T, bucket string) { p.EnableVersioning(bucket) },
			DeleteObject:     func(t *testing.T, bucket, key string) { p.DeleteObject(bucket, key) },
			ObjectVersions:   func(t *testing.T, bucket, key string) []string { return p.ObjectVersions(bucket, key) },
			DeleteObjectVersion: func(t *testing.T, bucket, key, versionID string) {
				p.DeleteObjectVersion(bucket, key, versionID)
			},
			UnfinishedUploads: func(t *testing.T, bucket string) []string { return p.UnfinishedUploads(bucket) },
		}
	})
}
