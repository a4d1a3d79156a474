package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// GCSLabelProxy stands in front of fake-gcs-server and fills its bucket-label gap: the
// emulator accepts labels and forgets them. The proxy keeps the labels a bucket is
// created with (POST /storage/v1/b) or patched with (PATCH /storage/v1/b/<bucket>, a
// label set to null deleted, labels set to null all deleted) and puts them into the
// bucket resources the emulator returns (a bucket, and the buckets of a list). A
// deleted bucket's labels are forgotten.
//
// Only bucket-resource requests and answers are read whole; everything else (object
// uploads and downloads) streams through untouched.
//
// Not filled: the emulator's PATCH of a bucket also sets versioning and the default
// event-based hold to the patch's values, false when absent, so a label patch turns
// a bucket's versioning off.
type GCSLabelProxy struct {
	*httptest.Server

	transport *http.Transport
	proxy     *httputil.ReverseProxy

	mu     sync.Mutex
	labels map[string]map[string]string // bucket → labels
}

var (
	gcsBucketsPath = regexp.MustCompile(`^/storage/v1/b/?$`)
	gcsBucketPath  = regexp.MustCompile(`^/storage/v1/b/([^/]+)$`)
)

// NewGCSLabelProxy starts a label proxy to the emulator at emulatorEndpoint (its base
// URL; a /storage/v1 path is dropped) on a free loopback port; Close stops it.
func NewGCSLabelProxy(emulatorEndpoint string) (*GCSLabelProxy, error) {
	target, err := url.Parse(strings.TrimSuffix(strings.TrimRight(emulatorEndpoint, "/"), "/storage/v1"))
	if err != nil {
		return nil, fmt.Errorf("emulator endpoint: %w", err)
	}
	if target.Scheme == "" || target.Host == "" {
		return nil, fmt.Errorf("emulator endpoint %q: want http://host:port", emulatorEndpoint)
	}
	p := &GCSLabelProxy{
		transport: http.DefaultTransport.(*http.Transport).Clone(),
		labels:    map[string]map[string]string{},
	}
	// The Host header is left as the client sent it (the proxy's): the emulator builds a
	// resumable upload's session URL from it, so the upload continues through the proxy.
	p.proxy = httputil.NewSingleHostReverseProxy(target)
	p.proxy.Transport = p.transport
	p.proxy.ModifyResponse = p.modifyResponse
	// A client that gives up on a request is no failure of the proxy.
	p.proxy.ErrorLog = log.New(io.Discard, "", 0)
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	return p, nil
}

// Close stops the proxy and drops its connections to the emulator.
func (p *GCSLabelProxy) Close() {
	p.Server.Close()
	p.transport.CloseIdleConnections()
}

// SetBucketLabels replaces the labels the proxy keeps for bucket (none for an empty
// map), as if the bucket had been patched to have exactly these.
func (p *GCSLabelProxy) SetBucketLabels(bucket string, labels map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(labels) == 0 {
		delete(p.labels, bucket)
		return
	}
	p.labels[bucket] = maps.Clone(labels)
}

// labelChange is what a bucket create or patch does to the bucket's kept labels, applied
// once the emulator has accepted the request.
type labelChange struct {
	bucket string
	// replace drops the labels kept so far (a create, or a patch of labels to null).
	replace bool
	set     map[string]string
	del     []string
}

type labelChangeKey struct{}

func (p *GCSLabelProxy) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	single := gcsBucketPath.FindStringSubmatch(path)
	if single == nil && !gcsBucketsPath.MatchString(path) {
		p.proxy.ServeHTTP(w, r)
		return
	}
	// A bucket resource: its answer is rewritten, so it must reach the proxy
	// uncompressed (the transport asks for gzip itself, and undoes it).
	r.Header.Del("Accept-Encoding")
	var parse func([]byte) (*labelChange, error)
	switch {
	case single == nil && r.Method == http.MethodPost:
		parse = parseBucketCreate
	case single != nil && (r.Method == http.MethodPatch ||
		r.Method == http.MethodPost && strings.EqualFold(r.Header.Get("X-HTTP-Method-Override"), http.MethodPatch)):
		bucket, err := url.PathUnescape(single[1])
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		parse = func(body []byte) (*labelChange, error) { return parseBucketPatch(bucket, body) }
	}
	if parse != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// A body that does not parse is the emulator's to refuse.
		if change, err := parse(body); err == nil && change != nil {
			r = r.WithContext(context.WithValue(r.Context(), labelChangeKey{}, change))
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	p.proxy.ServeHTTP(w, r)
}

// parseBucketCreate reads the name and labels of a bucket insert.
func parseBucketCreate(body []byte) (*labelChange, error) {
	var bucket struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	}
	if err := json.Unmarshal(body, &bucket); err != nil {
		return nil, err
	}
	return &labelChange{bucket: bucket.Name, replace: true, set: bucket.Labels}, nil
}

// parseBucketPatch reads the labels of a bucket patch: nil when it leaves them alone.
func parseBucketPatch(bucket string, body []byte) (*labelChange, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, err
	}
	raw, ok := fields["labels"]
	if !ok {
		return nil, nil
	}
	change := &labelChange{bucket: bucket, set: map[string]string{}}
	if string(bytes.TrimSpace(raw)) == "null" {
		change.replace = true
		return change, nil
	}
	var labels map[string]*string
	if err := json.Unmarshal(raw, &labels); err != nil {
		return nil, err
	}
	for k, v := range labels {
		if v == nil {
			change.del = append(change.del, k)
		} else {
			change.set[k] = *v
		}
	}
	return change, nil
}

// apply records an accepted create or patch.
func (p *GCSLabelProxy) apply(c *labelChange) {
	p.mu.Lock()
	defer p.mu.Unlock()
	labels := p.labels[c.bucket]
	if c.replace || labels == nil {
		labels = map[string]string{}
	}
	maps.Copy(labels, c.set)
	for _, k := range c.del {
		delete(labels, k)
	}
	if len(labels) == 0 {
		delete(p.labels, c.bucket)
	} else {
		p.labels[c.bucket] = labels
	}
}

// modifyResponse records what an accepted bucket request did to the labels and puts
// the kept labels into the bucket resources of the answer.
func (p *GCSLabelProxy) modifyResponse(res *http.Response) error {
	req := res.Request
	path := req.URL.EscapedPath()
	single := gcsBucketPath.FindStringSubmatch(path)
	if single == nil && !gcsBucketsPath.MatchString(path) {
		return nil
	}
	if req.Method == http.MethodDelete {
		if single != nil && res.StatusCode >= 200 && res.StatusCode < 300 {
			if bucket, err := url.PathUnescape(single[1]); err == nil {
				p.SetBucketLabels(bucket, nil)
			}
		}
		return nil
	}
	if res.StatusCode != http.StatusOK {
		return nil
	}
	if change, ok := req.Context().Value(labelChangeKey{}).(*labelChange); ok {
		p.apply(change)
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return err
	}
	var resource map[string]any
	if err := json.Unmarshal(body, &resource); err == nil && p.addLabels(resource) {
		if changed, err := json.Marshal(resource); err == nil {
			body = changed
		}
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	res.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// addLabels sets the kept labels on a bucket resource, or on each bucket of a list;
// it reports whether resource is either.
func (p *GCSLabelProxy) addLabels(resource map[string]any) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch resource["kind"] {
	case "storage#bucket":
		p.labelBucket(resource)
		return true
	case "storage#buckets":
		items, _ := resource["items"].([]any)
		for _, item := range items {
			if bucket, ok := item.(map[string]any); ok {
				p.labelBucket(bucket)
			}
		}
		return true
	}
	return false
}

// labelBucket sets a bucket resource's labels to the kept ones; p.mu is held.
func (p *GCSLabelProxy) labelBucket(bucket map[string]any) {
	name, _ := bucket["name"].(string)
	if labels := p.labels[name]; len(labels) > 0 {
		bucket["labels"] = maps.Clone(labels)
	} else {
		delete(bucket, "labels")
	}
}
