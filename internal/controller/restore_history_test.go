package controller

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// scriptedHistory answers each question with the next error of its script (nil: not
// found), and counts the questions.
type scriptedHistory struct {
	answers []error
	asked   int
}

func (h *scriptedHistory) CompletedRestore(context.Context, RestoreHistoryKey) (*CompletedRestore, error) {
	err := h.answers[min(h.asked, len(h.answers)-1)]
	h.asked++
	return nil, err
}

// answer waits for the lookup's wake-up, as the controller's channel source would.
func answer(t *testing.T, h *historyLookups) {
	t.Helper()
	select {
	case <-h.wake:
	case <-time.After(time.Minute):
		t.Fatal("the lookup never answered")
	}
}

func TestHistoryLookupBacksOffWhileTheDatabaseFails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	down := errors.New("connection refused")
	hist := &scriptedHistory{answers: []error{down, down, down, down, down, down, down, nil}}
	h := newHistoryLookups(ctx)
	rr := &backupv1alpha1.RestoreRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "rr", UID: "uid-1"}}
	key := restoreKey(rr)

	var waits []time.Duration
	for range 7 {
		h.start(rr, hist, key)
		h.start(rr, hist, key) // a second start while one is in flight asks nothing more
		answer(t, h)
		h.start(rr, hist, key) // nor does one while the answer waits to be read
		if _, err, ready := h.get(rr, hist, key); !ready || !errors.Is(err, down) {
			t.Fatalf("get: ready %v, err %v; want the failed answer", ready, err)
		}
		waits = append(waits, h.retryAfter(rr.UID))
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	if hist.asked != 7 {
		t.Fatalf("asked %d times, want once per retry (7)", hist.asked)
	}

	// The database answers: the backoff starts over.
	if _, _, ready := h.get(rr, hist, key); ready {
		t.Fatal("a new question is not answered at once")
	}
	answer(t, h)
	if found, err, ready := h.get(rr, hist, key); !ready || err != nil || found != nil {
		t.Fatalf("get: %v %v %v; want not found", found, err, ready)
	}
	if got := h.retryAfter(rr.UID); got != historyRetry {
		t.Fatalf("retry after a good answer %s, want %s", got, historyRetry)
	}
}
