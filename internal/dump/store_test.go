package dump_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/liferay/lc2-backup-controller/internal/provider"
	awsprovider "github.com/liferay/lc2-backup-controller/internal/provider/aws"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
)

// store is what the dumper needs of a backup store.
type store interface {
	provider.Provider
	provider.StreamUploader
}

// testStore is a store with a fresh bucket and the checks a test makes of it.
type testStore struct {
	store
	bucket string
	// unfinished lists the keys of multipart uploads neither completed nor aborted.
	unfinished func(t *testing.T) []string
	// streams counts the uploads started (-1: the store cannot tell).
	streams func() int
}

// storeKinds are the stores the dump tests run on: the fake, and the AWS provider
// on moto.
var storeKinds = []struct {
	name string
	open func(t *testing.T) *testStore
}{
	{"fake", openFake},
	{"moto", openMoto},
}

const fakeBucket = "liferay-backups"

func openFake(*testing.T) *testStore {
	f := fake.New(fakeBucket)
	return &testStore{store: f, bucket: fakeBucket,
		unfinished: func(*testing.T) []string { return f.UnfinishedUploads(fakeBucket) },
		streams:    func() int { return len(f.StreamUploads()) }}
}

var bucketSeq atomic.Int64

func openMoto(t *testing.T) *testStore {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := fmt.Sprintf("dump-%d-%d", os.Getpid(), bucketSeq.Add(1))
	if _, err := raw.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	p, err := awsprovider.New(ctx, awsprovider.Options{})
	if err != nil {
		t.Fatal(err)
	}
	unfinished := func(t *testing.T) []string {
		t.Helper()
		out, err := raw.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
		if err != nil {
			t.Fatalf("list the multipart uploads of %s: %v", bucket, err)
		}
		var keys []string
		for _, u := range out.Uploads {
			keys = append(keys, awssdk.ToString(u.Key))
		}
		return keys
	}
	return &testStore{store: p, bucket: bucket, unfinished: unfinished, streams: func() int { return -1 }}
}

// read returns the stored object at key, or ok false when there is none.
func (s *testStore) read(t *testing.T, key string) (data []byte, ok bool) {
	t.Helper()
	rc, err := s.DownloadObject(context.Background(), s.bucket, key)
	if provider.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }() // read-only
	data, err = io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data, true
}

// put replaces the object at key.
func (s *testStore) put(t *testing.T, key string, data []byte) {
	t.Helper()
	if err := s.UploadObject(context.Background(), s.bucket, key, bytes.Clone(data)); err != nil {
		t.Fatal(err)
	}
}
