package aws

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// A copy finds its own concurrency. Server-side copies are latency bound: with a fixed
// number of requests in flight a copy moves concurrency/latency objects per second,
// which at S3's tens of milliseconds per CopyObject is far below what the store takes.
// So the number of requests in flight (small objects' CopyObject and large objects'
// UploadPartCopy alike: they share one budget) is an AIMD controller's output:
//
//   - it starts at min(ceiling, initialConcurrency) and doubles every window while the
//     limit is the bottleneck, throughput keeps rising by 10% or more and latency stays
//     at its best ("slow start", left at the first window that queues, like TCP's
//     HyStart);
//   - past that it grows additively, one step per window in which throughput grew by
//     2% or more or latency stayed at its best (within 1.2 times): a plateau with
//     latency up (a store, or a machine, at its capacity and queueing) stops the
//     growth instead of piling up requests, connections and memory for nothing;
//   - it shrinks on throttles (SlowDown, 503, 429 and the Throttling family, seen on
//     every attempt, retried or not) to the share of the window's attempts the store
//     accepted, halving at most: a store refusing a tenth of the requests gets a tenth
//     fewer, which lands the limit on the rate the store takes instead of oscillating
//     between it and half of it; and it shrinks by a quarter when a window's median
//     latency of an operation rises past 1.5 times the best median seen for it (the store
//     is queueing requests: more of them would only wait longer);
//   - it never leaves [floor, ceiling]: the ceiling is --copy-concurrency, the floor
//     min(ceiling, minConcurrency).
//
// A window lasts at least minWindow and windowLatencies times the best median latency,
// and holds at least minWindowSamples completions (or lasts maxWindow), so it measures
// the limit set before it rather than the ramp up to it.
const (
	initialConcurrency = 32
	minConcurrency     = 4
	minWindow          = 100 * time.Millisecond
	maxWindow          = 2 * time.Second
	windowLatencies    = 4
	minWindowSamples   = 8
	// maxWindowSamples bounds the latencies kept per operation and window.
	maxWindowSamples = 1024
	// A window's median latency "rises" past latencyFactor × best + latencySlack; the
	// slack keeps a loopback server's sub-millisecond jitter from counting.
	latencyFactor = 1.5
	// nearFactor: a median within nearFactor × best + latencySlack is "at its best":
	// the store is not queueing, so more requests in flight mean more throughput.
	nearFactor   = 1.2
	latencySlack = 5 * time.Millisecond
	// Multiplicative decreases (throttleBackoff: the most a throttled window takes) and
	// the slow-start gain threshold.
	throttleBackoff  = 0.5
	latencyBackoff   = 0.75
	slowStartGain    = 1.10
	avoidanceMinGain = 1.02
)

// window is what one measuring window saw.
type window struct {
	elapsed time.Duration
	// successes counts completed copy requests (CopyObject, UploadPartCopy).
	successes int
	// throttles counts throttled attempts of any request of the copy.
	throttles int
	// saturated: some request waited for a slot, so the limit, not the listing or
	// the number of objects, was what held the copy back.
	saturated bool
	// p50 is the median latency per operation, for operations with enough samples.
	p50 map[string]time.Duration
}

// aimd is the concurrency controller proper, free of clocks and locks so it can be
// tested step by step.
type aimd struct {
	floor, ceiling int
	limit          float64
	slowStart      bool
	lastRate       float64
	best           map[string]time.Duration
}

func newAIMD(ceiling int) *aimd {
	ceiling = max(ceiling, 1)
	floor := min(ceiling, minConcurrency)
	return &aimd{
		floor: floor, ceiling: ceiling,
		limit:     float64(min(ceiling, initialConcurrency)),
		slowStart: true,
		best:      map[string]time.Duration{},
	}
}

// Limit is the current number of requests allowed in flight.
func (a *aimd) Limit() int { return int(a.limit) }

// next takes one window's measurements and returns the new limit.
func (a *aimd) next(w window) int {
	if w.throttles > 0 {
		accepted := float64(w.successes) / float64(w.successes+w.throttles)
		a.decrease(max(throttleBackoff, min(accepted, 0.95)))
		a.slowStart = false
		return a.Limit()
	}
	rising, near := false, true
	for op, p50 := range w.p50 {
		if best, ok := a.best[op]; ok && float64(p50) > nearFactor*float64(best)+float64(latencySlack) {
			near = false
		}
		best, ok := a.best[op]
		if !ok || p50 < best {
			a.best[op] = p50
			continue
		}
		if float64(p50) > latencyFactor*float64(best)+float64(latencySlack) {
			rising = true
			// Let the baseline follow a store that got slower for good: after a few
			// backoffs that did not bring latency down, its median is the new normal.
			a.best[op] = best + (p50-best)/4
		}
	}
	if rising {
		a.decrease(latencyBackoff)
		a.slowStart = false
		return a.Limit()
	}
	if !w.saturated || w.elapsed <= 0 {
		return a.Limit() // the limit held nothing back: nothing learned about it
	}
	rate := float64(w.successes) / w.elapsed.Seconds()
	switch {
	case a.slowStart && near && (a.lastRate == 0 || rate >= a.lastRate*slowStartGain):
		a.limit = min(float64(a.ceiling), a.limit*2)
	case a.slowStart:
		// Doubling stopped paying, or the store began to queue (latency past its
		// best, HyStart's delay exit): probe gently from here. Doubling on would
		// overshoot to twice what the store takes, with the goroutines, connections
		// and memory of all those requests, before the latency rule backs it off.
		a.slowStart = false
	case a.lastRate == 0 || rate >= a.lastRate*avoidanceMinGain || near:
		a.limit = min(float64(a.ceiling), a.limit+max(1, a.limit/16))
	default:
		// No gain: hold, and compare the next window with the best rate at this limit,
		// so noise alone does not ratchet the limit up.
		a.lastRate = max(a.lastRate, rate)
		return a.Limit()
	}
	a.lastRate = rate
	return a.Limit()
}

func (a *aimd) decrease(factor float64) {
	a.limit = max(float64(a.floor), a.limit*factor)
	a.lastRate = 0 // throughput at the old limit says nothing about the new one
}

// copyLimiter is the budget of requests in flight of one copy: a FIFO semaphore whose
// size the aimd controller sets from the attempts it observes.
type copyLimiter struct {
	now func() time.Time

	mu       sync.Mutex
	ctl      *aimd
	limit    int
	inFlight int
	waiters  []chan struct{}

	// The current window.
	start     time.Time
	successes int
	throttles int
	saturated bool
	latencies map[string][]time.Duration
	baseP50   time.Duration
}

func newCopyLimiter(ceiling int, now func() time.Time) *copyLimiter {
	if now == nil {
		now = time.Now
	}
	ctl := newAIMD(ceiling)
	return &copyLimiter{now: now, ctl: ctl, limit: ctl.Limit(), start: now(), latencies: map[string][]time.Duration{}}
}

// acquire takes a slot, waiting in line while limit requests are in flight.
func (l *copyLimiter) acquire(ctx context.Context) error {
	l.mu.Lock()
	if l.inFlight < l.limit && len(l.waiters) == 0 {
		l.inFlight++
		l.mu.Unlock()
		return nil
	}
	l.saturated = true
	ready := make(chan struct{})
	l.waiters = append(l.waiters, ready)
	l.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		if i := slices.Index(l.waiters, ready); i >= 0 {
			l.waiters = slices.Delete(l.waiters, i, i+1)
			return ctx.Err()
		}
		// Handed a slot as the context ended: give it back.
		l.inFlight--
		l.wakeLocked()
		return ctx.Err()
	}
}

// release returns a slot.
func (l *copyLimiter) release() {
	l.mu.Lock()
	l.inFlight--
	l.wakeLocked()
	l.mu.Unlock()
}

func (l *copyLimiter) wakeLocked() {
	for l.inFlight < l.limit && len(l.waiters) > 0 {
		close(l.waiters[0])
		l.waiters = l.waiters[1:]
		l.inFlight++
	}
}

// observe records one attempt of a request of the copy.
func (l *copyLimiter) observe(op string, latency time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		if op == "CopyObject" || op == "UploadPartCopy" {
			l.successes++
			if s := l.latencies[op]; len(s) < maxWindowSamples {
				l.latencies[op] = append(s, latency)
			}
		}
	case isThrottle(err):
		l.throttles++
	}
	l.maybeCloseWindowLocked()
}

func (l *copyLimiter) maybeCloseWindowLocked() {
	now := l.now()
	elapsed := now.Sub(l.start)
	// Windows are measured in the store's best latency, not its current one: when the
	// copy overshoots and latency balloons, the backoff must come as fast as ever.
	long := max(minWindow, windowLatencies*l.baseP50)
	if elapsed < long || (l.successes < minWindowSamples && l.throttles == 0 && elapsed < maxWindow) {
		return
	}
	w := window{elapsed: elapsed, successes: l.successes, throttles: l.throttles, saturated: l.saturated, p50: map[string]time.Duration{}}
	for op, s := range l.latencies {
		if len(s) < minWindowSamples {
			continue
		}
		slices.Sort(s)
		w.p50[op] = s[len(s)/2]
	}
	if limit := l.ctl.next(w); limit != l.limit {
		l.limit = limit
		l.wakeLocked()
	}
	// The slowest operation's best median: windows long enough for its requests.
	l.baseP50 = 0
	for _, best := range l.ctl.best {
		l.baseP50 = max(l.baseP50, best)
	}
	l.start, l.successes, l.throttles, l.saturated = now, 0, 0, false
	clear(l.latencies)
	if l.inFlight >= l.limit || len(l.waiters) > 0 {
		l.saturated = true // still backed up at the start of the new window
	}
}

// isThrottle reports whether an attempt's error is the store asking to slow down.
func isThrottle(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return kindOf(err) == provider.KindThrottled
}

// copyPacing is what a copy's requests carry in their context: the copy's limiter,
// observing every attempt, and the provider's request-rate cap.
type copyPacing struct {
	limiter *copyLimiter
	rate    *rateCap
}

type copyPacingKey struct{}

func withCopyPacing(ctx context.Context, pacing *copyPacing) context.Context {
	return context.WithValue(ctx, copyPacingKey{}, pacing)
}

// pacingMiddleware runs inside the retry loop, once per attempt: an attempt of a
// copy's request first waits for the request-rate cap, then reports its latency and
// outcome to the copy's limiter. Requests outside a copy pass untouched.
var pacingMiddleware = middleware.FinalizeMiddlewareFunc("lc2CopyPacing",
	func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		pacing, _ := ctx.Value(copyPacingKey{}).(*copyPacing)
		if pacing == nil {
			return next.HandleFinalize(ctx, in)
		}
		if pacing.rate != nil {
			if err := pacing.rate.wait(ctx); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
		}
		start := time.Now()
		out, md, err := next.HandleFinalize(ctx, in)
		if pacing.limiter != nil {
			pacing.limiter.observe(awsmiddleware.GetOperationName(ctx), time.Since(start), err)
		}
		return out, md, err
	})

// addPacingMiddleware puts pacingMiddleware right after the retry middleware, so it
// sees every attempt.
func addPacingMiddleware(stack *middleware.Stack) error {
	if _, ok := stack.Finalize.Get("Retry"); ok {
		return stack.Finalize.Insert(pacingMiddleware, "Retry", middleware.After)
	}
	return stack.Finalize.Add(pacingMiddleware, middleware.After)
}

// rateCap spaces requests evenly at perSecond with a burst of about a tenth of a
// second's worth: a token bucket (golang.org/x/time/rate) holding the requests of
// max(interval, 100 ms) plus the one that may go now, as the hand-written bucket it
// replaces did.
type rateCap struct {
	limiter *rate.Limiter
}

func newRateCap(perSecond float64) *rateCap {
	if perSecond <= 0 {
		return nil
	}
	interval := time.Duration(float64(time.Second) / perSecond)
	burst := max(interval, 100*time.Millisecond)
	return &rateCap{limiter: rate.NewLimiter(rate.Limit(perSecond), int(burst/interval)+1)}
}

// wait waits for the caller's slot. Unlike rate.Limiter.Wait, it does not refuse at
// once a wait that would outlast ctx's deadline: it waits until ctx ends and returns
// ctx's error, and gives the slot back then.
func (c *rateCap) wait(ctx context.Context) error {
	now := time.Now()
	r := c.limiter.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}
