package aws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/liferay/lc2-backup-controller/test/harness"
)

// moto is the emulator every test of this package talks to; tests use their own
// buckets and instances, so they do not need to reset it.
var moto *harness.Moto

func TestMain(m *testing.M) {
	os.Exit(runWithMoto(m))
}

func runWithMoto(m *testing.M) int {
	var err error
	moto, err = harness.StartMoto(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "start moto:", err)
		return 1
	}
	defer moto.Stop()
	moto.SetAWSEnv()
	return m.Run()
}

// fastRetries keeps retry waits short so tests of retry behaviour stay quick.
var fastRetries = Options{RetryBaseDelay: 5 * time.Millisecond, RetryMaxDelay: 50 * time.Millisecond}

// newTestProvider builds a provider the way the controller does, from the default
// chain (the environment points at moto), optionally through a different endpoint.
func newTestProvider(t testing.TB, opts Options) *Provider {
	t.Helper()
	p, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("new provider: %v", err)
	}
	return p
}

// rawClients are plain SDK clients on moto, for setting up and checking the emulator
// independently of the code under test.
type rawClients struct {
	s3  *s3.Client
	rds *rds.Client
}

func newRawClients(t testing.TB) rawClients {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rawClients{
		s3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = true
			o.DisableLogOutputChecksumValidationSkipped = true
		}),
		rds: rds.NewFromConfig(cfg),
	}
}

var bucketSeq atomic.Int64

// newBucket creates an empty bucket with a name unique to this test run.
func (c rawClients) newBucket(t testing.TB, purpose string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d-%d", purpose, os.Getpid(), bucketSeq.Add(1))
	if _, err := c.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return name
}

// put writes objects (key → content) in parallel.
func (c rawClients) put(t testing.TB, bucket string, objects map[string][]byte) {
	t.Helper()
	type item struct {
		key  string
		body []byte
	}
	items := make(chan item)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range items {
				_, err := c.s3.PutObject(context.Background(), &s3.PutObjectInput{
					Bucket: &bucket, Key: awssdk.String(it.key), Body: bytes.NewReader(it.body),
				})
				if err != nil {
					select {
					case errs <- fmt.Errorf("put %s: %w", it.key, err):
					default:
					}
				}
			}
		}()
	}
	for k, v := range objects {
		items <- item{k, v}
	}
	close(items)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// get reads one object whole.
func (c rawClients) get(t testing.TB, bucket, key string) []byte {
	t.Helper()
	data, found := c.getIfExists(t, bucket, key)
	if !found {
		t.Fatalf("get %s/%s: no such key", bucket, key)
	}
	return data
}

// getIfExists reads one object whole; found is false when there is no such key.
func (c rawClients) getIfExists(t testing.TB, bucket, key string) (data []byte, found bool) {
	t.Helper()
	out, err := c.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	var noSuchKey *s3types.NoSuchKey
	if errors.As(err, &noSuchKey) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("get %s/%s: %v", bucket, key, err)
	}
	data, err = io.ReadAll(out.Body)
	if cerr := out.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("read %s/%s: %v", bucket, key, err)
	}
	return data, true
}

// listing returns key → (size, etag) for every object under prefix, as moto lists it.
func (c rawClients) listing(t testing.TB, bucket, prefix string) map[string]listedObject {
	t.Helper()
	objects := map[string]listedObject{}
	pages := s3.NewListObjectsV2Paginator(c.s3, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list %s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			objects[*o.Key] = listedObject{size: awssdk.ToInt64(o.Size), etag: normalizeETag(awssdk.ToString(o.ETag))}
		}
	}
	return objects
}

type listedObject struct {
	size int64
	etag string
}

// unfinishedUploads returns the keys of bucket's multipart uploads that were neither
// completed nor aborted: their parts are stored, and billed, until someone aborts them.
func (c rawClients) unfinishedUploads(t testing.TB, bucket string) []string {
	t.Helper()
	var keys []string
	pages := s3.NewListMultipartUploadsPaginator(c.s3, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list the multipart uploads of %s: %v", bucket, err)
		}
		for _, u := range page.Uploads {
			keys = append(keys, awssdk.ToString(u.Key))
		}
	}
	return keys
}
