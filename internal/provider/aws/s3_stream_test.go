package aws

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// endlessBody is a dump that never ends, counting what was read of it.
type endlessBody struct{ read atomic.Int64 }

func (b *endlessBody) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i)
	}
	b.read.Add(int64(len(p)))
	return len(p), nil
}

// A stalled upload reads no further ahead of S3 than the part buffers it keeps, so an
// upload's memory does not grow with the dump's size; cancelled, it leaves no
// multipart upload and no object.
func TestUploadStreamReadsAtMostFourPartsAheadOfS3(t *testing.T) {
	raw := newRawClients(t)
	proxy := newFaultProxy(t)
	proxy.holdAfter(isKind("UploadPart"), 0) // S3 takes no part: each UploadPart waits
	p := newTestProvider(t, Options{Endpoint: proxy.URL})
	bucket := raw.newBucket(t, "stalled")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	body := &endlessBody{}
	done := make(chan error, 1)
	go func() {
		_, err := p.UploadStream(ctx, provider.StreamUploadRequest{Bucket: bucket, Key: "db.dump", Body: body})
		done <- err
	}()
	// Two parts in flight, two more read into the buffers that wait for them: then the
	// upload must wait for a buffer before it reads on.
	bound := (streamConcurrency + 2) * provider.StreamPartSize(0)
	waitUntil(t, "both parts in flight to be parked", func() bool { return proxy.held.Load() >= streamConcurrency })
	waitUntil(t, "the part buffers to fill", func() bool { return body.read.Load() >= bound })

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
		t.Errorf("the upload read %d bytes while S3 had taken no part, more than the %d of its part buffers", read, bound)
	}
	if left := raw.unfinishedUploads(t, bucket); len(left) != 0 {
		t.Errorf("the cancelled upload left multipart uploads to %q", left)
	}
	if _, ok := raw.getIfExists(t, bucket, "db.dump"); ok {
		t.Error("the cancelled upload left an object")
	}
}
