package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
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

// requestCounter counts the requests the proxy in front of versitygw
// (benchenv.Proxy) sees, by kind, so each backup method's requests can be read off.
type requestCounter struct {
	counts [numOps]atomic.Int64
}

// arrived counts r; the proxy calls it as r arrives, before the delay
// (benchenv.ProxyHooks.Arrived).
func (c *requestCounter) arrived(r *http.Request) { c.counts[classify(r)].Add(1) }

// take returns the requests counted since the last call and starts counting afresh.
func (c *requestCounter) take() requestCounts {
	var n requestCounts
	for op := range c.counts {
		n[op] = c.counts[op].Swap(0)
	}
	return n
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
