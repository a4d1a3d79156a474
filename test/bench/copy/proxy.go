package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// netProxy stands between the copy tools and versitygw and makes the loopback server
// look like a real network and a real store: every request waits a fixed delay before
// it is forwarded (S3's tens of milliseconds per CopyObject), and in throttling mode
// write requests above a set rate are answered 503 SlowDown, as S3 answers a prefix
// pushed past its request rate. Both can change between measurements.
type netProxy struct {
	server *http.Server
	url    string

	delay atomic.Int64 // nanoseconds

	mu       sync.Mutex
	rate     float64 // accepted write requests per second; 0: no throttling
	tokens   float64
	last     time.Time
	accepted atomic.Int64
	refused  atomic.Int64
}

func startNetProxy(target string) (*netProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
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
	rp.ErrorLog = nil
	p := &netProxy{url: "http://" + ln.Addr().String()}
	p.server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(p.delay.Load()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !p.admit() {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` +
				`<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`))
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = p.server.Serve(ln) }()
	return p, nil
}

// setDelay sets the wait before each request is forwarded.
func (p *netProxy) setDelay(d time.Duration) { p.delay.Store(int64(d)) }

// setThrottle makes the proxy accept write requests (PUT, POST, DELETE) at perSecond
// at most, with a burst of a tenth of a second's worth, and answer the others 503
// SlowDown; 0 turns throttling off.
func (p *netProxy) setThrottle(perSecond float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate, p.tokens, p.last = perSecond, max(1, perSecond/10), time.Now()
	p.accepted.Store(0)
	p.refused.Store(0)
}

// admit takes a token of the throttle's bucket, if throttling.
func (p *netProxy) admit() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rate <= 0 {
		return true
	}
	now := time.Now()
	p.tokens = min(max(1, p.rate/10), p.tokens+now.Sub(p.last).Seconds()*p.rate)
	p.last = now
	if p.tokens < 1 {
		p.refused.Add(1)
		return false
	}
	p.tokens--
	p.accepted.Add(1)
	return true
}

func (p *netProxy) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.server.Shutdown(ctx)
}
