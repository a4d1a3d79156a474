package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// operation is the kind of an S3 request, as the proxy counts them.
type operation int

// Kinds of request.
const (
	opList   operation = iota // ListObjectsV2 / ListObjectVersions
	opHead                    // HeadObject, HeadBucket
	opGet                     // GetObject
	opPut                     // PutObject (inventory parts, refs)
	opCopy                    // CopyObject, UploadPartCopy
	opDelete                  // DeleteObjects, DeleteObject
	opOther                   // bucket operations, multipart create/complete
	numOps
)

var opNames = [numOps]string{"list", "head", "get", "put", "copy", "delete", "other"}

// requestCounts are the requests of one phase, by kind.
type requestCounts [numOps]int64

// total is the number of requests of every kind.
func (c requestCounts) total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// String lists the kinds that occurred: "list 21, copy 200, put 3".
func (c requestCounts) String() string {
	var parts []string
	for op, v := range c {
		if v > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", opNames[op], v))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// netProxy stands between the backups and versitygw: every request waits a fixed
// delay before it is forwarded (a real network: S3 answers in tens of milliseconds),
// and is counted by kind, so each backup method's requests can be read off.
type netProxy struct {
	server *http.Server
	url    string
	delay  atomic.Int64 // nanoseconds
	counts [numOps]atomic.Int64
}

func startNetProxy(target string) (*netProxy, error) {
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
	p := &netProxy{url: "http://" + ln.Addr().String()}
	p.server = &http.Server{ReadHeaderTimeout: time.Minute, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.counts[classify(r)].Add(1)
		if d := time.Duration(p.delay.Load()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
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

// setDelay sets the wait before each request is forwarded.
func (p *netProxy) setDelay(d time.Duration) { p.delay.Store(int64(d)) }

// take returns the requests counted since the last call and starts counting afresh.
func (p *netProxy) take() requestCounts {
	var c requestCounts
	for op := range p.counts {
		c[op] = p.counts[op].Swap(0)
	}
	return c
}

// classify tells the kind of a path-style S3 request.
func classify(r *http.Request) operation {
	path := strings.Trim(r.URL.Path, "/")
	bucketOnly := !strings.Contains(path, "/")
	q := r.URL.Query()
	switch r.Method {
	case http.MethodGet:
		if !bucketOnly {
			return opGet
		}
		if q.Has("list-type") || q.Has("versions") || q.Has("prefix") || len(q) == 0 {
			return opList
		}
	case http.MethodHead:
		return opHead
	case http.MethodPut:
		if bucketOnly {
			return opOther
		}
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			return opCopy
		}
		return opPut
	case http.MethodDelete:
		if !bucketOnly {
			return opDelete
		}
	case http.MethodPost:
		if bucketOnly && q.Has("delete") {
			return opDelete
		}
	}
	return opOther
}

func (p *netProxy) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.server.Shutdown(ctx); err != nil {
		logf("stop the proxy: %v", err)
	}
}
