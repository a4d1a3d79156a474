package aws

import (
	"context"
	"net/http"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// saturatedWindow is a window of 200 ms in which the limit held requests back and
// completed rate×0.2 copies at latency p50.
func saturatedWindow(rate float64, p50 time.Duration) window {
	return window{elapsed: 200 * time.Millisecond, successes: int(rate / 5), saturated: true,
		p50: map[string]time.Duration{"CopyObject": p50}}
}

func TestAIMDGrowsWhileThroughputGrows(t *testing.T) {
	a := newAIMD(512)
	if a.Limit() != initialConcurrency {
		t.Fatalf("initial limit %d, want %d", a.Limit(), initialConcurrency)
	}
	// A store with 50 ms per request and room for more: throughput follows the limit.
	for _, want := range []int{64, 128, 256, 512, 512} {
		rate := float64(a.Limit()) / 0.05
		if got := a.next(saturatedWindow(rate, 50*time.Millisecond)); got != want {
			t.Fatalf("limit %d after a window at %.0f/s, want %d", got, rate, want)
		}
	}
}

func TestAIMDLeavesSlowStartWhenThroughputStopsGrowing(t *testing.T) {
	a := newAIMD(512)
	a.next(saturatedWindow(1000, 10*time.Millisecond)) // 32 → 64
	// Doubling brought nothing: stop doubling, hold.
	if got := a.next(saturatedWindow(1020, 10*time.Millisecond)); got != 64 {
		t.Fatalf("limit %d, want 64 (held once doubling stopped paying)", got)
	}
	// From there, an additive step per window in which throughput grew by 2%...
	if got := a.next(saturatedWindow(1050, 19*time.Millisecond)); got != 68 {
		t.Fatalf("limit %d, want 68 (one additive step of limit/16)", got)
	}
	// ...and none on a plateau with latency up (19 ms > 1.2 × 10 ms + 5 ms)...
	if got := a.next(saturatedWindow(1060, 19*time.Millisecond)); got != 68 {
		t.Fatalf("limit %d on a plateau, want 68", got)
	}
	if got := a.next(saturatedWindow(800, 19*time.Millisecond)); got != 68 {
		t.Fatalf("limit %d after throughput fell, want 68", got)
	}
	// ...but one whenever latency is at its best: the store is not queueing.
	if got := a.next(saturatedWindow(800, 10*time.Millisecond)); got != 72 {
		t.Fatalf("limit %d with latency at its best, want 72", got)
	}
}

func TestAIMDLeavesSlowStartWhenTheStoreStartsQueueing(t *testing.T) {
	a := newAIMD(512)
	a.next(saturatedWindow(640, 100*time.Millisecond))  // 32 → 64
	a.next(saturatedWindow(1280, 100*time.Millisecond)) // 64 → 128
	// Throughput still grew by half, but latency left its best (130 ms > 1.2 × 100 ms
	// + 5 ms): the store queues, so no doubling to 512, and no growth this window.
	if got := a.next(saturatedWindow(1900, 130*time.Millisecond)); got != 128 {
		t.Fatalf("limit %d, want 128 (slow start left on queueing)", got)
	}
	// Additive from there while throughput grows.
	if got := a.next(saturatedWindow(2000, 120*time.Millisecond)); got != 136 {
		t.Fatalf("limit %d, want 136 (one additive step)", got)
	}
}

func TestAIMDDoesNotGrowWhenTheLimitHoldsNothingBack(t *testing.T) {
	a := newAIMD(512)
	w := saturatedWindow(500, 10*time.Millisecond)
	w.saturated = false // the listing, not the limit, set the pace
	for range 5 {
		if got := a.next(w); got != initialConcurrency {
			t.Fatalf("limit %d, want %d", got, initialConcurrency)
		}
	}
}

func TestAIMDBacksOffOnThrottle(t *testing.T) {
	a := newAIMD(512)
	for range 4 {
		a.next(saturatedWindow(float64(a.Limit())/0.05, 50*time.Millisecond))
	}
	if a.Limit() != 512 {
		t.Fatalf("limit %d, want 512", a.Limit())
	}
	// Most requests refused: halve, and halve again.
	w := saturatedWindow(1000, 50*time.Millisecond)
	w.throttles = 1000
	for _, want := range []int{256, 128} {
		if got := a.next(w); got != want {
			t.Fatalf("limit %d after a mostly throttled window, want %d", got, want)
		}
	}
	// A fifth refused: a fifth fewer.
	w = saturatedWindow(1000, 50*time.Millisecond)
	w.throttles = w.successes / 4
	if got := a.next(w); got != 102 {
		t.Fatalf("limit %d after a window with 20%% throttled, want 102", got)
	}
	// A single throttle among many still backs off, by 5%.
	w = saturatedWindow(5000, 50*time.Millisecond)
	w.throttles = 1
	if got := a.next(w); got != 97 {
		t.Fatalf("limit %d after a window with one throttle, want 97", got)
	}
	// No more doubling after a throttle: additive probing only.
	if got := a.next(saturatedWindow(1280, 50*time.Millisecond)); got != 103 {
		t.Fatalf("limit %d after a clean window, want 103", got)
	}
}

func TestAIMDBacksOffOnRisingLatency(t *testing.T) {
	a := newAIMD(512)
	a.next(saturatedWindow(640, 50*time.Millisecond)) // best 50 ms, 32 → 64
	a.next(saturatedWindow(1280, 50*time.Millisecond))
	if a.Limit() != 128 {
		t.Fatalf("limit %d, want 128", a.Limit())
	}
	// The store starts queueing: 150 ms > 1.5 × 50 ms + 5 ms.
	if got := a.next(saturatedWindow(1280, 150*time.Millisecond)); got != 96 {
		t.Fatalf("limit %d after latency tripled, want 96", got)
	}
	// Latency within the tolerance does not count as rising: no backoff (it only ends
	// slow start, 70 ms being past 1.2 × 50 ms + 5 ms).
	a2 := newAIMD(512)
	a2.next(saturatedWindow(640, 50*time.Millisecond))
	if got := a2.next(saturatedWindow(1280, 70*time.Millisecond)); got != 64 {
		t.Fatalf("limit %d with latency at 1.4× its best, want 64 (held, not backed off)", got)
	}
	// Sub-millisecond jitter of a loopback server is not a rise either.
	a3 := newAIMD(512)
	a3.next(saturatedWindow(20000, 300*time.Microsecond))
	if got := a3.next(saturatedWindow(40000, 2*time.Millisecond)); got != 128 {
		t.Fatalf("limit %d with latency 0.3 → 2 ms, want 128", got)
	}
}

func TestAIMDStaysWithinFloorAndCeiling(t *testing.T) {
	a := newAIMD(100)
	for range 10 {
		a.next(saturatedWindow(float64(a.Limit())/0.05, 50*time.Millisecond))
	}
	if a.Limit() != 100 {
		t.Fatalf("limit %d, want the ceiling 100", a.Limit())
	}
	throttled := saturatedWindow(100, 50*time.Millisecond)
	throttled.throttles = 10
	for range 20 {
		a.next(throttled)
	}
	if a.Limit() != minConcurrency {
		t.Fatalf("limit %d, want the floor %d", a.Limit(), minConcurrency)
	}
	// A ceiling below the floor and the initial limit: fixed at the ceiling.
	small := newAIMD(2)
	if small.Limit() != 2 {
		t.Fatalf("limit %d, want 2", small.Limit())
	}
	small.next(throttled)
	if small.Limit() != 2 {
		t.Fatalf("limit %d after a throttle with ceiling 2, want 2", small.Limit())
	}
	small.next(saturatedWindow(1e6, time.Millisecond))
	if small.Limit() != 2 {
		t.Fatalf("limit %d with ceiling 2, want 2", small.Limit())
	}
}

// limitOf reads the limiter's current limit.
func limitOf(l *copyLimiter) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}

// fakeClock is a settable clock for the limiter's windows.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestCopyLimiterAdjustsFromObservedAttempts(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	l := newCopyLimiter(512, clock.now)
	ctx := context.Background()
	// Fill the budget and queue one more: the window is saturated.
	for range initialConcurrency {
		if err := l.acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waiting := make(chan error, 1)
	go func() { waiting <- l.acquire(ctx) }()
	waitUntil(t, "the extra request to wait", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.waiters) == 1
	})
	for range 20 {
		clock.t = clock.t.Add(10 * time.Millisecond)
		l.observe("CopyObject", 50*time.Millisecond, nil)
	}
	if got := limitOf(l); got != 2*initialConcurrency {
		t.Fatalf("limit %d after a saturated window, want %d", got, 2*initialConcurrency)
	}
	if err := <-waiting; err != nil {
		t.Fatalf("the waiting request was not let through when the limit grew: %v", err)
	}
	// A throttled attempt after 10 successes in the window: 64 × 10/11.
	clock.t = clock.t.Add(time.Second)
	throttle := &smithy.GenericAPIError{Code: "SlowDown"}
	l.observe("CopyObject", time.Millisecond, throttle)
	if got := limitOf(l); got != 58 {
		t.Fatalf("limit %d after a throttle, want 58", got)
	}
	// A bare 503 counts as a throttle too; alone in its window, it halves the limit.
	clock.t = clock.t.Add(time.Second)
	l.observe("UploadPartCopy", time.Millisecond, &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 503}}}})
	if got := limitOf(l); got != 29 {
		t.Fatalf("limit %d after a 503, want 29", got)
	}
}

func TestCopyLimiterWaitersLeaveOnCancel(t *testing.T) {
	l := newCopyLimiter(1, nil)
	if err := l.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.acquire(ctx); err == nil {
		t.Fatal("acquire on a full budget with a cancelled context succeeded")
	}
	l.release()
	if err := l.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight != 1 || len(l.waiters) != 0 {
		t.Fatalf("in flight %d, waiters %d; want 1, 0", l.inFlight, len(l.waiters))
	}
}

func TestRateCapSpacesRequests(t *testing.T) {
	c := newRateCap(100) // 10 ms apart, 100 ms of burst
	now := time.Unix(100, 0)
	var waited time.Duration
	for range 100 {
		waited = c.reserve(now)
	}
	// 10 burst slots free, then 90 × 10 ms: the 100th waits about 0.9 s.
	if waited < 880*time.Millisecond || waited > 910*time.Millisecond {
		t.Fatalf("the 100th request of a burst waits %v, want about 0.9 s", waited)
	}
	if newRateCap(0) != nil {
		t.Fatal("a cap of 0 must mean no cap")
	}
}

func TestRateCapBurstRefillsUpToATenthOfASecond(t *testing.T) {
	c := newRateCap(100)
	now := time.Unix(100, 0)
	for range 50 {
		c.reserve(now)
	}
	// After a long idle spell the unused capacity is 100 ms of requests plus the one
	// that may go now, no more: 11 go at once, the 12th waits one interval.
	now = now.Add(time.Minute)
	for i := range 11 {
		if waited := c.reserve(now); waited != 0 {
			t.Fatalf("request %d after an idle minute waits %v, want 0", i+1, waited)
		}
	}
	if waited := c.reserve(now); waited < 9*time.Millisecond || waited > 11*time.Millisecond {
		t.Fatalf("the 12th request waits %v, want one interval (10 ms)", waited)
	}
	// Below 10 requests/s the burst is one interval's worth: two at once.
	slow := newRateCap(4)
	first, second, third := slow.reserve(now), slow.reserve(now), slow.reserve(now)
	if first != 0 || second != 0 || third < 240*time.Millisecond {
		t.Fatalf("a cap of 4/s lets two requests go at once, then spaces them 250 ms apart: waits %v, %v, %v", first, second, third)
	}
}

// reserve takes the caller's slot at time now and returns how long it must wait for it.
func (c *rateCap) reserve(now time.Time) time.Duration {
	return c.limiter.ReserveN(now, 1).DelayFrom(now)
}
