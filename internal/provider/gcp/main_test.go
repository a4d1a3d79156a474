package gcp

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

// emulator is the fake-gcs-server every test of this package talks to, started
// in-process on a free loopback port; gaps is the proxy in front of it that fills the
// emulator's known gaps (gapproxy_test.go). Tests use buckets of their own.
var (
	emulator *fakestorage.Server
	gaps     *gapProxy
)

func TestMain(m *testing.M) {
	os.Exit(runWithEmulator(m))
}

func runWithEmulator(m *testing.M) int {
	var err error
	emulator, err = fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", Port: 0})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start fake-gcs-server:", err)
		return 1
	}
	defer emulator.Stop()
	gaps = newGapProxy(emulator.URL())
	defer gaps.Close()
	return m.Run()
}

// fastRetries keeps the client's retry waits short so failure tests stay quick.
var fastRetries = Options{RetryBaseDelay: time.Millisecond, RetryMaxDelay: 10 * time.Millisecond}

// newTestProvider builds a provider on endpoint (the gap proxy unless said otherwise).
func newTestProvider(t testing.TB, endpoint string, opts Options) *Provider {
	t.Helper()
	opts.Endpoint = endpoint
	p, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("new provider: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// rawClient is a plain storage client on endpoint, for setting up and checking the
// emulator independently of the code under test.
type rawClient struct{ *storage.Client }

func newRawClient(t testing.TB, endpoint string) rawClient {
	t.Helper()
	c, err := storage.NewClient(context.Background(), option.WithEndpoint(emulatorEndpoint(endpoint)), option.WithoutAuthentication(), storage.WithJSONReads())
	if err != nil {
		t.Fatalf("raw client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return rawClient{c}
}

var bucketSeq atomic.Int64

// newBucket creates an empty bucket with a unique name, with labels when given.
func (c rawClient) newBucket(t testing.TB, labels map[string]string) string {
	t.Helper()
	name := fmt.Sprintf("contract-%d-%d", os.Getpid(), bucketSeq.Add(1))
	if err := c.Bucket(name).Create(context.Background(), "lc2-test", &storage.BucketAttrs{Labels: labels}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return name
}

func (c rawClient) put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	w := c.Bucket(bucket).Object(key).NewWriter(context.Background())
	w.ChunkSize = 0
	_, err := io.Copy(w, bytes.NewReader(data))
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

// read returns an object's bytes, or ok=false when it does not exist.
func (c rawClient) read(t testing.TB, bucket, key string) ([]byte, bool) {
	t.Helper()
	r, err := c.Bucket(bucket).Object(key).NewReader(context.Background())
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("read %s/%s: %v", bucket, key, err)
	}
	defer func() { _ = r.Close() }()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s/%s: %v", bucket, key, err)
	}
	return data, true
}

// generations returns the generations of key, newest first, live or not.
func (c rawClient) generations(t testing.TB, bucket, key string) []int64 {
	t.Helper()
	it := c.Bucket(bucket).Objects(context.Background(), &storage.Query{Prefix: key, Versions: true})
	var gens []int64
	for {
		attrs, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			t.Fatalf("list versions of %s/%s: %v", bucket, key, err)
		}
		if attrs.Name == key {
			gens = append(gens, attrs.Generation)
		}
	}
	slices.SortFunc(gens, func(a, b int64) int { return cmp.Compare(b, a) })
	return gens
}
