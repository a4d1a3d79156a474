package gcp

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// uploadRecorder stands in front of the gap proxy and records the upload requests
// that reach it: how the client uploads is what bounds its memory.
type uploadRecorder struct {
	*httptest.Server
	mu       sync.Mutex
	requests []uploadRequest
}

type uploadRequest struct {
	uploadType   string // "multipart" (one request) or "resumable" (a session, then its chunks)
	contentRange string // a chunk's bytes; none on the request starting a session
	bodyBytes    int
}

func newUploadRecorder(t *testing.T, target string) *uploadRecorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	rec := &uploadRecorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/upload/") {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			rec.mu.Lock()
			rec.requests = append(rec.requests, uploadRequest{
				uploadType: r.URL.Query().Get("uploadType"), contentRange: r.Header.Get("Content-Range"), bodyBytes: len(body),
			})
			rec.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *uploadRecorder) take() []uploadRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	requests := rec.requests
	rec.requests = nil
	return requests
}

// A stream longer than a chunk goes as a resumable upload, a chunk per request, so the
// Writer never holds more than one chunk; a shorter one in a single request.
func TestUploadStreamSendsAChunkPerRequest(t *testing.T) {
	raw := newRawClient(t, gaps.URL)
	rec := newUploadRecorder(t, gaps.URL)
	p := newTestProvider(t, rec.URL, Options{})
	bucket := raw.newBucket(t, nil)
	chunk := provider.MinStreamPartSize
	large := bytes.Repeat([]byte("pg_dump custom format "), int(2*chunk+(1<<20))/22)

	res, err := p.UploadStream(context.Background(), provider.StreamUploadRequest{
		Bucket: bucket, Key: "db.dump", Body: struct{ io.Reader }{bytes.NewReader(large)},
	})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	requests := rec.take()
	var chunks, sent int
	for _, r := range requests {
		switch {
		case r.uploadType == "resumable" && r.contentRange == "": // starts the session
		case r.uploadType == "resumable":
			chunks++
			sent += r.bodyBytes
			if int64(r.bodyBytes) > chunk {
				t.Errorf("a chunk request carried %d bytes, more than the %d of a chunk", r.bodyBytes, chunk)
			}
		default:
			t.Errorf("unexpected upload request %+v", r)
		}
	}
	if requests[0].contentRange != "" || chunks != 3 || sent != len(large) || res.Parts != 3 || res.PartSizeBytes != chunk {
		t.Errorf("requests %+v and result %+v: want a resumable session, then the %d bytes in 3 chunks of at most %d",
			requests, *res, len(large), chunk)
	}
	if got, ok := raw.read(t, bucket, "db.dump"); !ok || !bytes.Equal(got, large) {
		t.Fatalf("stored %d bytes (present %v), want the %d uploaded", len(got), ok, len(large))
	}

	res, err = p.UploadStream(context.Background(), provider.StreamUploadRequest{
		Bucket: bucket, Key: "small.dump", Body: bytes.NewReader([]byte("a small dump")),
	})
	if err != nil {
		t.Fatalf("small upload: %v", err)
	}
	if requests := rec.take(); len(requests) != 1 || requests[0].uploadType != "multipart" || res.Parts != 0 {
		t.Errorf("requests %+v and result %+v, want one multipart request", requests, *res)
	}
}
