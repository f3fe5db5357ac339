// Package memoryrevocation keeps revocations, and the ids of handled
// identity provider events, in this process: the store of a single
// replica, and the reference the Redis store is tested against
// (revocationtest).
package memoryrevocation

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/gatepass/gatepass/domain"
)

var (
	_ domain.RevocationStore = (*Store)(nil)
	_ domain.EventLedger     = (*Store)(nil)
	_ domain.FanoutStore     = (*Store)(nil)
)

// Store is a revocation store and event ledger in memory. It is safe for
// concurrent use.
type Store struct {
	now func() time.Time

	mu       sync.Mutex
	log      domain.RevocationList // in the order recorded, packed without pointers
	dropped  uint64                // expired revocations dropped from log's head; version = dropped + log.Len()
	watchers map[chan struct{}]struct{}
	events   map[string]time.Time
	fanouts  map[string]fanout
	// grantKeys are the signed grants' keys by transport and user.
	grantKeys map[userKeys][]domain.GrantKey
	recorded  uint64
}

// fanout is a revocation's fan-out, kept until the revocation expires.
type fanout struct {
	until     time.Time
	evictions domain.Fanout
}

// New returns an empty store whose time is now (nil: time.Now), used only
// to forget expired revocations and event ids.
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, watchers: map[chan struct{}]struct{}{}, events: map[string]time.Time{}, fanouts: map[string]fanout{}}
}

// Record appends r and tells every watcher.
func (s *Store) Record(ctx context.Context, r domain.Revocation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log.Append(r)
	for w := range s.watchers {
		select {
		case w <- struct{}{}:
		default: // a notification is pending already
		}
	}
	return nil
}

// Load returns what was recorded after version since, or everything still
// active when since is 0 or ahead of the store.
func (s *Store) Load(ctx context.Context, since uint64) (domain.RevocationSnapshot, error) {
	if err := ctx.Err(); err != nil {
		return domain.RevocationSnapshot{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune()
	version := s.dropped + uint64(s.log.Len())
	if since > version {
		since = 0
	}
	from := uint64(0)
	if since > s.dropped {
		from = since - s.dropped
	}
	return domain.RevocationSnapshot{Revocations: activeOf(&s.log, int(from), s.now()), Version: version}, nil
}

func activeOf(log *domain.RevocationList, from int, now time.Time) []domain.Revocation {
	var out []domain.Revocation
	for i := from; i < log.Len(); i++ {
		if log.Active(i, now) {
			out = append(out, log.At(i))
		}
	}
	return out
}

// prune forgets expired event ids, and the expired revocations at the
// log's head (each is kept for the same retention, so they expire about
// in the order recorded; the others are filtered when read).
func (s *Store) prune() {
	now := s.now()
	n := 0
	for n < s.log.Len() && !s.log.Active(n, now) {
		n++
	}
	if n > 0 {
		var kept domain.RevocationList
		for i := n; i < s.log.Len(); i++ {
			kept.Append(s.log.At(i))
		}
		s.log, s.dropped = kept, s.dropped+uint64(n)
	}
	for id, until := range s.events {
		if !now.Before(until) {
			delete(s.events, id)
		}
	}
	for id, f := range s.fanouts {
		if !now.Before(f.until) {
			delete(s.fanouts, id)
		}
	}
}

// Watch delivers a value after each Record until ctx ends.
func (s *Store) Watch(ctx context.Context) <-chan struct{} {
	w := make(chan struct{}, 1)
	s.mu.Lock()
	s.watchers[w] = struct{}{}
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		delete(s.watchers, w)
		s.mu.Unlock()
	}()
	return w
}

// Claim records id for keep; false when it is held already.
func (s *Store) Claim(ctx context.Context, id string, keep time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune()
	if _, held := s.events[id]; held {
		return false, nil
	}
	s.events[id] = s.now().Add(keep)
	return true, nil
}

// Release forgets id.
func (s *Store) Release(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.events, id)
	return nil
}

// SaveEviction records t's eviction of r until r expires.
func (s *Store) SaveEviction(ctx context.Context, r domain.Revocation, t domain.Transport, e domain.Eviction) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.fanouts[r.ID]
	if !ok {
		f = fanout{until: r.ExpiresAt, evictions: domain.Fanout{}}
		s.fanouts[r.ID] = f
	}
	f.evictions[t] = e
	return nil
}

// Fanout is every eviction recorded for the revocation id.
func (s *Store) Fanout(ctx context.Context, id string) (domain.Fanout, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune()
	return maps.Clone(s.fanouts[id].evictions), nil
}
