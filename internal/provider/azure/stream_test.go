package azure

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// endlessBody is a dump that never ends, counting what was read of it; filled is
// closed once mark bytes have been read.
type endlessBody struct {
	read   atomic.Int64
	mark   int64
	filled chan struct{}
}

func (b *endlessBody) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i)
	}
	before := b.read.Add(int64(len(p))) - int64(len(p))
	if before < b.mark && before+int64(len(p)) >= b.mark {
		close(b.filled)
	}
	return len(p), nil
}

// within waits for ch, failing the test after a minute.
func within(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// A stalled upload reads no further ahead of Azure than its block buffers, so an
// upload's memory does not grow with the dump's size; cancelled, it commits nothing.
func TestUploadStreamReadsAtMostTwoBlocksAheadOfAzure(t *testing.T) {
	raw := newRawClient(t)
	container := raw.newContainer(t, "stalled", nil)
	proxy := newFaultProxy(t)
	// Azure takes no block: each Put Block waits until the test is over, then fails.
	parked := make(chan struct{}, 100)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	proxy.on(proxyHook{kind: kindStageBlock, before: func() (int, string) {
		parked <- struct{}{}
		<-release
		return http.StatusInternalServerError, string(bloberror.InternalError)
	}})
	p := newTestProvider(t, Options{AccountURL: proxy.URL})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bound := streamConcurrency * provider.StreamPartSize(0)
	body := &endlessBody{mark: bound, filled: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := p.UploadStream(ctx, provider.StreamUploadRequest{Bucket: container, Key: "db.dump", Body: body})
		done <- err
	}()
	for range streamConcurrency {
		within(t, "the blocks in flight to be parked", parked)
	}
	within(t, "the block buffers to fill", body.filled)

	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want one wrapping context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the upload did not return after cancellation")
	}
	if read := body.read.Load(); read > bound {
		t.Errorf("the upload read %d bytes while Azure had taken no block, more than the %d of its block buffers", read, bound)
	}
	if n := proxy.count(kindCommitBlockList); n != 0 {
		t.Errorf("the cancelled upload committed a block list %d times", n)
	}
	if _, ok := raw.getIfExists(t, container, "db.dump"); ok {
		t.Error("the cancelled upload left a blob")
	}
}
