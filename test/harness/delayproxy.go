package harness

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DelayProxy forwards to a server (the AWS emulator). A test can slow every request
// down (SetDelay), so it can stop a controller in the middle of a copy, or park
// chosen requests until it lets them go (Hold, Release), so a state lasts exactly as
// long as the test needs it whatever the speed of the machine.
type DelayProxy struct {
	*httptest.Server

	mu    sync.Mutex
	delay time.Duration
	// match selects the requests to park; nil while nothing is held.
	match func(*http.Request) bool
	// release is the current hold, ended by Release or Drop; the requests parked
	// under it wait on it.
	release *hold
	// held maps each parked request (by a sequence number) to "METHOD path".
	held    map[uint64]string
	heldSeq uint64
	// changed is closed (and replaced) whenever a request is parked or leaves.
	changed chan struct{}
	// refuse selects the requests answered without reaching the target (Refuse,
	// RefuseWith) with answer; refused counts them.
	refuse  func(*http.Request) bool
	answer  Answer
	refused int
}

// Answer is what the proxy sends back instead of forwarding a refused request.
type Answer struct {
	Status      int
	ContentType string
	Body        string
}

// unavailable is Refuse's answer: a store that cannot serve.
var unavailable = Answer{Status: http.StatusServiceUnavailable}

// hold is one Hold: done is closed when it ends, and dropped says the parked requests
// are answered without reaching the target (Drop).
type hold struct {
	done    chan struct{}
	dropped bool
}

// NewDelayProxy starts a proxy to target on a loopback port; Close stops it.
func NewDelayProxy(target string) (*DelayProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &DelayProxy{held: map[uint64]string{}, changed: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refused, a := p.refuses(r); refused {
			if a.ContentType != "" {
				w.Header().Set("Content-Type", a.ContentType)
			}
			w.WriteHeader(a.Status)
			_, _ = io.WriteString(w, a.Body)
			return
		}
		if !p.wait(r) {
			// The client gave up while the request was parked or delayed: it never
			// reaches the target, and nobody reads the answer.
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	return p, nil
}

// wait parks r while a hold matches it, then sleeps the delay; false when the client
// gave up first.
func (p *DelayProxy) wait(r *http.Request) bool {
	p.mu.Lock()
	var release *hold
	if p.match != nil && p.match(r) {
		release = p.release
	}
	p.mu.Unlock()
	if release != nil {
		id := p.park(r.Method + " " + r.URL.EscapedPath())
		defer p.unpark(id)
		select {
		case <-release.done:
			if release.dropped {
				return false
			}
		case <-r.Context().Done():
			return false
		}
	}
	p.mu.Lock()
	d := p.delay
	p.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// park records a parked request described by desc and returns its id.
func (p *DelayProxy) park(desc string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.heldSeq++
	p.held[p.heldSeq] = desc
	p.notify()
	return p.heldSeq
}

// unpark records that the parked request id left (released or abandoned).
func (p *DelayProxy) unpark(id uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.held, id)
	p.notify()
}

// notify wakes WaitHeld; p.mu must be held.
func (p *DelayProxy) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Refuse answers every request match accepts with 503 Service Unavailable, without
// forwarding it, until Accept: a store failing the calls a test names (deletes, say),
// for as long as the test needs.
func (p *DelayProxy) Refuse(match func(*http.Request) bool) {
	p.RefuseWith(match, unavailable)
}

// RefuseWith answers every request match accepts with a, without forwarding it,
// until Accept: a cloud API refusing the calls a test names with the error it
// chooses (RDSError), for as long as the test needs.
func (p *DelayProxy) RefuseWith(match func(*http.Request) bool, a Answer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse, p.answer, p.refused = match, a, 0
}

// Accept ends Refuse and returns how many requests it refused.
func (p *DelayProxy) Accept() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = nil
	return p.refused
}

// Refused is how many requests the current Refuse has answered so far.
func (p *DelayProxy) Refused() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refused
}

func (p *DelayProxy) refuses(r *http.Request) (bool, Answer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refuse == nil || !p.refuse(r) {
		return false, Answer{}
	}
	p.refused++
	return true, p.answer
}

// SetDelay sets the wait added before each request (0: none).
func (p *DelayProxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// Hold parks every request that match accepts, before it reaches the target, until
// Release (or until its client gives up). match is called for every request, from
// many goroutines at once. Calling Hold again replaces match; requests already parked
// stay parked until Release.
func (p *DelayProxy) Hold(match func(*http.Request) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.match = match
	if p.release == nil {
		p.release = &hold{done: make(chan struct{})}
	}
}

// Release lets every parked request through and ends the hold: later requests pass
// straight on.
func (p *DelayProxy) Release() { p.end(false) }

// Drop ends the hold like Release, but the parked requests never reach the target:
// each is answered 502. After a test stops a controller, its parked requests belong
// to a process that is gone; released, one could still reach the target before the
// proxy sees its client give up, and a test counting what reached the target would
// count it.
func (p *DelayProxy) Drop() { p.end(true) }

func (p *DelayProxy) end(dropped bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.match = nil
	if p.release != nil {
		p.release.dropped = dropped
		close(p.release.done)
		p.release = nil
	}
}

// Held returns the requests parked right now, as "METHOD path", sorted.
func (p *DelayProxy) Held() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.held))
	for _, desc := range p.held {
		out = append(out, desc)
	}
	slices.Sort(out)
	return out
}

// WaitHeld blocks until cond accepts the parked requests (as Held returns them) or
// ctx ends, and returns the last list it looked at with ctx's error in that case.
func (p *DelayProxy) WaitHeld(ctx context.Context, cond func(held []string) bool) ([]string, error) {
	for {
		p.mu.Lock()
		changed := p.changed
		p.mu.Unlock()
		held := p.Held()
		if cond(held) {
			return held, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return held, ctx.Err()
		}
	}
}

// Close releases the parked requests and stops the proxy (httptest.Server.Close waits
// for every request in progress, so parked ones must go first).
func (p *DelayProxy) Close() {
	p.Release()
	p.Server.Close()
}

// CopiesAfter matches the server-side copies (CopyObject, UploadPartCopy: a PUT with
// x-amz-copy-source) into bucket under prefix, path-style, except the first n: a
// test lets a copy get n objects far, then holds every worker of it, so it can stop,
// cancel or kill the copy provably in the middle whatever the speed of the machine.
func CopiesAfter(bucket, prefix string, n int64) func(*http.Request) bool {
	var seen atomic.Int64
	return func(r *http.Request) bool {
		if r.Method != http.MethodPut || r.Header.Get("X-Amz-Copy-Source") == "" ||
			!strings.HasPrefix(r.URL.Path, "/"+bucket+"/"+prefix) {
			return false
		}
		return seen.Add(1) > n
	}
}
