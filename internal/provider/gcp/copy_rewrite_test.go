package gcp

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// rewriteFixture is a source bucket with one object and an empty destination bucket.
type rewriteFixture struct {
	raw      rawClient
	src, dst string
	data     []byte
}

func newRewriteFixture(t *testing.T) *rewriteFixture {
	t.Helper()
	raw := newRawClient(t, gaps.URL)
	f := &rewriteFixture{raw: raw, src: raw.newBucket(t, nil), dst: raw.newBucket(t, nil), data: []byte("a document copied with several rewrite calls")}
	raw.put(t, f.src, "dl/doc.pdf", f.data)
	return f
}

func (f *rewriteFixture) request() provider.ObjectStorageCopyRequest {
	return provider.ObjectStorageCopyRequest{SourceBucket: f.src, SourcePrefix: "dl/", DestinationBucket: f.dst, DestinationPrefix: "b/"}
}

// withPlan scripts the proxy's rewrites for one test.
func withPlan(t *testing.T, plan rewritePlan) {
	t.Helper()
	gaps.setPlan(plan)
	t.Cleanup(func() { gaps.setPlan(rewritePlan{}) })
}

func wantTokens(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("rewrite calls carried tokens %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("rewrite calls carried tokens %q, want %q", got, want)
		}
	}
}

// The emulator finishes every rewrite in one call; behind the proxy the first calls
// answer done:false, and each next call must carry the token of the one before.
func TestCopyLoopsOnTheRewriteToken(t *testing.T) {
	f := newRewriteFixture(t)
	withPlan(t, rewritePlan{Pending: 3})
	p := newTestProvider(t, gaps.URL, Options{})
	res, err := p.CopyObjectStorage(context.Background(), f.request())
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if res.ObjectsCopied != 1 || res.BytesCopied != int64(len(f.data)) {
		t.Fatalf("result %+v, want the object copied", *res)
	}
	if got, ok := f.raw.read(t, f.dst, "b/doc.pdf"); !ok || string(got) != string(f.data) {
		t.Fatalf("destination holds %q (present %v), want the source's bytes", got, ok)
	}
	object := f.dst + "/b/doc.pdf"
	wantTokens(t, gaps.rewriteCalls(f.dst, "b/doc.pdf"), "", rewriteToken(object, 1), rewriteToken(object, 2), rewriteToken(object, 3))
}

// A rewrite call the client gives up on (one attempt, then a 503) is resumed from the
// copier's last token, not started over.
func TestCopyResumesAnInterruptedRewriteWithItsToken(t *testing.T) {
	f := newRewriteFixture(t)
	withPlan(t, rewritePlan{Pending: 2, Failures: 2})
	opts := fastRetries
	opts.MaxAttempts = 1
	p := newTestProvider(t, gaps.URL, opts)
	res, err := p.CopyObjectStorage(context.Background(), f.request())
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if res.ObjectsCopied != 1 {
		t.Fatalf("result %+v, want the object copied", *res)
	}
	object := f.dst + "/b/doc.pdf"
	first := rewriteToken(object, 1)
	// Call 1 answers token 1; calls 2 and 3 fail and are resumed with token 1; call 4
	// answers token 4; call 5 finishes.
	wantTokens(t, gaps.rewriteCalls(f.dst, "b/doc.pdf"), "", first, first, first, rewriteToken(object, 4))
	if got, ok := f.raw.read(t, f.dst, "b/doc.pdf"); !ok || string(got) != string(f.data) {
		t.Fatalf("destination holds %q (present %v), want the source's bytes", got, ok)
	}
}

// A copy stopped mid-rewrite (a controller killed) reports the rewrite's token in its
// progress; a new run handed that token back resumes the rewrite with it, on a new
// client, instead of starting the object over.
func TestCopyResumesARewriteFromAnEarlierRunsToken(t *testing.T) {
	f := newRewriteFixture(t)
	withPlan(t, rewritePlan{Pending: 3})
	object := f.dst + "/b/doc.pdf"
	first := rewriteToken(object, 1)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var mu sync.Mutex
	var reported map[string]string
	req := f.request()
	req.Progress = func(p provider.CopyProgress) {
		mu.Lock()
		defer mu.Unlock()
		if len(p.ResumeTokens) > 0 && reported == nil {
			reported = p.ResumeTokens
			stop() // the controller is killed once the first token is out
		}
	}
	if _, err := newTestProvider(t, gaps.URL, Options{}).CopyObjectStorage(ctx, req); err == nil {
		t.Fatal("the stopped copy reported success")
	}
	mu.Lock()
	saved := reported
	mu.Unlock()
	if len(saved) != 1 || saved["b/doc.pdf"] != first {
		t.Fatalf("progress reported tokens %q, want {b/doc.pdf: %q}", saved, first)
	}
	if _, ok := f.raw.read(t, f.dst, "b/doc.pdf"); ok {
		t.Fatal("a stopped rewrite left an object at the destination")
	}

	var last provider.CopyProgress
	req = f.request()
	req.ResumeTokens = saved
	req.Progress = func(p provider.CopyProgress) { mu.Lock(); last = p; mu.Unlock() }
	res, err := newTestProvider(t, gaps.URL, Options{}).CopyObjectStorage(context.Background(), req)
	if err != nil || res.ObjectsCopied != 1 {
		t.Fatalf("resumed copy: %+v, %v; want the object copied", res, err)
	}
	// The stopped run made call 1; the new run's first call carries its token.
	wantTokens(t, gaps.rewriteCalls(f.dst, "b/doc.pdf"), "", first, rewriteToken(object, 2), rewriteToken(object, 3))
	if got, ok := f.raw.read(t, f.dst, "b/doc.pdf"); !ok || string(got) != string(f.data) {
		t.Fatalf("destination holds %q (present %v), want the source's bytes", got, ok)
	}
	mu.Lock()
	defer mu.Unlock()
	if last.ResumeTokens != nil {
		t.Errorf("a finished copy still reports tokens %q", last.ResumeTokens)
	}
}

// A token GCS no longer takes (400: expired, or the source changed since) starts the
// object's rewrite over, and the copy succeeds.
func TestCopyStartsOverWhenAnEarlierRunsTokenIsRefused(t *testing.T) {
	f := newRewriteFixture(t)
	withPlan(t, rewritePlan{Pending: 2})
	req := f.request()
	req.ResumeTokens = map[string]string{"b/doc.pdf": "a-token-from-a-week-ago"}
	res, err := newTestProvider(t, gaps.URL, Options{}).CopyObjectStorage(context.Background(), req)
	if err != nil || res.ObjectsCopied != 1 {
		t.Fatalf("copy: %+v, %v; want the object copied", res, err)
	}
	// The stale token is refused (call 1), the rewrite starts over (call 2 is the
	// proxy's pending answer, since the plan counts calls), and call 3 finishes.
	object := f.dst + "/b/doc.pdf"
	wantTokens(t, gaps.rewriteCalls(f.dst, "b/doc.pdf"), "a-token-from-a-week-ago", "", rewriteToken(object, 2))
	if got, ok := f.raw.read(t, f.dst, "b/doc.pdf"); !ok || string(got) != string(f.data) {
		t.Fatalf("destination holds %q (present %v), want the source's bytes", got, ok)
	}
}

// Past RewriteResumes the failure is the object's, named, and transient.
func TestCopyFailsAfterTheRewriteResumesRunOut(t *testing.T) {
	f := newRewriteFixture(t)
	withPlan(t, rewritePlan{Pending: 2, Failures: 5})
	opts := fastRetries
	opts.MaxAttempts, opts.RewriteResumes = 1, 2
	p := newTestProvider(t, gaps.URL, opts)
	res, err := p.CopyObjectStorage(context.Background(), f.request())
	// The scripted 503 is GCS's "back off": Throttled, as on AWS, and retried later.
	if provider.KindOf(err) != provider.KindThrottled || !provider.IsTransient(err) {
		t.Fatalf("copy: %v, want a transient Throttled failure", err)
	}
	if d := provider.Describe(err); !strings.Contains(d, "dl/doc.pdf") {
		t.Errorf("message %q does not name the object", d)
	}
	if res.ObjectsFailed != 1 || res.ObjectsCopied != 0 {
		t.Errorf("result %+v, want the object failed", *res)
	}
	// The call that answered a token, the call that failed, one more per resume.
	if n := len(gaps.rewriteCalls(f.dst, "b/doc.pdf")); n != 2+opts.RewriteResumes {
		t.Errorf("%d rewrite calls, want %d", n, 2+opts.RewriteResumes)
	}
	if _, ok := f.raw.read(t, f.dst, "b/doc.pdf"); ok {
		t.Errorf("a failed rewrite left an object at the destination")
	}
}

// Under SkipExisting a key written at the destination after it was listed is not
// replaced: the rewrite is write-once (ifGenerationMatch=0), which the proxy enforces
// where the emulator does not.
func TestSkipExistingRewriteIsWriteOnce(t *testing.T) {
	f := newRewriteFixture(t)
	f.raw.put(t, f.src, "dl/zz-late.pdf", []byte("the backup's version"))
	p := newTestProvider(t, gaps.URL, Options{})
	gaps.mu.Lock()
	refusedBefore := gaps.preconditionRefusals
	gaps.mu.Unlock()

	meta := func(key string, data []byte) provider.CopyItem {
		return provider.CopyItem{Source: provider.ObjectMetadata{Key: key, Size: int64(len(data)), ETag: md5Hex(data)}}
	}
	late := []byte("written by the application while the restore ran")
	items := func(yield func(provider.CopyItem, error) bool) {
		if !yield(meta("dl/doc.pdf", f.data), nil) {
			return
		}
		// The destination was listed when the first item was looked up: this key
		// arrives after that, so only the store's precondition can keep it.
		f.raw.put(t, f.dst, "b/zz-late.pdf", late)
		yield(meta("dl/zz-late.pdf", []byte("the backup's version")), nil)
	}
	var (
		mu     sync.Mutex
		stored []string
	)
	req := f.request()
	req.Existing, req.Objects = provider.SkipExisting, items
	req.Stored = func(o provider.StoredObject) {
		mu.Lock()
		defer mu.Unlock()
		stored = append(stored, o.Key)
	}
	req.Concurrency = 1
	res, err := p.CopyObjectStorage(context.Background(), req)
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if res.ObjectsCopied != 1 || res.ObjectsSkipped != 1 {
		t.Fatalf("result %+v, want one copied and the late key skipped", *res)
	}
	if got, _ := f.raw.read(t, f.dst, "b/zz-late.pdf"); string(got) != string(late) {
		t.Fatalf("the late key holds %q, want the application's %q left alone", got, late)
	}
	if len(stored) != 1 || stored[0] != "b/doc.pdf" {
		t.Errorf("Stored called for %q, want only b/doc.pdf", stored)
	}
	gaps.mu.Lock()
	refused := gaps.preconditionRefusals - refusedBefore
	gaps.mu.Unlock()
	if refused != 1 {
		t.Errorf("the proxy refused %d rewrites as write-once, want 1 (the late key)", refused)
	}
}
