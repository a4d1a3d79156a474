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
)

// faultProxy is a reverse proxy in front of moto that answers selected requests with
// an injected S3 error instead of forwarding them, counts what it sees, and can park
// requests until their client gives up. It is how the tests produce SlowDown, 503, 5xx
// and AccessDenied, which moto itself never returns, and requests stuck in flight.
type faultProxy struct {
	URL    string
	server *httptest.Server

	mu     sync.Mutex
	faults []*fault
	hold   *hold

	requests sync.Map // request kind → *atomic.Int64
	// held is the number of requests parked right now.
	held atomic.Int64
	// closing ends every parking when the test is over, so a copy that never gives up
	// on its requests fails the test instead of hanging the server's Close.
	closing chan struct{}
}

// hold lets the first pass requests that match through and parks every later one
// until its client gives up: such a request never reaches S3.
type hold struct {
	match func(*http.Request) bool
	pass  int
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
	fp := &faultProxy{closing: make(chan struct{})}
	forward := httputil.NewSingleHostReverseProxy(target)
	forward.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
	forward.ErrorLog = log.New(io.Discard, "", 0) // aborted requests are expected in cancellation tests
	fp.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fp.count(r)
		if f := fp.faultFor(r); f != nil {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(f.status)
			_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+
				`<Error><Code>%s</Code><Message>injected by the test proxy</Message><RequestId>fault</RequestId></Error>`, f.code)
			return
		}
		if fp.parks(r) {
			fp.held.Add(1)
			defer fp.held.Add(-1)
			select {
			case <-r.Context().Done():
			case <-fp.closing:
				w.WriteHeader(http.StatusBadGateway)
			}
			return
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		close(fp.closing)
		fp.server.Close()
	})
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

// holdAfter lets the first pass requests that match reach S3 and parks every later
// one until its client gives up (see held).
func (fp *faultProxy) holdAfter(match func(*http.Request) bool, pass int) {
	fp.mu.Lock()
	fp.hold = &hold{match: match, pass: pass}
	fp.mu.Unlock()
}

// parks reports whether r is to be parked (and counts it against the hold's passes).
func (fp *faultProxy) parks(r *http.Request) bool {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if fp.hold == nil || !fp.hold.match(r) {
		return false
	}
	if fp.hold.pass > 0 {
		fp.hold.pass--
		return false
	}
	return true
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
	case r.Method == http.MethodPut && q.Has("partNumber"):
		return "UploadPart"
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
