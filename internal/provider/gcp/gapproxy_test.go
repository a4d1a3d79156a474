package gcp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"sync"
)

// gapProxy stands in front of fake-gcs-server and fills the gaps of its API that the
// provider depends on (the reference's section 2.3), so the contract suite holds the
// provider to GCS's behaviour, not the emulator's:
//   - bucket labels: the emulator accepts them and forgets them; the proxy keeps the
//     labels a bucket is created with and adds them to the bucket's resource;
//   - the rewrite token loop: the emulator always finishes a rewrite in one call; the
//     proxy can answer the first calls of an object's rewrite with done:false and a
//     token, and fail calls in between, recording the tokens the client sends back;
//   - write-once rewrites: the emulator ignores ifGenerationMatch=0 on a rewrite and
//     overwrites; the proxy answers 412 when the destination exists;
//   - stale tokens: a rewrite call carrying a token the proxy did not hand out for
//     that object gets GCS's 400, as an expired token or one for another source does.
//
// Everything else passes through to the emulator untouched.
type gapProxy struct {
	*httptest.Server
	target *url.URL
	proxy  *httputil.ReverseProxy

	mu     sync.Mutex
	labels map[string]map[string]string // bucket → labels
	plan   rewritePlan
	// rewrites records, per destination object (bucket/name), the rewriteToken query
	// parameter of every rewrite call that reached the proxy ("" for none).
	rewrites map[string][]string
	// preconditionRefusals counts rewrites the proxy refused as write-once.
	preconditionRefusals int
}

// rewritePlan scripts the calls of each object's rewrite: the first Pending calls
// answer done:false with a token; after the first of them, the next Failures calls
// answer 503. The call after that goes to the emulator, which finishes the rewrite.
type rewritePlan struct {
	Pending  int
	Failures int
}

var (
	bucketPath  = regexp.MustCompile(`^/storage/v1/b/([^/]+)$`)
	rewritePath = regexp.MustCompile(`^/storage/v1/b/([^/]+)/o/([^/]+)/rewriteTo/b/([^/]+)/o/([^/]+)$`)
)

func newGapProxy(emulatorURL string) *gapProxy {
	target, err := url.Parse(emulatorURL)
	if err != nil {
		panic(err)
	}
	g := &gapProxy{target: target, labels: map[string]map[string]string{}, rewrites: map[string][]string{}}
	g.proxy = httputil.NewSingleHostReverseProxy(target)
	g.proxy.ModifyResponse = g.addLabels
	// A client that gives up on a request (a cancelled copy) is no failure of the proxy.
	g.proxy.ErrorLog = log.New(io.Discard, "", 0)
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	return g
}

// setPlan scripts the rewrites from now on and forgets the calls recorded so far.
func (g *gapProxy) setPlan(plan rewritePlan) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.plan = plan
	g.rewrites = map[string][]string{}
}

// rewriteCalls returns the tokens of the rewrite calls of bucket/name so far.
func (g *gapProxy) rewriteCalls(bucket, name string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.rewrites[bucket+"/"+name]...)
}

func (g *gapProxy) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	switch {
	case r.Method == http.MethodPost && (path == "/storage/v1/b" || path == "/storage/v1/b/"):
		g.createBucket(w, r)
	case r.Method == http.MethodPost && rewritePath.MatchString(path):
		g.rewrite(w, r, rewritePath.FindStringSubmatch(path))
	default:
		g.proxy.ServeHTTP(w, r)
	}
}

// createBucket keeps the labels of a bucket created with some, then creates it.
func (g *gapProxy) createBucket(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var bucket struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	}
	if err := json.Unmarshal(body, &bucket); err == nil && len(bucket.Labels) > 0 {
		g.mu.Lock()
		g.labels[bucket.Name] = bucket.Labels
		g.mu.Unlock()
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	g.proxy.ServeHTTP(w, r)
}

// addLabels puts the kept labels into a bucket resource the emulator answers with.
func (g *gapProxy) addLabels(res *http.Response) error {
	if res.StatusCode != http.StatusOK || res.Request.Method == http.MethodDelete {
		return nil
	}
	path := res.Request.URL.EscapedPath()
	m := bucketPath.FindStringSubmatch(path)
	if m == nil && path != "/storage/v1/b" && path != "/storage/v1/b/" {
		return nil
	}
	body, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return err
	}
	var resource map[string]any
	if err := json.Unmarshal(body, &resource); err == nil && resource["kind"] == "storage#bucket" {
		name, _ := resource["name"].(string)
		g.mu.Lock()
		if labels := g.labels[name]; len(labels) > 0 {
			resource["labels"] = labels
		}
		g.mu.Unlock()
		if changed, err := json.Marshal(resource); err == nil {
			body = changed
		}
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	res.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// rewrite applies the write-once precondition and the scripted token loop to one
// rewrite call, then hands it to the emulator.
func (g *gapProxy) rewrite(w http.ResponseWriter, r *http.Request, m []string) {
	dstBucket, _ := url.PathUnescape(m[3])
	dstName, _ := url.PathUnescape(m[4])
	if r.URL.Query().Get("ifGenerationMatch") == "0" && g.exists(dstBucket, dstName) {
		g.mu.Lock()
		g.preconditionRefusals++
		g.mu.Unlock()
		writeJSONError(w, http.StatusPreconditionFailed, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.")
		return
	}
	object := dstBucket + "/" + dstName
	token := r.URL.Query().Get("rewriteToken")
	g.mu.Lock()
	g.rewrites[object] = append(g.rewrites[object], token)
	call := len(g.rewrites[object]) // 1-based
	plan := g.plan
	g.mu.Unlock()

	if token != "" && !issued(object, token, call) {
		writeJSONError(w, http.StatusBadRequest, "invalid", "Invalid rewrite token.")
		return
	}
	switch {
	case call == 1 && plan.Pending > 0:
		writePending(w, object, call)
		return
	case call > 1 && call <= 1+plan.Failures && plan.Pending > 0:
		writeJSONError(w, http.StatusServiceUnavailable, "backendError", "scripted failure")
		return
	case call > 1+plan.Failures && call <= plan.Pending+plan.Failures:
		writePending(w, object, call)
		return
	}
	g.proxy.ServeHTTP(w, r)
}

// exists asks the emulator whether bucket/name exists.
func (g *gapProxy) exists(bucket, name string) bool {
	u := *g.target
	u.RawPath = "/storage/v1/b/" + url.PathEscape(bucket) + "/o/" + url.PathEscape(name)
	u.Path, _ = url.PathUnescape(u.RawPath)
	res, err := http.Get(u.String())
	if err != nil {
		return false
	}
	_ = res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// rewriteToken is the token the proxy hands out on the given call of object's rewrite.
func rewriteToken(object string, call int) string {
	return fmt.Sprintf("token-%d-%s", call, object)
}

// issued reports whether token is one the proxy handed out for object's rewrite
// before call.
func issued(object, token string, call int) bool {
	for c := 1; c < call; c++ {
		if token == rewriteToken(object, c) {
			return true
		}
	}
	return false
}

func writePending(w http.ResponseWriter, object string, call int) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "storage#rewriteResponse", "done": false, "rewriteToken": rewriteToken(object, call),
		"totalBytesRewritten": "0", "objectSize": "0",
	})
}

func writeJSONError(w http.ResponseWriter, status int, reason, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": status, "message": message, "errors": []map[string]string{{"reason": reason, "message": message}},
	}})
}
