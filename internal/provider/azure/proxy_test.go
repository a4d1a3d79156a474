package azure

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// faultProxy is a reverse proxy in front of Azurite that counts requests by kind and
// lets a test act on selected ones: answer them with an injected error, run something
// before forwarding them (delete a copy's source), or change the answer. It covers what
// Azurite itself never does: fail a copy, lose a source mid-copy, report a copy pending.
type faultProxy struct {
	URL    string
	server *httptest.Server

	mu     sync.Mutex
	counts map[string]int
	hooks  []proxyHook
}

// proxyHook acts on requests of kind whose path ends with suffix ("" for any).
type proxyHook struct {
	kind, suffix string
	// before runs before the request is forwarded; a non-zero status answers the
	// request with it and code instead of forwarding it.
	before func() (status int, code string)
	// header, when set, is set on the forwarded answer.
	header map[string]string
}

// Request kinds the proxy tells apart.
const (
	kindCopyFromURL       = "CopyFromURL"
	kindStageBlockFromURL = "StageBlockFromURL"
	kindCommitBlockList   = "CommitBlockList"
	kindStageBlock        = "StageBlock"
	kindGetProperties     = "GetProperties"
	kindOther             = "other"
)

func requestKind(r *http.Request) string {
	comp := r.URL.Query().Get("comp")
	switch {
	case r.Method == http.MethodPut && comp == "block" && r.Header.Get("x-ms-copy-source") != "":
		return kindStageBlockFromURL
	case r.Method == http.MethodPut && comp == "block":
		return kindStageBlock
	case r.Method == http.MethodPut && comp == "blocklist":
		return kindCommitBlockList
	case r.Method == http.MethodPut && comp == "" && r.Header.Get("x-ms-copy-source") != "":
		return kindCopyFromURL
	case r.Method == http.MethodHead && comp == "":
		return kindGetProperties
	}
	return kindOther
}

func newFaultProxy(t testing.TB) *faultProxy {
	t.Helper()
	target, err := url.Parse(azurite.AccountURL)
	if err != nil {
		t.Fatal(err)
	}
	target.Path = ""
	fp := &faultProxy{counts: map[string]int{}}
	forward := httputil.NewSingleHostReverseProxy(target)
	forward.ErrorLog = log.New(io.Discard, "", 0)
	forward.ModifyResponse = func(resp *http.Response) error {
		if hook := fp.hookFor(resp.Request); hook != nil {
			for k, v := range hook.header {
				resp.Header.Set(k, v)
			}
		}
		return nil
	}
	fp.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fp.mu.Lock()
		fp.counts[requestKind(r)]++
		fp.mu.Unlock()
		if hook := fp.hookFor(r); hook != nil && hook.before != nil {
			if status, code := hook.before(); status != 0 {
				w.Header().Set("x-ms-error-code", code)
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(status)
				_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>injected by the test proxy</Message></Error>`, code)
				return
			}
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(fp.server.Close)
	fp.URL = fp.server.URL + "/" + azurite.AccountName
	return fp
}

// on adds a hook; hooks are tried in the order added.
func (fp *faultProxy) on(h proxyHook) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	fp.hooks = append(fp.hooks, h)
}

// clear removes every hook.
func (fp *faultProxy) clear() {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	fp.hooks = nil
}

func (fp *faultProxy) hookFor(r *http.Request) *proxyHook {
	kind := requestKind(r)
	path, _ := url.PathUnescape(r.URL.EscapedPath())
	fp.mu.Lock()
	defer fp.mu.Unlock()
	for i := range fp.hooks {
		if h := &fp.hooks[i]; h.kind == kind && strings.HasSuffix(path, h.suffix) {
			return h
		}
	}
	return nil
}

// count is how many requests of kind the proxy has seen.
func (fp *faultProxy) count(kind string) int {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	return fp.counts[kind]
}
