package controller

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// historyLookups asks the history database, off the reconcile goroutine (reconcilers
// never wait on PostgreSQL), whether a restore already completed: a pass starts the
// lookup and returns; the answer is kept here and the RestoreRequest is woken through
// a channel source when it arrives, like a copy job's end.
type historyLookups struct {
	base    context.Context
	mu      sync.Mutex
	entries map[types.UID]*historyLookup
	// failures counts the failed answers in a row per restore, for the retry backoff.
	failures map[types.UID]int
	wake     chan event.GenericEvent
}

// historyLookupTimeout bounds one question to the history database.
const historyLookupTimeout = 30 * time.Second

// historyRetry and historyRetryMax bound the wait before a restore asks the history
// database again after a failed answer: it doubles with each failure in a row, so a
// database down for an hour does not make every waiting restore repeat its validation
// (and its cloud calls) every few seconds.
const (
	historyRetry    = 10 * time.Second
	historyRetryMax = 5 * time.Minute
)

type historyLookup struct {
	done  bool
	found *CompletedRestore
	err   error
}

func newHistoryLookups(base context.Context) *historyLookups {
	return &historyLookups{base: base, entries: map[types.UID]*historyLookup{}, failures: map[types.UID]int{},
		wake: make(chan event.GenericEvent, 1024)}
}

// source wakes the RestoreRequest whose lookup answered.
func (h *historyLookups) source() source.TypedSource[reconcile.Request] {
	return source.Channel(h.wake, &handler.EnqueueRequestForObject{})
}

// get returns the answer for rr, starting the lookup on first call. ready is false
// while the lookup runs. An error is returned once and forgotten, so the next call
// asks again.
func (h *historyLookups) get(rr *backupv1alpha1.RestoreRequest, history RestoreHistory, key RestoreHistoryKey) (found *CompletedRestore, err error, ready bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if l, ok := h.entries[rr.UID]; ok {
		if !l.done {
			return nil, nil, false
		}
		if l.err != nil {
			delete(h.entries, rr.UID)
			h.failures[rr.UID]++
		} else {
			delete(h.failures, rr.UID)
		}
		return l.found, l.err, true
	}
	h.startLocked(rr, history, key)
	return nil, nil, false
}

// start asks the history database about rr unless a question or its answer is
// already there; unlike get it consumes nothing. The validation calls it before its
// cloud checks, so the answer usually arrives during them.
func (h *historyLookups) start(rr *backupv1alpha1.RestoreRequest, history RestoreHistory, key RestoreHistoryKey) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.entries[rr.UID]; !ok {
		h.startLocked(rr, history, key)
	}
}

// retryAfter is how long rr waits before asking again after its last failed answer.
func (h *historyLookups) retryAfter(uid types.UID) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	wait := historyRetry
	for i := 1; i < h.failures[uid] && wait < historyRetryMax; i++ {
		wait *= 2
	}
	return min(wait, historyRetryMax)
}

func (h *historyLookups) startLocked(rr *backupv1alpha1.RestoreRequest, history RestoreHistory, key RestoreHistoryKey) {
	l := &historyLookup{}
	h.entries[rr.UID] = l
	owner := &backupv1alpha1.RestoreRequest{}
	owner.Namespace, owner.Name = rr.Namespace, rr.Name
	go func() {
		ctx, cancel := context.WithTimeout(h.base, historyLookupTimeout)
		defer cancel()
		found, err := history.CompletedRestore(ctx, key)
		h.mu.Lock()
		l.found, l.err, l.done = found, err, true
		h.mu.Unlock()
		select {
		case h.wake <- event.GenericEvent{Object: owner}:
		case <-h.base.Done():
		}
	}()
}

// forget drops rr's answer (the restore ended or was deleted).
func (h *historyLookups) forget(uid types.UID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.entries, uid)
	delete(h.failures, uid)
}
