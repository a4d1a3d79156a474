package admission

import (
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Candidate is one BackupRequest or RestoreRequest of a project as seen in the cache.
type Candidate struct {
	UID       types.UID
	Namespace string
	Name      string
	// Restore is true for a RestoreRequest: waiting restores go ahead of waiting backups.
	Restore bool
	Created time.Time
	// Running is true for phase InProgress.
	Running bool
	// Waiting is true for phase Pending (or no phase yet).
	Waiting bool
}

// Decision is the outcome of Acquire.
type Decision struct {
	// Acquired is true when the request may start now; it then holds a slot.
	Acquired bool
	// Position is the 1-based place in the project's queue of waiting requests
	// (0 when acquired).
	Position int
	// Running is the number of slots in use, Limit the slots per project.
	Running, Limit int
	// Waiting is the number of requests of the project still waiting after this decision.
	Waiting int
}

// Tracker hands out per-project slots. Its state is derived from the BackupRequests
// themselves on every decision, so a restarted controller counts right; the small
// in-memory part only covers the moment between admitting a request and the
// informer cache showing it InProgress (and between a release and the cache showing
// the request finished). It is safe for concurrent use; decisions for
// one project are serialised so two workers can never both take the last slot.
type Tracker struct {
	limit int

	mu       sync.Mutex
	projects map[string]*projectState
}

type projectState struct {
	mu sync.Mutex
	// admitted holds requests given a slot that the cache may not show InProgress yet.
	admitted map[types.UID]struct{}
	// released holds requests that gave their slot back while the cache may still show them InProgress.
	released map[types.UID]struct{}
}

// NewTracker returns a Tracker allowing limit running requests per project (minimum 1).
func NewTracker(limit int) *Tracker {
	if limit < 1 {
		limit = 1
	}
	return &Tracker{limit: limit, projects: map[string]*projectState{}}
}

// Limit is the number of slots per project.
func (t *Tracker) Limit() int { return t.limit }

func (t *Tracker) project(id string) *projectState {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.projects[id]
	if !ok {
		p = &projectState{admitted: map[types.UID]struct{}{}, released: map[types.UID]struct{}{}}
		t.projects[id] = p
	}
	return p
}

// Acquire decides whether request uid of project may start, given every BackupRequest
// of the project in the cache. Requests start in creation order (name breaks ties).
// On success the caller must move the request to InProgress, or call Release if that fails.
func (t *Tracker) Acquire(project string, uid types.UID, all []Candidate) Decision {
	p := t.project(project)
	p.mu.Lock()
	defer p.mu.Unlock()

	running, waiting := p.sortOut(all)
	if _, ok := running[uid]; ok {
		return Decision{Acquired: true, Running: len(running), Limit: t.limit, Waiting: len(waiting)}
	}
	position, seen := positionOf(waiting, uid)
	if !seen {
		waiting = append(waiting, Candidate{UID: uid})
	}
	free := t.limit - len(running)
	if position <= free {
		p.admitted[uid] = struct{}{}
		return Decision{Acquired: true, Running: len(running) + 1, Limit: t.limit, Waiting: len(waiting) - 1}
	}
	return Decision{Position: position - max(free, 0), Running: len(running), Limit: t.limit, Waiting: len(waiting)}
}

// WouldAcquire reports whether Acquire would admit request uid of project now,
// without admitting it.
func (t *Tracker) WouldAcquire(project string, uid types.UID, all []Candidate) bool {
	p := t.project(project)
	p.mu.Lock()
	defer p.mu.Unlock()
	running, waiting := p.sortOut(all)
	if _, ok := running[uid]; ok {
		return true
	}
	position, _ := positionOf(waiting, uid)
	return position <= t.limit-len(running)
}

// positionOf is uid's 1-based place among waiting, in queue order; a request not in
// the cache yet (just created) queues behind everything seen (seen false).
func positionOf(waiting []Candidate, uid types.UID) (position int, seen bool) {
	for i, c := range waiting {
		if c.UID == uid {
			return i + 1, true
		}
	}
	return len(waiting) + 1, false
}

// InLine returns the waiting requests of project that can start now, in queue
// order: the first in line, as many as there are free slots, given every
// BackupRequest of the project in the cache. Requests the cache still shows waiting
// but that this tracker admitted or saw finish are left out, and counted as holding
// or no longer holding their slot: under load the cache can lag seconds behind, and
// waking those instead of the request truly next in line would leave a freed slot
// idle. Waking more than the free slots would only cost each extra request a pass
// that finds no slot.
func (t *Tracker) InLine(project string, all []Candidate) []Candidate {
	p := t.project(project)
	p.mu.Lock()
	defer p.mu.Unlock()
	running, waiting := p.sortOut(all)
	free := max(t.limit-len(running), 0)
	return waiting[:min(len(waiting), free)]
}

// sortOut splits the cache's view of a project, corrected by what this tracker
// knows, into the requests holding a slot and the waiting ones in queue order. It
// forgets what the cache has caught up with. p.mu must be held.
func (p *projectState) sortOut(all []Candidate) (running map[types.UID]struct{}, waiting []Candidate) {
	running = map[types.UID]struct{}{}
	seen := map[types.UID]bool{}
	for _, c := range all {
		seen[c.UID] = true
		_, admitted := p.admitted[c.UID]
		_, released := p.released[c.UID]
		switch {
		case released:
			// The cache may lag behind our own release, even behind the start (it
			// can still show the request waiting); trust memory until the cache
			// shows it finished.
			if !c.Running && !c.Waiting {
				delete(p.released, c.UID)
			}
		case c.Running:
			running[c.UID] = struct{}{}
			delete(p.admitted, c.UID) // the cache caught up
		case admitted && c.Waiting:
			running[c.UID] = struct{}{} // the cache has not seen it start yet
		case admitted:
			// The cache already shows it finished, possibly before its Release ran:
			// the slot is free now, not when the reconciler gets to Release.
			delete(p.admitted, c.UID)
		case c.Waiting:
			waiting = append(waiting, c)
		}
	}
	// Forget requests that vanished from the cache (deleted).
	for u := range p.admitted {
		if !seen[u] {
			delete(p.admitted, u)
		}
	}
	for u := range p.released {
		if !seen[u] {
			delete(p.released, u)
		}
	}
	sort.SliceStable(waiting, func(i, j int) bool { return Before(waiting[i], waiting[j]) })
	return running, waiting
}

// Before is the queue order: restores before backups (a restore is someone waiting to
// get their data back), then creation time, then namespace and name.
func Before(a, b Candidate) bool {
	if a.Restore != b.Restore {
		return a.Restore
	}
	if !a.Created.Equal(b.Created) {
		return a.Created.Before(b.Created)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// Release gives back the slot of uid (the request finished, failed or was deleted).
func (t *Tracker) Release(project string, uid types.UID) {
	p := t.project(project)
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.admitted, uid)
	p.released[uid] = struct{}{}
}
