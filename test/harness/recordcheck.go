package harness

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"

	"github.com/liferay/lc2-backup-controller/api/schemas"
)

// RecordChecker sits between a controller and its S3 endpoint, path-style, and checks
// every object the controller uploads against its published schema (api/schemas):
// manifests, claims (a backup's and a restore record's), inventory parts, the
// repository's reference records and listing hints, and the dumper's dump.json (a
// dump itself is data, like a copied file). An upload is a PUT with a body; a
// copy (x-amz-copy-source) carries the user's files and is not looked at. Checking on
// the way in covers the records a test later expires or deletes too, and never the
// objects a test plants or tampers with itself. An upload no schema describes is a
// failure: every JSON record the controller stores must be published.
type RecordChecker struct {
	*httptest.Server

	mu       sync.Mutex
	checked  map[schemas.Name]int
	failures []string
}

// NewRecordChecker starts a checker forwarding to target on a loopback port; Close
// stops it.
func NewRecordChecker(target string) (*RecordChecker, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("record checker target %q: %w", target, err)
	}
	c := &RecordChecker{checked: map[schemas.Name]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isUpload(r) {
			data, err := io.ReadAll(r.Body)
			if err != nil {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(data))
			c.check(r, data)
		}
		rp.ServeHTTP(w, r)
	}))
	return c, nil
}

// isUpload reports whether r is a PutObject with its body (not a copy, not a part of
// a multipart upload, not a bucket subresource).
func isUpload(r *http.Request) bool {
	if r.Method != http.MethodPut || r.Header.Get("X-Amz-Copy-Source") != "" {
		return false
	}
	for name := range r.URL.Query() {
		if name != "x-id" { // the SDK names the operation: ?x-id=PutObject
			return false
		}
	}
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return key != ""
}

func (c *RecordChecker) check(r *http.Request, data []byte) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if schemas.IsDumpObject(key) {
		return // the dumper's stream of the database, checked by its record (dump.json)
	}
	var err error
	if enc := r.Header.Get("Content-Encoding"); strings.Contains(enc, "aws-chunked") {
		err = fmt.Errorf("%s: uploaded with Content-Encoding %q, which the checker cannot read", key, enc)
	} else {
		err = schemas.ValidateObject(key, data)
	}
	n, _ := schemas.ForKey(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.failures = append(c.failures, fmt.Sprintf("s3://%s/%v", bucket, err))
		return
	}
	c.checked[n]++
}

// TakeFailures returns the uploads that did not match their schema since the last
// call, each naming the object and every violation, and forgets them.
func (c *RecordChecker) TakeFailures() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.failures
	c.failures = nil
	return out
}

// Checked returns how many uploads of each schema matched it so far.
func (c *RecordChecker) Checked() map[schemas.Name]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[schemas.Name]int, len(c.checked))
	for n, k := range c.checked {
		out[n] = k
	}
	return out
}

// RecordCheckers keeps one RecordChecker per S3 endpoint a suite points controllers
// at (the emulator, delay proxies), so every controller a suite starts uploads through
// one, and one hook after each spec collects what they found.
type RecordCheckers struct {
	mu       sync.Mutex
	checkers map[string]*RecordChecker
}

// For returns the URL of the checker in front of target, starting it on first use.
func (cs *RecordCheckers) For(target string) (string, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c, ok := cs.checkers[target]; ok {
		return c.URL, nil
	}
	c, err := NewRecordChecker(target)
	if err != nil {
		return "", err
	}
	if cs.checkers == nil {
		cs.checkers = map[string]*RecordChecker{}
	}
	cs.checkers[target] = c
	return c.URL, nil
}

// TakeFailures returns and forgets the failures of every checker.
func (cs *RecordCheckers) TakeFailures() []string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var out []string
	for _, c := range cs.checkers {
		out = append(out, c.TakeFailures()...)
	}
	return out
}

// Checked sums Checked over every checker.
func (cs *RecordCheckers) Checked() map[schemas.Name]int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := map[schemas.Name]int{}
	for _, c := range cs.checkers {
		for n, k := range c.Checked() {
			out[n] += k
		}
	}
	return out
}

// Close stops every checker.
func (cs *RecordCheckers) Close() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, c := range cs.checkers {
		c.Close()
	}
	cs.checkers = nil
}
