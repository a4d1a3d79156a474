package provider

import (
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Registry maps spec.provider names (aws, gcp, azure) to implementations.
type Registry struct {
	mu        sync.RWMutex
	providers map[string]Provider
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{providers: map[string]Provider{}} }

// Register makes p available under name, replacing any earlier one.
func (r *Registry) Register(name string, p Provider) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.providers[name] = p
}

// Names lists the registered providers' names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.providers))
}

// Get returns the provider for name, or a KindNotSupported error naming the ones available.
func (r *Registry) Get(name string) (Provider, error) {
	r.mu.RLock()
	p, ok := r.providers[name]
	r.mu.RUnlock()
	if ok {
		return p, nil
	}
	return nil, NewError(KindNotSupported, "GetProvider", name,
		fmt.Errorf("provider %q is not supported by this controller (available: %v)", name, r.Names()))
}
