package benchenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"
)

// ProxyHooks are what a benchmark adds to the proxy's delay and forwarding; either
// may be nil.
type ProxyHooks struct {
	// Arrived sees every request as it arrives, before the delay, so a request is
	// counted even if its client gives up while it waits.
	Arrived func(*http.Request)
	// Answer runs after the delay and may answer the request itself instead of
	// forwarding it (a throttled store's SlowDown); it reports whether it did.
	Answer func(http.ResponseWriter, *http.Request) bool
}

// Proxy stands between the tools measured and versitygw and makes the loopback
// server look like a real network: every request waits a fixed delay before it is
// forwarded (S3 answers in tens of milliseconds).
type Proxy struct {
	// URL is the proxy's endpoint, http://127.0.0.1:<port>.
	URL    string
	server *http.Server
	delay  atomic.Int64 // nanoseconds
}

// startProxy forwards to target on a free loopback port; logf reports a failure of
// the proxy's server, which happens in the background.
func startProxy(target string, hooks ProxyHooks, logf func(format string, args ...any)) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("parse the server's endpoint: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the proxy: %w", err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	// The default transport keeps 2 idle connections per host: at hundreds of requests
	// in flight the proxy would open a connection to the server per request.
	rp.Transport = &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 4096,
		IdleConnTimeout:     90 * time.Second,
	}
	p := &Proxy{URL: "http://" + ln.Addr().String()}
	p.server = &http.Server{ReadHeaderTimeout: time.Minute, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hooks.Arrived != nil {
			hooks.Arrived(r)
		}
		if d := time.Duration(p.delay.Load()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if hooks.Answer != nil && hooks.Answer(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go func() {
		if err := p.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logf("proxy: %v", err)
		}
	}()
	return p, nil
}

// SetDelay sets the wait before each request is forwarded.
func (p *Proxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// stop shuts the proxy down, waiting up to 5 s for requests in flight.
func (p *Proxy) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.server.Shutdown(ctx); err != nil {
		return fmt.Errorf("stop the proxy: %w", err)
	}
	return nil
}
