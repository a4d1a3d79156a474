package harness

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// DelayProxy forwards to a server (the AWS emulator), waiting before each request
// while a delay is set: it slows a copy down so a test can stop a controller mid-way.
type DelayProxy struct {
	*httptest.Server
	mu    sync.Mutex
	delay time.Duration
}

// NewDelayProxy starts a proxy to target on a loopback port; Close stops it.
func NewDelayProxy(target string) (*DelayProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &DelayProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		d := p.delay
		p.mu.Unlock()
		time.Sleep(d)
		rp.ServeHTTP(w, r)
	}))
	return p, nil
}

// SetDelay sets the wait added before each request (0: none).
func (p *DelayProxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}
