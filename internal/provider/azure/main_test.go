package azure

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/liferay/lc2-backup-controller/test/harness"
)

// azurite is the emulator every test of this package talks to; tests use their own
// containers, so they do not need to reset it.
var azurite *harness.Azurite

func TestMain(m *testing.M) {
	os.Exit(runWithAzurite(m))
}

func runWithAzurite(m *testing.M) int {
	var err error
	azurite, err = harness.StartAzurite(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "start azurite:", err)
		return 1
	}
	defer azurite.Stop()
	return m.Run()
}

// testOptions are the options of a provider on the emulator with its shared key.
func testOptions() Options {
	return Options{AccountURL: azurite.AccountURL, AccountName: azurite.AccountName, AccountKey: azurite.AccountKey}
}

// newTestProvider builds a provider on the emulator, optionally with other options
// (the account settings are filled in where opts leaves them empty).
func newTestProvider(t testing.TB, opts Options) *Provider {
	t.Helper()
	base := testOptions()
	if opts.AccountURL == "" {
		opts.AccountURL = base.AccountURL
	}
	opts.AccountName, opts.AccountKey = base.AccountName, base.AccountKey
	p, err := New(opts)
	if err != nil {
		t.Fatalf("new provider: %v", err)
	}
	return p
}

// rawClient is a plain azblob client on the emulator, for setting up and checking it
// independently of the code under test.
type rawClient struct {
	service *service.Client
}

func newRawClient(t testing.TB) rawClient {
	t.Helper()
	cred, err := blob.NewSharedKeyCredential(azurite.AccountName, azurite.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.NewClientWithSharedKeyCredential(azurite.AccountURL, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rawClient{service: svc}
}

var containerSeq atomic.Int64

// newContainer creates an empty container with a name unique to this test run and the
// given metadata.
func (c rawClient) newContainer(t testing.TB, purpose string, metadata map[string]*string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d-%d", purpose, os.Getpid(), containerSeq.Add(1))
	if _, err := c.service.NewContainerClient(name).Create(context.Background(), &container.CreateOptions{Metadata: metadata}); err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	return name
}

// put writes one blob with a single Put Blob.
func (c rawClient) put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	_, err := c.service.NewContainerClient(bucket).NewBlockBlobClient(key).Upload(context.Background(), streaming.NopCloser(bytes.NewReader(data)), nil)
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

// getIfExists reads one blob whole; found is false when there is no such blob.
func (c rawClient) getIfExists(t testing.TB, bucket, key string) (data []byte, found bool) {
	t.Helper()
	out, err := c.service.NewContainerClient(bucket).NewBlobClient(key).DownloadStream(context.Background(), nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
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

// deleteBlob removes one blob.
func (c rawClient) deleteBlob(t testing.TB, bucket, key string) {
	t.Helper()
	if _, err := c.service.NewContainerClient(bucket).NewBlobClient(key).Delete(context.Background(), nil); err != nil {
		t.Fatalf("delete %s/%s: %v", bucket, key, err)
	}
}
