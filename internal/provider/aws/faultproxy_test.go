package aws

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// faultProxy is a reverse proxy in front of moto that answers selected requests with
// an injected S3 error instead of forwarding them, counts what it sees, and can slow
// every forwarded request down. It is how the tests produce SlowDown, 503, 5xx and
// AccessDenied, which moto itself never returns.
type faultProxy struct {
	URL    string
	server *httptest.Server

	mu     sync.Mutex
	faults []*fault
	delay  time.Duration

	forwarded atomic.Int64
	requests  sync.Map // request kind → *atomic.Int64
}

// fault answers up to remaining requests that match with status and an S3 error code;
// remaining < 0 means every matching request.
type fault struct {
	match     func(*http.Request) bool
	remaining int
	status    int
	code      string
	injected  atomic.Int64
	// perObject, when set, makes remaining a budget per object (per copy source or path)
	// instead of a total.
	perObject map[string]int
}

func newFaultProxy(t testing.TB) *faultProxy {
	t.Helper()
	target, err := url.Parse(moto.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	fp := &faultProxy{}
	forward := httputil.NewSingleHostReverseProxy(target)
	forward.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
	forward.ErrorLog = log.New(io.Discard, "", 0) // aborted requests are expected in cancellation tests
	fp.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fp.count(r)
		if f := fp.faultFor(r); f != nil {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(f.status)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+
				`<Error><Code>%s</Code><Message>injected by the test proxy</Message><RequestId>fault</RequestId></Error>`, f.code)
			return
		}
		fp.mu.Lock()
		delay := fp.delay
		fp.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		fp.forwarded.Add(1)
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(fp.server.Close)
	fp.URL = fp.server.URL
	return fp
}

// inject adds a fault and returns it, so the test can read how often it fired.
func (fp *faultProxy) inject(match func(*http.Request) bool, times, status int, code string) *fault {
	f := &fault{match: match, remaining: times, status: status, code: code}
	fp.mu.Lock()
	fp.faults = append(fp.faults, f)
	fp.mu.Unlock()
	return f
}

// injectPerObject adds a fault that answers the first times matching requests of each
// object, so every object sees the same faults whatever the scheduling.
func (fp *faultProxy) injectPerObject(match func(*http.Request) bool, times, status int, code string) *fault {
	f := &fault{match: match, remaining: times, status: status, code: code, perObject: map[string]int{}}
	fp.mu.Lock()
	fp.faults = append(fp.faults, f)
	fp.mu.Unlock()
	return f
}

// slowDown delays every forwarded request by d.
func (fp *faultProxy) slowDown(d time.Duration) {
	fp.mu.Lock()
	fp.delay = d
	fp.mu.Unlock()
}

func (fp *faultProxy) faultFor(r *http.Request) *fault {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	for _, f := range fp.faults {
		if f.perObject != nil && f.match(r) {
			object := r.Header.Get("x-amz-copy-source") + " " + r.URL.Path
			if f.perObject[object] < f.remaining {
				f.perObject[object]++
				f.injected.Add(1)
				return f
			}
			continue
		}
		if f.remaining != 0 && f.match(r) {
			if f.remaining > 0 {
				f.remaining--
			}
			f.injected.Add(1)
			return f
		}
	}
	return nil
}

func (fp *faultProxy) count(r *http.Request) {
	kind := requestKind(r)
	c, _ := fp.requests.LoadOrStore(kind, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
}

// seen returns how many requests of kind (see requestKind) reached the proxy.
func (fp *faultProxy) seen(kind string) int64 {
	if c, ok := fp.requests.Load(kind); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

// requestKind names the S3 operation of a path-style request, for matching and counting.
func requestKind(r *http.Request) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPut && r.Header.Get("x-amz-copy-source") != "" && q.Has("partNumber"):
		return "UploadPartCopy"
	case r.Method == http.MethodPut && r.Header.Get("x-amz-copy-source") != "":
		return "CopyObject"
	case r.Method == http.MethodPut:
		return "PutObject"
	case r.Method == http.MethodGet && q.Get("list-type") == "2":
		return "ListObjectsV2"
	case r.Method == http.MethodGet:
		return "GetObject"
	case r.Method == http.MethodHead:
		return "HeadObject"
	case r.Method == http.MethodPost && q.Has("uploads"):
		return "CreateMultipartUpload"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return "CompleteMultipartUpload"
	case r.Method == http.MethodPost && q.Has("delete"):
		return "DeleteObjects"
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return "AbortMultipartUpload"
	}
	return r.Method
}

// isKind matches requests of one S3 operation.
func isKind(kind string) func(*http.Request) bool {
	return func(r *http.Request) bool { return requestKind(r) == kind }
}

// isCopyOf matches the CopyObject request of one source key.
func isCopyOf(key string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if requestKind(r) != "CopyObject" {
			return false
		}
		src, err := url.PathUnescape(r.Header.Get("x-amz-copy-source"))
		return err == nil && len(src) >= len(key) && src[len(src)-len(key):] == key
	}
}
