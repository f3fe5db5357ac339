package application

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// RevocationPolicy is how long revocations last and how a replica keeps
// its copy of them current.
type RevocationPolicy struct {
	// Retention is how long a revocation is kept after its cut-off
	// (REVOCATION_RETENTION).
	Retention time.Duration
	// PollInterval is how often the replica asks the store for what it
	// missed, beside the store's own notifications. Zero means
	// DefaultRevocationPoll.
	PollInterval time.Duration
	// FullSyncInterval is how often the whole store is read again. Zero
	// means DefaultRevocationFullSync.
	FullSyncInterval time.Duration
	// StoreTimeout bounds each call to the store. Zero means
	// DefaultRevocationStoreTimeout.
	StoreTimeout time.Duration
}

// Defaults of RevocationPolicy.
const (
	DefaultRevocationRetention    = 24 * time.Hour
	DefaultRevocationPoll         = 500 * time.Millisecond
	DefaultRevocationFullSync     = time.Minute
	DefaultRevocationStoreTimeout = time.Second
)

// Revocations is this replica's copy of the revocations every replica
// enforces: checked on every grant without a network call, kept current
// from the store by Run. Until the first full read of the store the copy
// is unknown, and every grant is refused with ErrRevocationsUnavailable.
type Revocations struct {
	store  domain.RevocationStore
	ledger domain.EventLedger
	clock  domain.Clock
	ids    domain.IDSource
	policy RevocationPolicy

	index atomic.Pointer[domain.RevocationIndex]
	// synced is when the store last answered a sync (Unix nanoseconds);
	// 0 before the first.
	synced atomic.Int64

	mu      sync.Mutex // one sync at a time
	version uint64
}

// NewRevocations builds the copy over store (revocations) and ledger
// (handled event ids).
func NewRevocations(store domain.RevocationStore, ledger domain.EventLedger, clock domain.Clock, ids domain.IDSource, policy RevocationPolicy) *Revocations {
	if policy.Retention <= 0 {
		policy.Retention = DefaultRevocationRetention
	}
	if policy.PollInterval <= 0 {
		policy.PollInterval = DefaultRevocationPoll
	}
	if policy.FullSyncInterval <= 0 {
		policy.FullSyncInterval = DefaultRevocationFullSync
	}
	if policy.StoreTimeout <= 0 {
		policy.StoreTimeout = DefaultRevocationStoreTimeout
	}
	return &Revocations{store: store, ledger: ledger, clock: clock, ids: ids, policy: policy}
}

// Check refuses p when a revocation matches it (ErrRevoked), or when the
// revocations were never loaded (ErrRevocationsUnavailable). A nil
// Revocations checks nothing.
func (r *Revocations) Check(p domain.Principal) error {
	if r == nil {
		return nil
	}
	x := r.index.Load()
	if x == nil {
		return fmt.Errorf("%w: not loaded from the store yet", domain.ErrRevocationsUnavailable)
	}
	if x.Len() == 0 {
		return nil
	}
	if rev, ok := x.Refusing(p, r.clock.Now()); ok {
		return fmt.Errorf("%w: revocation %s", domain.ErrRevoked, rev.ID)
	}
	return nil
}

// Sync reads from the store what this replica does not know yet (all of
// it when full, or before the first sync) and merges it into the copy.
func (r *Revocations) Sync(ctx context.Context, full bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.index.Load()
	since := r.version
	if full || cur == nil {
		since = 0
	}
	cctx, cancel := context.WithTimeout(ctx, r.policy.StoreTimeout)
	s, err := r.store.Load(cctx, since)
	cancel()
	if err != nil {
		return fmt.Errorf("sync revocations: %w: %w", domain.ErrRevocationsUnavailable, err)
	}
	now := r.clock.Now()
	if cur == nil {
		cur, full = domain.NewRevocationIndex(nil), true
	}
	switch {
	case full:
		// A full read also drops what has expired.
		r.index.Store(cur.Merge(s.Revocations, now))
	case len(s.Revocations) > 0:
		r.index.Store(cur.With(s.Revocations))
	}
	r.version = s.Version
	r.synced.Store(now.UnixNano())
	return nil
}

// Run keeps the copy current until ctx ends: at each notification of the
// store, every PollInterval, and in full every FullSyncInterval. failed
// is told of each sync that failed (nil: not told).
func (r *Revocations) Run(ctx context.Context, failed func(error)) {
	watch := r.store.Watch(ctx)
	poll := time.NewTicker(r.policy.PollInterval)
	defer poll.Stop()
	full := time.NewTicker(r.policy.FullSyncInterval)
	defer full.Stop()
	for {
		wholly := false
		select {
		case <-ctx.Done():
			return
		case <-watch:
		case <-poll.C:
		case <-full.C:
			wholly = true
		}
		if err := r.Sync(ctx, wholly); err != nil && failed != nil && ctx.Err() == nil {
			failed(err)
		}
	}
}

// record stores rev and adds it to the copy at once: it is reported
// recorded only once the store holds it.
func (r *Revocations) record(ctx context.Context, rev domain.Revocation) error {
	cctx, cancel := context.WithTimeout(ctx, r.policy.StoreTimeout)
	err := r.store.Record(cctx, rev)
	cancel()
	if err != nil {
		return fmt.Errorf("record revocation: %w: %w", domain.ErrRevocationsUnavailable, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur := r.index.Load(); cur != nil {
		r.index.Store(cur.With([]domain.Revocation{rev}))
	}
	return nil
}

// Active is every active revocation, of user when user is not empty,
// latest cut-off first.
func (r *Revocations) Active(user string) ([]domain.Revocation, error) {
	x := r.index.Load()
	if x == nil {
		return nil, fmt.Errorf("%w: not loaded from the store yet", domain.ErrRevocationsUnavailable)
	}
	return x.Active(user, r.clock.Now()), nil
}

// Get is the active revocation with id.
func (r *Revocations) Get(id string) (domain.Revocation, error) {
	x := r.index.Load()
	if x == nil {
		return domain.Revocation{}, fmt.Errorf("%w: not loaded from the store yet", domain.ErrRevocationsUnavailable)
	}
	rev, ok := x.Get(id)
	if !ok || !rev.Active(r.clock.Now()) {
		return domain.Revocation{}, domain.ErrRevocationNotFound
	}
	return rev, nil
}

// Count is how many revocations the copy holds; 0 before the first sync.
func (r *Revocations) Count() int {
	if x := r.index.Load(); x != nil {
		return x.Len()
	}
	return 0
}

// SyncAge is how long ago the store last answered a sync; false before
// the first.
func (r *Revocations) SyncAge() (time.Duration, bool) {
	at := r.synced.Load()
	if at == 0 {
		return 0, false
	}
	return r.clock.Now().Sub(time.Unix(0, at)), true
}

// errNeverSynced is the readiness check's failure before the first sync.
var errNeverSynced = errors.New("revocations not loaded from the store yet")

// Ready is the readiness check: ready once the store was read in full,
// with how many revocations are held and the age of the last sync. A
// store that stops answering later does not make the replica unready: it
// keeps enforcing what it knows, and the age tells how stale that is.
func (r *Revocations) Ready(context.Context) (string, error) {
	age, ok := r.SyncAge()
	if !ok || r.index.Load() == nil {
		return "", errNeverSynced
	}
	return fmt.Sprintf("%d active, last sync %.1fs ago", r.Count(), age.Seconds()), nil
}
