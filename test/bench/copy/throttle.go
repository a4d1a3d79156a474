package main

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// throttle makes the proxy in front of versitygw (benchenv.Proxy) look like a real
// store in throttling mode: write requests above a set rate are answered 503
// SlowDown, as S3 answers a prefix pushed past its request rate. The rate can change
// between measurements.
type throttle struct {
	mu       sync.Mutex
	rate     float64 // accepted write requests per second; 0: no throttling
	tokens   float64
	last     time.Time
	accepted atomic.Int64
	refused  atomic.Int64
}

// set makes the proxy accept write requests (PUT, POST, DELETE) at perSecond at most,
// with a burst of a tenth of a second's worth, and answer the others 503 SlowDown; 0
// turns throttling off.
func (t *throttle) set(perSecond float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rate, t.tokens, t.last = perSecond, max(1, perSecond/10), time.Now()
	t.accepted.Store(0)
	t.refused.Store(0)
}

// slowDown answers a write request above the rate 503 SlowDown and reports whether
// it did; the proxy calls it after the delay (benchenv.ProxyHooks.Answer), so a
// refusal takes as long as an answer of the store.
func (t *throttle) slowDown(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || t.admit() {
		return false
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` +
		`<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`))
	return true
}

// admit takes a token of the throttle's bucket, if throttling.
func (t *throttle) admit() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rate <= 0 {
		return true
	}
	now := time.Now()
	t.tokens = min(max(1, t.rate/10), t.tokens+now.Sub(t.last).Seconds()*t.rate)
	t.last = now
	if t.tokens < 1 {
		t.refused.Add(1)
		return false
	}
	t.tokens--
	t.accepted.Add(1)
	return true
}
