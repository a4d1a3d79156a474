package aws

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// liferayStore is a source bucket laid out like Liferay's S3Store: user documents,
// the regenerable system-repository files, and some temporary files a user pattern
// excludes. It is seeded once and shared by the tests that only read it.
type liferayStore struct {
	bucket   string
	prefix   string
	kept     map[string][]byte // relative key → content, what a backup must contain
	excluded int
}

const (
	liferayUserDocuments = 2520 // more than 2,500: three ListObjectsV2 pages of 1,000
	liferayPrefix        = "document_library/"
	tmpPattern           = "**/*.tmp"
)

var (
	sharedStore     *liferayStore
	sharedStoreOnce sync.Once
)

func sharedLiferayStore(t *testing.T) *liferayStore {
	t.Helper()
	sharedStoreOnce.Do(func() {
		raw := newRawClients(t)
		s := &liferayStore{bucket: raw.newBucket(t, "liferay-dl"), prefix: liferayPrefix, kept: map[string][]byte{}}
		all := map[string][]byte{}
		for i := range liferayUserDocuments {
			rel := fmt.Sprintf("20097/%d/%d/1.%d", 20125+i%3, 40000+i, i%4)
			body := []byte(strings.Repeat(rel+";", 1+i%40)) // distinct content and sizes
			s.kept[rel] = body
			all[liferayPrefix+rel] = body
		}
		for i := range 15 {
			for _, generated := range []string{
				fmt.Sprintf("20097/0/document_thumbnail/20125/%d/1.0.jpg", 40000+i),
				fmt.Sprintf("20097/0/document_preview/20125/%d/1.0/%d.png", 40000+i, i%3+1),
				fmt.Sprintf("20097/0/adaptive/b7c6e1f0/20121/20125/%d/1.0", 40000+i),
			} {
				all[liferayPrefix+generated] = []byte("regenerable " + generated)
				s.excluded++
			}
		}
		for i := range 10 {
			key := fmt.Sprintf("20097/20125/upload-%d.tmp", i)
			all[liferayPrefix+key] = []byte("temporary")
			s.excluded++
		}
		all["outside-the-prefix/1.0"] = []byte("not part of the document library")
		start := time.Now()
		raw.put(t, s.bucket, all)
		t.Logf("seeded %d objects in %v", len(all), time.Since(start))
		sharedStore = s
	})
	if sharedStore == nil {
		t.Fatal("seeding the shared Liferay store failed in an earlier test")
	}
	return sharedStore
}

func (s *liferayStore) copyRequest(dstBucket, dstPrefix string) provider.ObjectStorageCopyRequest {
	return provider.ObjectStorageCopyRequest{
		SourceBucket:          s.bucket,
		SourcePrefix:          s.prefix,
		DestinationBucket:     dstBucket,
		DestinationPrefix:     dstPrefix,
		ExcludePatterns:       []string{tmpPattern},
		ExcludeGeneratedFiles: true,
	}
}

// progressLog records every progress callback, safely from many goroutines.
type progressLog struct {
	mu      sync.Mutex
	reports []provider.CopyProgress
}

func (l *progressLog) record(p provider.CopyProgress) {
	l.mu.Lock()
	l.reports = append(l.reports, p)
	l.mu.Unlock()
}

func TestCopyDocumentLibraryWithExclusionsAndResume(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	store := sharedLiferayStore(t)
	proxy := newFaultProxy(t) // no faults: it counts requests
	p := newTestProvider(t, Options{Endpoint: proxy.URL})
	dst := raw.newBucket(t, "backups")
	const dstPrefix = "acme/prd/backup-1/document_library/"

	var progress progressLog
	req := store.copyRequest(dst, dstPrefix)
	req.FileListLimit = 100
	req.Progress = progress.record
	start := time.Now()
	res, err := p.CopyObjectStorage(ctx, req)
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	t.Logf("copied %d objects in %v", res.ObjectsCopied, time.Since(start))

	var wantBytes int64
	for _, body := range store.kept {
		wantBytes += int64(len(body))
	}
	if res.ObjectsTotal != liferayUserDocuments || res.ObjectsCopied != liferayUserDocuments ||
		res.ObjectsExcluded != int64(store.excluded) || res.ObjectsSkipped != 0 || res.ObjectsFailed != 0 ||
		res.BytesCopied != wantBytes || res.BytesTotal != wantBytes {
		t.Fatalf("result %+v; want %d copied, %d excluded, %d bytes", *res, liferayUserDocuments, store.excluded, wantBytes)
	}
	assertDestinationHolds(t, raw, store, dst, dstPrefix)
	if pages := proxy.seen("ListObjectsV2"); pages < 3+1 { // 3 source pages, at least 1 destination page
		t.Errorf("%d ListObjectsV2 requests; the source alone spans 3 pages", pages)
	}
	if len(res.Files) != 100 {
		t.Errorf("%d files recorded, want the FileListLimit of 100", len(res.Files))
	}
	for _, f := range res.Files {
		want, ok := store.kept[strings.TrimPrefix(f.Key, dstPrefix)]
		if !strings.HasPrefix(f.Key, dstPrefix) || !ok || f.Size != int64(len(want)) || f.ETag == "" {
			t.Errorf("file entry %+v does not describe a copied object", f)
			break
		}
	}
	assertProgressMonotonic(t, &progress, liferayUserDocuments)

	t.Run("a re-run skips everything", func(t *testing.T) {
		copiesBefore := proxy.seen("CopyObject")
		again, err := p.CopyObjectStorage(ctx, store.copyRequest(dst, dstPrefix))
		if err != nil {
			t.Fatalf("re-run: %v", err)
		}
		if again.ObjectsSkipped != liferayUserDocuments || again.ObjectsCopied != 0 || again.BytesCopied != 0 {
			t.Fatalf("re-run result %+v, want all %d skipped", *again, liferayUserDocuments)
		}
		if n := proxy.seen("CopyObject") - copiesBefore; n != 0 {
			t.Fatalf("re-run sent %d CopyObject requests, want none", n)
		}
	})

	t.Run("a resumed copy redoes only missing and changed objects", func(t *testing.T) {
		var missing []string
		for rel := range store.kept {
			if len(missing) == 7 {
				break
			}
			missing = append(missing, rel)
		}
		for _, rel := range missing[:6] {
			if _, err := raw.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &dst, Key: awssdk.String(dstPrefix + rel)}); err != nil {
				t.Fatal(err)
			}
		}
		raw.put(t, dst, map[string][]byte{dstPrefix + missing[6]: []byte("truncated by a crash")})

		resumed, err := p.CopyObjectStorage(ctx, store.copyRequest(dst, dstPrefix))
		if err != nil {
			t.Fatalf("resume: %v", err)
		}
		if resumed.ObjectsCopied != 7 || resumed.ObjectsSkipped != liferayUserDocuments-7 {
			t.Fatalf("resume result %+v, want 7 copied and the rest skipped", *resumed)
		}
		assertDestinationHolds(t, raw, store, dst, dstPrefix)
	})

	t.Run("DeleteObjects removes exactly the named keys, in batches", func(t *testing.T) {
		raw.put(t, dst, map[string][]byte{"acme/prd/backup-10/keep": []byte("a neighbour sharing the prefix text")})
		var keys []string
		for key := range raw.listing(t, dst, "acme/prd/backup-1/") {
			keys = append(keys, key)
		}
		deleted, err := p.DeleteObjects(ctx, dst, keys)
		if err != nil || deleted != liferayUserDocuments {
			t.Fatalf("DeleteObjects = %d, %v; want %d, nil", deleted, err, liferayUserDocuments)
		}
		if n := proxy.seen("DeleteObjects"); n < 3 {
			t.Errorf("%d DeleteObjects requests for %d objects, want batches of at most 1,000", n, liferayUserDocuments)
		}
		left := raw.listing(t, dst, "acme/")
		if _, kept := left["acme/prd/backup-10/keep"]; len(left) != 1 || !kept {
			t.Fatalf("after DeleteObjects the bucket holds %d objects, want only the neighbour", len(left))
		}
	})
}

// assertDestinationHolds checks that the destination prefix holds exactly the kept
// objects of the store, byte counts and ETags equal to the source's.
func assertDestinationHolds(t *testing.T, raw rawClients, store *liferayStore, dst, dstPrefix string) {
	t.Helper()
	source := raw.listing(t, store.bucket, store.prefix)
	copied := raw.listing(t, dst, dstPrefix)
	if len(copied) != len(store.kept) {
		t.Errorf("destination holds %d objects, want %d", len(copied), len(store.kept))
	}
	for rel := range store.kept {
		got, ok := copied[dstPrefix+rel]
		want := source[store.prefix+rel]
		if !ok || got != want {
			t.Errorf("destination %s = %+v (present %v), want %+v", rel, got, ok, want)
			return
		}
	}
}

func assertProgressMonotonic(t *testing.T, log *progressLog, total int64) {
	t.Helper()
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.reports) == 0 {
		t.Fatal("no progress reported")
	}
	var maxCopied int64
	for _, r := range log.reports {
		maxCopied = max(maxCopied, r.ObjectsCopied)
		if r.ObjectsCopied+r.ObjectsSkipped > r.ObjectsTotal {
			t.Fatalf("progress %+v: more done than selected", r)
		}
	}
	sawFinal := false
	for _, r := range log.reports {
		if r.ListingDone && r.ObjectsTotal == total {
			sawFinal = true
		}
	}
	if maxCopied != total || !sawFinal {
		t.Fatalf("progress never reached %d copied with the listing done (max copied %d)", total, maxCopied)
	}
}

func TestCopyLargeObjectInParallelParts(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	src, dst := raw.newBucket(t, "large-src"), raw.newBucket(t, "large-dst")
	large := make([]byte, 13<<20+12345) // three 5 MiB parts, the last one short
	if _, err := rand.Read(large); err != nil {
		t.Fatal(err)
	}
	_, err := raw.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &src, Key: awssdk.String("dl/big/video.mp4"), Body: bytes.NewReader(large),
		ContentType: awssdk.String("video/mp4"), Metadata: map[string]string{"origin": "liferay"},
	})
	if err != nil {
		t.Fatal(err)
	}
	raw.put(t, src, map[string][]byte{"dl/small.txt": []byte("small")})
	proxy := newFaultProxy(t)
	p := newTestProvider(t, Options{Endpoint: proxy.URL, MultipartThreshold: 6 << 20, PartSize: 5 << 20})
	req := provider.ObjectStorageCopyRequest{SourceBucket: src, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "b/", FileListLimit: 10}

	res, err := p.CopyObjectStorage(ctx, req)
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if res.ObjectsCopied != 2 || res.BytesCopied != int64(len(large))+5 {
		t.Fatalf("result %+v, want both objects and all bytes copied", *res)
	}
	if parts := proxy.seen("UploadPartCopy"); parts != 3 {
		t.Errorf("%d UploadPartCopy requests, want 3 parts", parts)
	}
	if got := raw.get(t, dst, "b/big/video.mp4"); !bytes.Equal(got, large) {
		t.Fatalf("multipart copy differs from the source (%d bytes vs %d)", len(got), len(large))
	}
	head, err := raw.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &dst, Key: awssdk.String("b/big/video.mp4")})
	if err != nil {
		t.Fatal(err)
	}
	if awssdk.ToString(head.ContentType) != "video/mp4" || head.Metadata["origin"] != "liferay" || head.Metadata[SourceETagMetadataKey] == "" {
		t.Errorf("multipart copy lost content type or metadata: %q %v", awssdk.ToString(head.ContentType), head.Metadata)
	}
	if uploads := openUploads(t, raw, dst); uploads != 0 {
		t.Errorf("%d multipart uploads left open", uploads)
	}

	t.Run("a re-run recognises the multipart copy", func(t *testing.T) {
		partsBefore := proxy.seen("UploadPartCopy")
		again, err := p.CopyObjectStorage(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if again.ObjectsSkipped != 2 || again.ObjectsCopied != 0 || proxy.seen("UploadPartCopy") != partsBefore {
			t.Fatalf("re-run %+v copied again", *again)
		}
	})

	t.Run("a failing part aborts the upload and names the object", func(t *testing.T) {
		proxy.inject(isKind("UploadPartCopy"), -1, http.StatusInternalServerError, "InternalError")
		defer proxy.inject(isKind("UploadPartCopy"), 0, 0, "") // later faults see none
		p := newTestProvider(t, Options{Endpoint: proxy.URL, MultipartThreshold: 6 << 20, PartSize: 5 << 20, MaxAttempts: 2,
			RetryBaseDelay: fastRetries.RetryBaseDelay, RetryMaxDelay: fastRetries.RetryMaxDelay})
		other := req
		other.DestinationPrefix = "failed/"
		res, err := p.CopyObjectStorage(ctx, other)
		if err == nil || !strings.Contains(err.Error(), "big/video.mp4") || !provider.IsTransient(err) {
			t.Fatalf("error %v, want a transient error naming big/video.mp4", err)
		}
		if res.ObjectsFailed != 1 || res.ObjectsCopied != 1 || res.BytesCopied != 5 {
			t.Fatalf("result %+v, want the small object copied, the large one failed and its bytes not counted", *res)
		}
		if uploads := openUploads(t, raw, dst); uploads != 0 {
			t.Errorf("%d multipart uploads left open after the failure", uploads)
		}
	})
}

func openUploads(t *testing.T, raw rawClients, bucket string) int {
	t.Helper()
	out, err := raw.s3.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

func TestCopyStopsPromptlyWhenCancelled(t *testing.T) {
	raw := newRawClients(t)
	store := sharedLiferayStore(t)
	proxy := newFaultProxy(t)
	// A ceiling at the adaptive floor: the copy's budget is exactly this many requests
	// in flight, whatever the controller measured before the hold.
	const passed, concurrency = 100, minConcurrency
	// The first copies reach S3; every later one is parked in the proxy until the copy
	// gives up on it. So the copy is provably mid-way, its whole budget waiting on
	// requests in flight, when it is cancelled, whatever the speed of the machine; and
	// it can only return by abandoning those requests.
	proxy.holdAfter(isKind("CopyObject"), passed)
	// Small listing pages: the listing is still going, waiting for the dispatcher to
	// take its pages, when the copy is cancelled, and must stop with it.
	p := newTestProvider(t, Options{Endpoint: proxy.URL, ListPageSize: 50})
	dst := raw.newBucket(t, "cancelled")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := store.copyRequest(dst, "b/")
	req.Concurrency = concurrency
	type outcome struct {
		res *provider.ObjectStorageCopyResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := p.CopyObjectStorage(ctx, req)
		done <- outcome{res, err}
	}()
	waitUntil(t, "the whole budget waiting on parked copies", func() bool { return proxy.held.Load() == concurrency })
	if n := len(copyGoroutines()); n == 0 {
		t.Fatal("no goroutine of the copy found while it runs: copyGoroutines no longer recognises them")
	}

	cancel()
	var got outcome
	select {
	case got = <-done:
	case <-time.After(time.Minute):
		t.Fatalf("the copy did not return after cancellation (%d requests still parked)", proxy.held.Load())
	}
	res, err := got.res, got.err
	if !errors.Is(err, context.Canceled) || !provider.IsTransient(err) {
		t.Fatalf("error %v, want a transient error wrapping context.Canceled", err)
	}
	if res == nil || res.ObjectsCopied == 0 || res.ObjectsCopied > passed {
		t.Fatalf("result %+v, want a partial copy of at most the %d objects whose copy reached S3", res, passed)
	}
	// Nothing keeps running behind the caller's back: the parked requests were
	// abandoned and no goroutine of the copy is left to send more.
	waitUntil(t, "the parked requests to be abandoned", func() bool { return proxy.held.Load() == 0 })
	waitUntil(t, "the copy's goroutines to end", func() bool { return len(copyGoroutines()) == 0 })
	if n := int64(len(raw.listing(t, dst, "b/"))); n != res.ObjectsCopied {
		t.Fatalf("destination holds %d objects, want the %d reported copied", n, res.ObjectsCopied)
	}
}

// copyGoroutines returns the stacks of the goroutines running this package's copy
// code (workers, listings, the copy itself).
func copyGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "internal/provider/aws.(*copyRun)") || strings.Contains(g, "internal/provider/aws.(*Provider).streamObjects") {
			out = append(out, g)
		}
	}
	return out
}

// waitUntil polls cond until it holds; the minute it allows only runs out when the
// test fails.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// smallSource creates a bucket with n small objects under "docs/" and returns it.
func smallSource(t *testing.T, raw rawClients, n int) string {
	t.Helper()
	bucket := raw.newBucket(t, "small-src")
	objects := map[string][]byte{}
	for i := range n {
		objects[fmt.Sprintf("docs/doc-%03d", i)] = []byte(fmt.Sprintf("document %d", i))
	}
	raw.put(t, bucket, objects)
	return bucket
}

func TestCopyRetriesThrottlingAndServerErrors(t *testing.T) {
	raw := newRawClients(t)
	src, dst := smallSource(t, raw, 200), raw.newBucket(t, "throttled")
	proxy := newFaultProxy(t)
	// Every object's first copy attempt is throttled and its second fails with a 5xx:
	// 200 throttles are more than the SDK's default retry quota absorbs (500 tokens, 5
	// per throttled retry), so with it this copy would end in "retry quota exceeded".
	slowDown := proxy.injectPerObject(isKind("CopyObject"), 1, http.StatusServiceUnavailable, "SlowDown")
	serverError := proxy.injectPerObject(isKind("CopyObject"), 1, http.StatusInternalServerError, "InternalError")
	unavailable := proxy.inject(isKind("ListObjectsV2"), 2, http.StatusServiceUnavailable, "ServiceUnavailable")
	opts := fastRetries
	opts.Endpoint = proxy.URL
	p := newTestProvider(t, opts)

	res, err := p.CopyObjectStorage(context.Background(), provider.ObjectStorageCopyRequest{
		SourceBucket: src, SourcePrefix: "docs/", DestinationBucket: dst, DestinationPrefix: "docs/", Concurrency: 32,
	})
	if err != nil {
		t.Fatalf("copy under throttling: %v", err)
	}
	if res.ObjectsCopied != 200 {
		t.Fatalf("result %+v, want 200 copied", *res)
	}
	if n := len(raw.listing(t, dst, "docs/")); n != 200 {
		t.Fatalf("destination holds %d objects, want 200", n)
	}
	if slowDown.injected.Load() != 200 || serverError.injected.Load() != 200 || unavailable.injected.Load() != 2 {
		t.Errorf("faults fired %d SlowDown, %d InternalError, %d listing 503; want 200, 200, 2",
			slowDown.injected.Load(), serverError.injected.Load(), unavailable.injected.Load())
	}
	if got := proxy.seen("CopyObject"); got != 600 {
		t.Errorf("%d CopyObject requests, want 600 (three attempts per object)", got)
	}
}

func TestCopyRequestRateCap(t *testing.T) {
	raw := newRawClients(t)
	src, dst := smallSource(t, raw, 100), raw.newBucket(t, "rate-capped")
	proxy := newFaultProxy(t)
	// 200 requests/s for the copy's 100 CopyObject and 2 listings, with about a tenth of
	// a second of burst: at least 0.4 s, where moto alone takes a fraction of that.
	p := newTestProvider(t, Options{Endpoint: proxy.URL, CopyRequestsPerSecond: 200})
	start := time.Now()
	res, err := p.CopyObjectStorage(context.Background(), provider.ObjectStorageCopyRequest{
		SourceBucket: src, SourcePrefix: "docs/", DestinationBucket: dst, DestinationPrefix: "docs/",
	})
	elapsed := time.Since(start)
	if err != nil || res.ObjectsCopied != 100 {
		t.Fatalf("copy: %+v, %v; want 100 copied", res, err)
	}
	if elapsed < 400*time.Millisecond {
		t.Fatalf("102 requests at 200/s took %v, want at least 0.4 s", elapsed)
	}
	if got := proxy.seen("CopyObject"); got != 100 {
		t.Errorf("%d CopyObject requests, want 100", got)
	}
	// Requests outside a copy are not capped.
	start = time.Now()
	for range 50 {
		if _, err := p.ListObjects(context.Background(), dst, "docs/doc-00"); err != nil {
			t.Fatal(err)
		}
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("50 listings outside a copy took %v: the cap applies to them", elapsed)
	}
}

func TestCopyFailureNamesTheObject(t *testing.T) {
	raw := newRawClients(t)
	src, dst := smallSource(t, raw, 20), raw.newBucket(t, "one-fails")
	proxy := newFaultProxy(t)
	broken := proxy.inject(isCopyOf("docs/doc-007"), -1, http.StatusInternalServerError, "InternalError")
	opts := fastRetries
	opts.Endpoint, opts.MaxAttempts = proxy.URL, 3
	p := newTestProvider(t, opts)

	res, err := p.CopyObjectStorage(context.Background(), provider.ObjectStorageCopyRequest{
		SourceBucket: src, SourcePrefix: "docs/", DestinationBucket: dst, DestinationPrefix: "docs/",
	})
	if err == nil || !strings.Contains(err.Error(), "docs/doc-007") {
		t.Fatalf("error %v, want one naming docs/doc-007", err)
	}
	if !provider.IsTransient(err) {
		t.Errorf("a 5xx that outlasted the retries is %s, want transient", provider.KindOf(err))
	}
	if res.ObjectsFailed != 1 || res.ObjectsCopied != 19 {
		t.Fatalf("result %+v, want 19 copied and 1 failed", *res)
	}
	if broken.injected.Load() != 3 {
		t.Errorf("broken object tried %d times, want MaxAttempts=3", broken.injected.Load())
	}
	if n := len(raw.listing(t, dst, "docs/")); n != 19 {
		t.Fatalf("destination holds %d objects, want 19", n)
	}
}

func TestCopyCountsObjectsDeletedDuringTheCopy(t *testing.T) {
	raw := newRawClients(t)
	src, dst := smallSource(t, raw, 10), raw.newBucket(t, "vanished")
	proxy := newFaultProxy(t)
	// The object is listed, then deleted by a Liferay user before its copy runs.
	proxy.inject(isCopyOf("docs/doc-003"), -1, http.StatusNotFound, "NoSuchKey")
	p := newTestProvider(t, Options{Endpoint: proxy.URL})

	res, err := p.CopyObjectStorage(context.Background(), provider.ObjectStorageCopyRequest{
		SourceBucket: src, SourcePrefix: "docs/", DestinationBucket: dst, DestinationPrefix: "docs/", FileListLimit: 100,
	})
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if res.ObjectsVanished != 1 || res.ObjectsCopied != 9 || res.ObjectsFailed != 0 {
		t.Fatalf("result %+v, want 9 copied and 1 vanished", *res)
	}
	if len(res.Files) != 9 {
		t.Fatalf("file list has %d entries, want the 9 objects present at the destination", len(res.Files))
	}
	for _, f := range res.Files {
		if f.Key == "docs/doc-003" {
			t.Fatal("the vanished object is listed as backed up")
		}
	}
}

func TestCopyBadInputIsClassified(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	src, dst := smallSource(t, raw, 30), raw.newBucket(t, "bad-input")
	p := newTestProvider(t, Options{})
	copyReq := func(srcBucket, dstBucket string) provider.ObjectStorageCopyRequest {
		return provider.ObjectStorageCopyRequest{SourceBucket: srcBucket, SourcePrefix: "docs/", DestinationBucket: dstBucket, DestinationPrefix: "x/"}
	}

	cases := []struct {
		name string
		req  provider.ObjectStorageCopyRequest
		kind provider.ErrorKind
	}{
		{"missing source bucket", copyReq("no-such-source-bucket", dst), provider.KindNotFound},
		{"missing destination bucket", copyReq(src, "no-such-destination-bucket"), provider.KindNotFound},
		{"no bucket", copyReq("", dst), provider.KindInvalidInput},
		{"overlapping prefixes", provider.ObjectStorageCopyRequest{SourceBucket: src, SourcePrefix: "docs/", DestinationBucket: src, DestinationPrefix: "docs/backup/"}, provider.KindInvalidInput},
		{"malformed pattern", func() provider.ObjectStorageCopyRequest {
			r := copyReq(src, dst)
			r.ExcludePatterns = []string{"[x"}
			return r
		}(), provider.KindInvalidInput},
		{"part size below S3's minimum", func() provider.ObjectStorageCopyRequest { r := copyReq(src, dst); r.PartSize = 1 << 20; return r }(), provider.KindInvalidInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := p.CopyObjectStorage(ctx, c.req)
			if provider.KindOf(err) != c.kind || !provider.IsPermanent(err) {
				t.Fatalf("error %v (kind %s), want permanent %s", err, provider.KindOf(err), c.kind)
			}
		})
	}

	t.Run("access denied stops the copy at once", func(t *testing.T) {
		proxy := newFaultProxy(t)
		proxy.inject(isKind("CopyObject"), -1, http.StatusForbidden, "AccessDenied")
		p := newTestProvider(t, Options{Endpoint: proxy.URL})
		req := copyReq(src, dst)
		req.Concurrency = 2
		res, err := p.CopyObjectStorage(ctx, req)
		if provider.KindOf(err) != provider.KindAccessDenied || !provider.IsPermanent(err) {
			t.Fatalf("error %v (kind %s), want permanent AccessDenied", err, provider.KindOf(err))
		}
		if tried := proxy.seen("CopyObject"); tried > 4 {
			t.Fatalf("%d CopyObject requests after the first AccessDenied, want the copy to stop", tried)
		}
		if res.ObjectsCopied != 0 {
			t.Fatalf("result %+v, want nothing copied", *res)
		}
	})
}

func TestListUploadDownloadAndDeleteObjects(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	bucket := raw.newBucket(t, "objects")
	p := newTestProvider(t, Options{ListPageSize: 10})

	manifest := []byte(`{"version":1}`)
	if err := p.UploadObject(ctx, bucket, "acme/b1/manifest.json", manifest); err != nil {
		t.Fatalf("upload: %v", err)
	}
	body, err := p.DownloadObject(ctx, bucket, "acme/b1/manifest.json")
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	got, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := body.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, manifest) {
		t.Fatalf("downloaded %q, want %q", got, manifest)
	}
	if _, err := p.DownloadObject(ctx, bucket, "acme/b1/missing.json"); !provider.IsNotFound(err) || !provider.IsPermanent(err) {
		t.Fatalf("download of a missing object: %v, want permanent NotFound", err)
	}
	if err := p.UploadObject(ctx, "no-such-bucket-here", "k", manifest); !provider.IsNotFound(err) {
		t.Fatalf("upload to a missing bucket: %v, want NotFound", err)
	}

	objects := map[string][]byte{}
	for i := range 25 { // several pages of ListPageSize 10
		objects[fmt.Sprintf("acme/b1/dl/%04d", i)] = []byte{byte(i)}
	}
	raw.put(t, bucket, objects)

	listed, err := p.ListObjects(ctx, bucket, "acme/b1/")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(listed) != 26 || listed[0].Key != "acme/b1/dl/0000" || listed[0].Size != 1 || listed[0].ETag == "" || strings.Contains(listed[0].ETag, `"`) {
		t.Fatalf("listed %d objects, first %+v; want 26 with unquoted ETags", len(listed), listed[0])
	}
	if some, err := p.ListObjectsUpTo(ctx, bucket, "acme/b1/", 3); err != nil || len(some) != 3 || some[0].Key != "acme/b1/dl/0000" {
		t.Fatalf("ListObjectsUpTo(3) = %d objects, %v; want the first 3", len(some), err)
	}
	if _, err := p.DeleteObjects(ctx, bucket, []string{"acme/b1/dl/0000", ""}); provider.KindOf(err) != provider.KindInvalidInput {
		t.Fatalf("DeleteObjects with an empty key: %v, want InvalidInput", err)
	}
	if _, err := p.DeleteObjects(ctx, bucket, []string{"acme/b1/manifest.json", "acme/b1/never-existed"}); err != nil {
		t.Fatalf("DeleteObjects of a missing key: %v, want it counted as deleted", err)
	}
	if left, err := p.ListObjects(ctx, bucket, "acme/b1/"); err != nil || len(left) != 25 {
		t.Fatalf("after deleting the manifest %d objects are left (%v), want the 25 others", len(left), err)
	}
}

// oddKeys are keys S3 accepts that a path rule would treat apart from others. The SDK
// and the emulator must keep each as written: no "..", "." or "//" resolved, no
// Unicode normalisation (the NFC and NFD twins are two objects), control characters
// listed and deleted although XML 1.0 cannot carry them.
var oddKeys = []string{
	"20097/20121/../dotdot-segment.txt", "../leading-dotdot.txt", "..", "a/..", "20097/./dot.txt", "./x", ".",
	"trailing-dot.", "double//slash.txt", "/leading-slash.txt", "//", "folder-marker/",
	"spaces %25 + ? # & = ; ~.txt", "unicode/\u00e9t\u00e9-\u6587\u4ef6-\U0001F600.txt",
	"twins/caf\u00e9.txt", "twins/cafe\u0301.txt", "control/tab\tdel\x7f.txt", "control/cr\r.txt", "control/bell\a.txt",
	`backslash\..\x.txt`,
}

func TestOddKeysAreCopiedListedAndDeletedAsWritten(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	src, dst := raw.newBucket(t, "odd-src"), raw.newBucket(t, "odd-dst")
	// The longest key the destination can hold, and one byte more.
	const dstPrefix = "backup/data/"
	atLimit := "long/" + strings.Repeat("k", provider.MaxKeyBytes-len(dstPrefix+"long/"))
	overLimit := "over/" + strings.Repeat("o", provider.MaxKeyBytes-len(dstPrefix+"over/")+1)
	objects := map[string][]byte{}
	for i, k := range append(slices.Clone(oddKeys), atLimit) {
		objects["lib/"+k] = []byte(fmt.Sprintf("object %d %q", i, k))
	}
	raw.put(t, src, objects)
	raw.put(t, src, map[string][]byte{"lib/" + overLimit: []byte("no room")})
	p := newTestProvider(t, Options{ListPageSize: 7})

	var stored []string
	var mu sync.Mutex
	res, err := p.CopyObjectStorage(ctx, provider.ObjectStorageCopyRequest{
		SourceBucket: src, SourcePrefix: "lib/", DestinationBucket: dst, DestinationPrefix: dstPrefix,
		Stored: func(o provider.StoredObject) { mu.Lock(); stored = append(stored, o.Key); mu.Unlock() },
	})
	if provider.KindOf(err) != provider.KindInvalidInput || !strings.Contains(err.Error(), "lib/"+overLimit) ||
		!strings.Contains(err.Error(), "S3 keys are at most 1024 bytes") {
		t.Fatalf("copy error %v, want InvalidInput naming the key that does not fit", err)
	}
	if res.ObjectsFailed != 1 || res.ObjectsCopied != int64(len(objects)) {
		t.Fatalf("result %+v, want %d copied and 1 failed", *res, len(objects))
	}
	listed, err := p.ListObjects(ctx, dst, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range listed {
		keys = append(keys, o.Key)
	}
	var want []string
	for k := range objects {
		want = append(want, dstPrefix+strings.TrimPrefix(k, "lib/"))
	}
	slices.Sort(want)
	slices.Sort(stored)
	if !slices.Equal(keys, want) || !slices.Equal(stored, want) {
		t.Fatalf("listed %q\nreported %q\nwant %q", keys, stored, want)
	}
	for k, body := range objects {
		if got := raw.get(t, dst, dstPrefix+strings.TrimPrefix(k, "lib/")); !bytes.Equal(got, body) {
			t.Errorf("%q holds %q, want %q", k, got, body)
		}
	}
	if _, err := p.DeleteObjects(ctx, dst, want); err != nil {
		t.Fatal(err)
	}
	if left, err := p.ListObjects(ctx, dst, ""); err != nil || len(left) != 0 {
		t.Fatalf("after deleting every key %d objects are left (%v): %+v", len(left), err, left)
	}
}
