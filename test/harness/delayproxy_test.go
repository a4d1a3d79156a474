package harness

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// patience bounds the waits for outcomes that must happen; it only runs out when a
// test fails, so it is long enough for a machine busy with other tests.
const patience = time.Minute

// backend answers "ok <path>" and remembers which paths it served.
type backend struct {
	*httptest.Server
	mu     sync.Mutex
	served []string
}

func newBackend(t *testing.T) *backend {
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.served = append(b.served, r.URL.Path)
		b.mu.Unlock()
		// A failed write shows at the client as a wrong answer, which every test checks.
		_, _ = io.WriteString(w, "ok "+r.URL.Path)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) sawPath(path string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Contains(b.served, path)
}

func newTestProxy(t *testing.T, target string) *DelayProxy {
	p, err := NewDelayProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

type answer struct {
	body string
	err  error
}

// get sends GET path through the proxy in the background; the answer arrives on the channel.
func get(ctx context.Context, p *DelayProxy, path string) <-chan answer {
	out := make(chan answer, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path, nil)
		if err != nil {
			out <- answer{err: err}
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- answer{err: err}
			return
		}
		body, err := io.ReadAll(resp.Body)
		out <- answer{body: string(body), err: errors.Join(err, resp.Body.Close())}
	}()
	return out
}

func await(t *testing.T, what string, ch <-chan answer) answer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(patience):
		t.Fatalf("no answer for %s", what)
		return answer{}
	}
}

func mustAnswer(t *testing.T, what string, ch <-chan answer, want string) {
	t.Helper()
	a := await(t, what, ch)
	if a.err != nil || a.body != want {
		t.Fatalf("%s: answer %q, error %v; want %q", what, a.body, a.err, want)
	}
}

func waitHeld(t *testing.T, p *DelayProxy, want ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	slices.Sort(want)
	if held, err := p.WaitHeld(ctx, func(h []string) bool { return slices.Equal(h, want) }); err != nil {
		t.Fatalf("held requests %v, want %v: %v", held, want, err)
	}
}

func heldUnder(prefix string) func(*http.Request) bool {
	return func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, prefix) }
}

func TestDelayProxyHoldsMatchingRequestsUntilRelease(t *testing.T) {
	b := newBackend(t)
	p := newTestProxy(t, b.URL)
	ctx := context.Background()

	mustAnswer(t, "a request before any hold", get(ctx, p, "/free/0"), "ok /free/0")

	p.Hold(heldUnder("/held/"))
	first, second := get(ctx, p, "/held/1"), get(ctx, p, "/held/2")
	waitHeld(t, p, "GET /held/1", "GET /held/2")

	mustAnswer(t, "a request the hold does not match, while two are parked", get(ctx, p, "/free/1"), "ok /free/1")
	// The parked requests are provably waiting (listed by Held), and the target has not
	// seen them: a request that reached it before being listed would show here.
	if b.sawPath("/held/1") || b.sawPath("/held/2") {
		t.Fatal("a parked request reached the target")
	}
	select {
	case a := <-first:
		t.Fatalf("a parked request was answered before Release: %+v", a)
	default:
	}

	p.Release()
	mustAnswer(t, "the first parked request", first, "ok /held/1")
	mustAnswer(t, "the second parked request", second, "ok /held/2")
	waitHeld(t, p)
	mustAnswer(t, "a matching request after Release", get(ctx, p, "/held/3"), "ok /held/3")
}

// Drop ends a hold without forwarding what it parked: a test that stopped a
// controller must not see that controller's parked requests reach the target.
func TestDelayProxyDropAnswersParkedRequestsWithoutForwardingThem(t *testing.T) {
	b := newBackend(t)
	p := newTestProxy(t, b.URL)
	ctx := context.Background()

	p.Hold(heldUnder("/held/"))
	parked := get(ctx, p, "/held/1")
	waitHeld(t, p, "GET /held/1")
	p.Drop()
	if a := await(t, "the dropped request", parked); a.err != nil || a.body != "" {
		t.Fatalf("dropped request answered %q, %v; want an empty 502 answer", a.body, a.err)
	}
	waitHeld(t, p)
	if b.sawPath("/held/1") {
		t.Fatal("a dropped request reached the target")
	}
	mustAnswer(t, "a matching request after Drop", get(ctx, p, "/held/2"), "ok /held/2")
}

func TestDelayProxyHoldAgainKeepsParkedRequests(t *testing.T) {
	b := newBackend(t)
	p := newTestProxy(t, b.URL)
	ctx := context.Background()

	p.Hold(heldUnder("/a/"))
	a := get(ctx, p, "/a/1")
	waitHeld(t, p, "GET /a/1")
	p.Hold(heldUnder("/b/"))
	mustAnswer(t, "a request the first matcher selected, sent after the second Hold", get(ctx, p, "/a/2"), "ok /a/2")
	bb := get(ctx, p, "/b/1")
	waitHeld(t, p, "GET /a/1", "GET /b/1")
	p.Release()
	mustAnswer(t, "the request parked under the first matcher", a, "ok /a/1")
	mustAnswer(t, "the request parked under the second matcher", bb, "ok /b/1")
}

func TestDelayProxyForgetsARequestItsClientAbandons(t *testing.T) {
	b := newBackend(t)
	p := newTestProxy(t, b.URL)
	p.Hold(heldUnder("/held/"))

	ctx, cancel := context.WithCancel(context.Background())
	abandoned := get(ctx, p, "/held/gone")
	waitHeld(t, p, "GET /held/gone")
	cancel()
	if a := await(t, "the abandoned request", abandoned); !errors.Is(a.err, context.Canceled) {
		t.Fatalf("abandoned request: answer %q, error %v; want context.Canceled", a.body, a.err)
	}
	waitHeld(t, p) // the proxy noticed and stopped holding it
	p.Release()
	mustAnswer(t, "a request after Release", get(context.Background(), p, "/after"), "ok /after")
	if b.sawPath("/held/gone") {
		t.Fatal("the abandoned request reached the target")
	}
}

func TestDelayProxyCloseLetsParkedRequestsGo(t *testing.T) {
	b := newBackend(t)
	p := newTestProxy(t, b.URL) // closed here; closing it again at cleanup is harmless
	p.Hold(heldUnder("/held/"))
	parked := get(context.Background(), p, "/held/1")
	waitHeld(t, p, "GET /held/1")

	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(patience):
		t.Fatal("Close did not return while a request was parked")
	}
	mustAnswer(t, "the request parked when the proxy closed", parked, "ok /held/1")
}

func TestDelayProxyDelaysEveryRequest(t *testing.T) {
	b := newBackend(t)
	p := newTestProxy(t, b.URL)
	const d = 100 * time.Millisecond
	p.SetDelay(d)
	start := time.Now()
	mustAnswer(t, "a delayed request", get(context.Background(), p, "/slow"), "ok /slow")
	// A lower bound only: a busy machine makes the request slower, never faster.
	if took := time.Since(start); took < d {
		t.Fatalf("request took %v with a delay of %v", took, d)
	}
	p.SetDelay(0)
	mustAnswer(t, "a request after the delay is removed", get(context.Background(), p, "/fast"), "ok /fast")
}

func TestCopiesAfterHoldsOnlyLaterCopiesIntoThePrefix(t *testing.T) {
	match := CopiesAfter("b", "p/x/", 2)
	copyTo := func(path string) *http.Request {
		r := httptest.NewRequest(http.MethodPut, path, nil)
		r.Header.Set("X-Amz-Copy-Source", "src/k")
		return r
	}
	plainPut := httptest.NewRequest(http.MethodPut, "/b/p/x/inventory/part", nil)
	if match(plainPut) || match(copyTo("/b/other/k")) || match(copyTo("/c/p/x/k")) {
		t.Fatal("only copies into the bucket and prefix are held")
	}
	got := []bool{match(copyTo("/b/p/x/data/1")), match(copyTo("/b/p/x/data/2")), match(copyTo("/b/p/x/data/3")), match(copyTo("/b/p/x/data/4"))}
	if want := []bool{false, false, true, true}; !slices.Equal(got, want) {
		t.Fatalf("held %v, want %v: the first two pass, the rest are held", got, want)
	}
}
