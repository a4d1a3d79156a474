package admission

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

var t0 = time.Date(2026, 11, 9, 14, 30, 0, 0, time.UTC)

func waitingAt(i int) Candidate {
	return Candidate{UID: types.UID(fmt.Sprintf("uid-%d", i)), Namespace: "ns", Name: fmt.Sprintf("br-%d", i), Created: t0.Add(time.Duration(i) * time.Second), Waiting: true}
}

func TestAcquireStartsInCreationOrderUpToTheLimit(t *testing.T) {
	tr := NewTracker(2)
	all := []Candidate{waitingAt(3), waitingAt(1), waitingAt(2)}
	if d := tr.Acquire("retail", "uid-3", all); d.Acquired || d.Position != 1 {
		t.Fatalf("newest request must wait behind older ones: %+v", d)
	}
	if d := tr.Acquire("retail", "uid-1", all); !d.Acquired {
		t.Fatalf("oldest request must start: %+v", d)
	}
	// The cache still shows uid-1 waiting; memory must count it as running.
	if d := tr.Acquire("retail", "uid-2", all); !d.Acquired || d.Running != 2 {
		t.Fatalf("second slot must go to the second oldest: %+v", d)
	}
	d := tr.Acquire("retail", "uid-3", all)
	if d.Acquired || d.Position != 1 || d.Running != 2 {
		t.Fatalf("third request must wait first in line while 2 run: %+v", d)
	}
}

func TestCountsRunningRequestsFromTheCacheAfterARestart(t *testing.T) {
	tr := NewTracker(2) // a fresh tracker: nothing in memory
	all := []Candidate{
		{UID: "a", Name: "a", Created: t0, Running: true},
		{UID: "b", Name: "b", Created: t0, Running: true},
		waitingAt(1),
	}
	if d := tr.Acquire("retail", "uid-1", all); d.Acquired {
		t.Fatalf("two InProgress requests in the cache fill the slots: %+v", d)
	}
}

func TestReleaseFreesTheSlotBeforeTheCacheCatchesUp(t *testing.T) {
	tr := NewTracker(1)
	all := []Candidate{waitingAt(1), waitingAt(2)}
	if !tr.Acquire("retail", "uid-1", all).Acquired {
		t.Fatal("first must start")
	}
	all[0] = Candidate{UID: "uid-1", Name: "br-1", Created: all[0].Created, Running: true}
	if tr.Acquire("retail", "uid-2", all).Acquired {
		t.Fatal("second must wait while first runs")
	}
	tr.Release("retail", "uid-1")
	if d := tr.Acquire("retail", "uid-2", all); !d.Acquired {
		t.Fatalf("slot freed by Release must be usable even though the cache still shows InProgress: %+v", d)
	}
}

func TestProjectsAreIndependent(t *testing.T) {
	tr := NewTracker(1)
	if !tr.Acquire("retail", "r1", []Candidate{{UID: "r1", Waiting: true}}).Acquired {
		t.Fatal("retail must start")
	}
	if !tr.Acquire("bank", "b1", []Candidate{{UID: "b1", Waiting: true}}).Acquired {
		t.Fatal("a busy project must not delay another")
	}
}

func TestConcurrentAcquireNeverExceedsTheLimit(t *testing.T) {
	tr := NewTracker(2)
	var all []Candidate
	for i := range 50 {
		all = append(all, waitingAt(i))
	}
	var mu sync.Mutex
	acquired := 0
	// The 50 workers ask together, so their decisions overlap however the goroutines
	// are scheduled.
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			<-start
			if tr.Acquire("retail", types.UID(fmt.Sprintf("uid-%d", i)), all).Acquired {
				mu.Lock()
				acquired++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if acquired != 2 {
		t.Fatalf("acquired %d slots, want exactly 2", acquired)
	}
}

func TestAFinishedRequestFreesItsSlotEvenBeforeRelease(t *testing.T) {
	tr := NewTracker(1)
	all := []Candidate{waitingAt(1), waitingAt(2)}
	if !tr.Acquire("retail", "uid-1", all).Acquired {
		t.Fatal("first must start")
	}
	// The cache shows uid-1 finished (it never saw it InProgress) and the watch woke
	// uid-2 before the reconciler called Release.
	all[0] = Candidate{UID: "uid-1", Name: "br-1", Created: all[0].Created}
	if d := tr.Acquire("retail", "uid-2", all); !d.Acquired {
		t.Fatalf("a finished request must not hold its slot: %+v", d)
	}
}

// Under load the cache can lag behind a request's start and its end: it still shows
// the request waiting after it finished. That request must neither hold a slot nor
// stand in line ahead of the request truly next, however often the tracker is asked.
func TestACacheThatMissedAStartAndAnEndDoesNotBlockTheNextRequest(t *testing.T) {
	tr := NewTracker(1)
	stale := []Candidate{waitingAt(1), waitingAt(2), waitingAt(3)} // the cache never saw uid-1 run
	if d := tr.Acquire("retail", "uid-1", stale); !d.Acquired {
		t.Fatalf("uid-1 must start: %+v", d)
	}
	tr.Release("retail", "uid-1") // uid-1 finished; the cache still shows it waiting
	if line := tr.InLine("retail", stale); len(line) != 1 || line[0].UID != "uid-2" {
		t.Fatalf("next in line must be uid-2 alone (one slot), got %+v", line)
	}
	if d := tr.Acquire("retail", "uid-3", stale); d.Acquired || d.Position != 1 {
		t.Fatalf("uid-3 must wait behind uid-2 only: %+v", d)
	}
	if d := tr.Acquire("retail", "uid-2", stale); !d.Acquired {
		t.Fatalf("uid-2 must take the slot uid-1 freed: %+v", d)
	}
}

func TestInLineLeavesOutRequestsAlreadyAdmittedAndStopsAtTheFreeSlots(t *testing.T) {
	tr := NewTracker(2)
	all := []Candidate{waitingAt(1), waitingAt(2), waitingAt(3), waitingAt(4)}
	if line := tr.InLine("retail", all); len(line) != 2 || line[0].UID != "uid-1" || line[1].UID != "uid-2" {
		t.Fatalf("two free slots: want uid-1 and uid-2, got %+v", line)
	}
	tr.Acquire("retail", "uid-1", all)
	if line := tr.InLine("retail", all); len(line) != 1 || line[0].UID != "uid-2" {
		t.Fatalf("uid-1 holds a slot: want uid-2 alone, got %+v", line)
	}
	tr.Acquire("retail", "uid-2", all)
	if line := tr.InLine("retail", all); len(line) != 0 {
		t.Fatalf("no free slot: nobody can start, got %+v", line)
	}
	tr.Release("retail", "uid-1")
	if line := tr.InLine("retail", all); len(line) != 1 || line[0].UID != "uid-3" {
		t.Fatalf("uid-1 finished: want uid-3 alone, got %+v", line)
	}
}
