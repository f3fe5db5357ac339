package application

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// FanoutPolicy is how a revocation's fan-out runs: how long the admin
// API's answer waits for it, and how long a transport that fails is
// retried.
type FanoutPolicy struct {
	// Wait bounds how long Handle waits for the transports; what has not
	// finished by then is pending. Zero means DefaultFanoutWait.
	Wait time.Duration
	// RetryFor is how long after the revocation a failing transport is
	// retried before it is abandoned. Zero means DefaultFanoutRetryFor.
	RetryFor time.Duration
	// FirstBackoff is the wait before the first retry, doubled at each
	// retry up to MaxBackoff, each wait drawn between half and all of it.
	// Zero means DefaultFanoutFirstBackoff.
	FirstBackoff time.Duration
	// MaxBackoff bounds the wait between retries. Zero means
	// DefaultFanoutMaxBackoff.
	MaxBackoff time.Duration
	// AttemptTimeout bounds each call to an evictor. Zero means
	// DefaultFanoutAttemptTimeout.
	AttemptTimeout time.Duration
	// Calls bounds the calls in flight to each transport, so that a mass
	// revocation, or the retries of many while a transport was down, do
	// not all call it at once. Zero means DefaultFanoutCalls.
	Calls int
	// StoreTimeout bounds each write of the fan-out's state. Zero means
	// DefaultRevocationStoreTimeout.
	StoreTimeout time.Duration
}

// Defaults of FanoutPolicy.
const (
	DefaultFanoutWait           = 2 * time.Second
	DefaultFanoutRetryFor       = 10 * time.Minute
	DefaultFanoutFirstBackoff   = time.Second
	DefaultFanoutMaxBackoff     = time.Minute
	DefaultFanoutAttemptTimeout = 10 * time.Second
	DefaultFanoutCalls          = 16
)

// FanoutResult is what gatepass_revocation_fanout_total counts: a
// transport's final state for one revocation, each failed attempt
// (failed), and a transport given up after RetryFor (abandoned).
type FanoutResult string

// The results of a fan-out, a closed set.
const (
	FanoutDone          FanoutResult = "done"
	FanoutFailed        FanoutResult = "failed"
	FanoutAbandoned     FanoutResult = "abandoned"
	FanoutNotConfigured FanoutResult = "not_configured"
	FanoutNeedsOrg      FanoutResult = "needs_org"
	FanoutNotApplicable FanoutResult = "not_applicable"
	FanoutExpires       FanoutResult = "expires"
)

// FanoutResults are every FanoutResult, for the metrics to declare.
func FanoutResults() []FanoutResult {
	return []FanoutResult{FanoutDone, FanoutFailed, FanoutAbandoned, FanoutNotConfigured, FanoutNeedsOrg, FanoutNotApplicable, FanoutExpires}
}

// FanoutPorts are what the fan-out needs.
type FanoutPorts struct {
	// Evictors are the transports that evict, one each.
	Evictors []domain.Evictor
	// Disabled are the transports known to this deployment that do not
	// evict (off, or without administrative access): not_configured.
	Disabled []domain.Transport
	// Store keeps each revocation's fan-out where every replica reads it.
	Store domain.FanoutStore
	Clock domain.Clock
	Timer domain.Timer
	// Count is told of each result (nil: not told).
	Count  func(domain.Transport, FanoutResult)
	Logger *slog.Logger
}

// EvictRevoked asks for a recorded revocation's fan-out: every transport
// closes the revoked user's live connections.
type EvictRevoked struct {
	Revocation domain.Revocation
}

// EvictRevokedHandler runs each revocation's fan-out, once per replica
// that records it: every evictor at once, a failing one retried with
// backoff in the background until RetryFor, then abandoned. Each state is
// written to the store as it changes, so every replica shows it. Close
// stops the retries.
type EvictRevokedHandler struct {
	evictors  []domain.Evictor
	disabled  []domain.Transport
	store     domain.FanoutStore
	clock     domain.Clock
	timer     domain.Timer
	count     func(domain.Transport, FanoutResult)
	log       *slog.Logger
	policy    FanoutPolicy
	base      context.Context
	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	mu sync.Mutex
	// runs are this replica's fan-outs by revocation id: running, or
	// finished less than runMemory ago.
	runs map[string]*fanoutRun
	// pruned is when runs was last pruned.
	pruned time.Time
	// slots holds a token per call in flight to each transport.
	slots map[domain.Transport]chan struct{}
}

// runMemory is how long a finished fan-out is kept in this replica
// beside the store, for an answer that asks for it late.
const runMemory = time.Minute

// NewEvictRevokedHandler builds the handler; Close stops its retries.
func NewEvictRevokedHandler(p FanoutPorts, policy FanoutPolicy) *EvictRevokedHandler {
	if policy.Wait <= 0 {
		policy.Wait = DefaultFanoutWait
	}
	if policy.RetryFor <= 0 {
		policy.RetryFor = DefaultFanoutRetryFor
	}
	if policy.FirstBackoff <= 0 {
		policy.FirstBackoff = DefaultFanoutFirstBackoff
	}
	if policy.MaxBackoff < policy.FirstBackoff {
		policy.MaxBackoff = max(DefaultFanoutMaxBackoff, policy.FirstBackoff)
	}
	if policy.AttemptTimeout <= 0 {
		policy.AttemptTimeout = DefaultFanoutAttemptTimeout
	}
	if policy.Calls <= 0 {
		policy.Calls = DefaultFanoutCalls
	}
	if policy.StoreTimeout <= 0 {
		policy.StoreTimeout = DefaultRevocationStoreTimeout
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Count == nil {
		p.Count = func(domain.Transport, FanoutResult) {}
	}
	evictors := slices.Clone(p.Evictors)
	slices.SortFunc(evictors, func(a, b domain.Evictor) int { return compareTransports(a.Transport(), b.Transport()) })
	base, stop := context.WithCancel(context.Background())
	slots := make(map[domain.Transport]chan struct{}, len(evictors))
	for _, e := range evictors {
		slots[e.Transport()] = make(chan struct{}, policy.Calls)
	}
	return &EvictRevokedHandler{slots: slots,
		evictors: evictors, disabled: slices.Clone(p.Disabled), store: p.Store, clock: p.Clock, timer: p.Timer,
		count: p.Count, log: p.Logger, policy: policy, base: base, stop: stop, runs: map[string]*fanoutRun{},
	}
}

func compareTransports(a, b domain.Transport) int { return cmp.Compare(a, b) }

// Transports are every transport the fan-out reports: the evicting ones
// and the disabled ones.
func (h *EvictRevokedHandler) Transports() []domain.Transport {
	out := slices.Clone(h.disabled)
	for _, e := range h.evictors {
		out = append(out, e.Transport())
	}
	slices.SortFunc(out, compareTransports)
	return slices.Compact(out)
}

// Handle starts the fan-out of cmd's revocation, unless this replica has
// already, and returns where it stands once every transport has answered
// its first call, or after Wait, or when ctx ends: pending for the
// transports still working. The fan-out goes on after Handle returns.
func (h *EvictRevokedHandler) Handle(ctx context.Context, cmd EvictRevoked) domain.Fanout {
	run := h.start(cmd.Revocation)
	select {
	case <-run.answered:
	case <-h.timer.After(h.policy.Wait):
	case <-ctx.Done():
	}
	return run.snapshot()
}

// Fanout is where the revocation's fan-out stands, as the store holds it,
// with what this replica knows fresher: pending for a transport of which
// nothing is known yet. A store that does not answer is
// ErrRevocationsUnavailable, unless this replica ran the fan-out.
func (h *EvictRevokedHandler) Fanout(ctx context.Context, rev domain.Revocation) (domain.Fanout, error) {
	if rev.SessionID != "" {
		return h.sessionFanout(), nil
	}
	h.mu.Lock()
	run := h.runs[rev.ID]
	h.mu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, h.policy.StoreTimeout)
	stored, err := h.store.Fanout(cctx, rev.ID)
	cancel()
	if err != nil && run == nil {
		return nil, fmt.Errorf("fan-out of revocation %s: %w: %w", rev.ID, domain.ErrRevocationsUnavailable, err)
	}
	out := domain.Fanout{}
	for _, t := range h.Transports() {
		out[t] = domain.Eviction{Status: domain.EvictionPending}
	}
	maps.Copy(out, stored)
	if run != nil {
		maps.Copy(out, run.snapshot())
	}
	return out, nil
}

// Close stops the retries and waits for the calls under way to end; the
// fan-outs stopped keep their last state (failed) in the store.
func (h *EvictRevokedHandler) Close() {
	h.closeOnce.Do(func() {
		h.stop()
		h.wg.Wait()
	})
}

// fanoutRun is one revocation's fan-out on this replica.
type fanoutRun struct {
	rev     domain.Revocation
	started time.Time
	// answered is closed once every transport has answered once.
	answered chan struct{}

	mu      sync.Mutex
	state   domain.Fanout
	waiting int // transports that have not answered yet
	working int // transports not final yet
}

func (r *fanoutRun) snapshot() domain.Fanout {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.state)
}

func (r *fanoutRun) finished() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.working == 0
}

// set records t's eviction; first says whether it is t's first answer.
func (r *fanoutRun) set(t domain.Transport, e domain.Eviction, first bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state[t] = e
	if e.Final() {
		r.working--
	}
	if first {
		r.waiting--
		if r.waiting == 0 {
			close(r.answered)
		}
	}
}

// start begins rev's fan-out, or returns the one begun already.
func (h *EvictRevokedHandler) start(rev domain.Revocation) *fanoutRun {
	now := h.clock.Now()
	run := &fanoutRun{rev: rev, started: now, answered: make(chan struct{}), state: domain.Fanout{}}
	if rev.SessionID != "" {
		// Transports know users, not the sessions of their identities:
		// nothing to evict, and nothing to store, since Fanout answers
		// the same for every session revocation.
		run.state = h.sessionFanout()
		for t := range run.state {
			h.count(t, FanoutNotApplicable)
		}
		close(run.answered)
		return run
	}
	h.mu.Lock()
	if run, ok := h.runs[rev.ID]; ok {
		h.mu.Unlock()
		return run
	}
	h.pruneRuns(now)
	h.runs[rev.ID] = run
	h.mu.Unlock()

	// What needs no call is known at once.
	for _, t := range h.disabled {
		run.state[t] = h.settle(rev, t, domain.Eviction{Status: domain.EvictionNotConfigured})
	}
	for _, e := range h.evictors {
		run.state[e.Transport()] = domain.Eviction{Status: domain.EvictionPending}
	}
	run.waiting, run.working = len(h.evictors), len(h.evictors)
	if len(h.evictors) == 0 {
		close(run.answered)
	}
	for _, e := range h.evictors {
		h.wg.Go(func() { h.evict(run, e) })
	}
	return run
}

// sessionFanout is the fan-out of every session revocation: transports
// know users, not the sessions of their identities.
func (h *EvictRevokedHandler) sessionFanout() domain.Fanout {
	out := domain.Fanout{}
	for _, t := range h.Transports() {
		out[t] = domain.Eviction{Status: domain.EvictionNotApplicable}
	}
	return out
}

// pruneRuns forgets the runs finished longer than runMemory ago, at most
// once a second: recording many revocations at once stays linear. h.mu
// is held.
func (h *EvictRevokedHandler) pruneRuns(now time.Time) {
	if now.Sub(h.pruned) < time.Second {
		return
	}
	h.pruned = now
	for id, run := range h.runs {
		if run.finished() && now.Sub(run.started) > runMemory {
			delete(h.runs, id)
		}
	}
}

// settle records a final state that took no call, and counts it.
func (h *EvictRevokedHandler) settle(rev domain.Revocation, t domain.Transport, e domain.Eviction) domain.Eviction {
	h.save(rev, t, e)
	h.count(t, resultOf(e.Status))
	return e
}

// evict calls e until it answers, retrying a failure with backoff until
// RetryFor after the fan-out began; then it is abandoned.
func (h *EvictRevokedHandler) evict(run *fanoutRun, e domain.Evictor) {
	t, rev := e.Transport(), run.rev
	log := h.log.With("revocation_id", rev.ID, "transport", string(t))
	backoff := h.policy.FirstBackoff
	for attempt := 1; ; attempt++ {
		ev, err := h.call(e, rev)
		if ev.Status == "" {
			ev.Status = domain.EvictionDone
		}
		if err == nil && !ev.Final() {
			err = fmt.Errorf("evictor answered %s without an error", ev.Status)
		}
		if err == nil {
			run.set(t, ev, attempt == 1)
			h.save(rev, t, ev)
			h.count(t, resultOf(ev.Status))
			if attempt > 1 {
				log.InfoContext(h.base, "revocation fan-out succeeded on retry", "attempt", attempt, "status", string(ev.Status))
			}
			return
		}
		failed := domain.Eviction{Status: domain.EvictionFailed}
		run.set(t, failed, attempt == 1)
		h.save(rev, t, failed)
		h.count(t, FanoutFailed)
		if h.base.Err() != nil {
			h.stopped(run, log, attempt)
			return
		}
		wait := jitter(backoff)
		backoff = min(2*backoff, h.policy.MaxBackoff)
		if h.clock.Now().Add(wait).Sub(run.started) > h.policy.RetryFor {
			h.abandon(run, t, log, attempt, err)
			return
		}
		log.WarnContext(h.base, "revocation fan-out failed; retrying", "attempt", attempt, "retry_in", wait.String(), "error", err)
		select {
		case <-h.timer.After(wait):
		case <-h.base.Done():
			h.stopped(run, log, attempt)
			return
		}
	}
}

// call asks e once to evict rev's user, waiting for one of the
// transport's Calls slots.
func (h *EvictRevokedHandler) call(e domain.Evictor, rev domain.Revocation) (domain.Eviction, error) {
	slots := h.slots[e.Transport()]
	select {
	case slots <- struct{}{}: // a free slot is taken even at shutdown, as a call always was
	default:
		select {
		case slots <- struct{}{}:
		case <-h.base.Done():
			return domain.Eviction{}, h.base.Err()
		}
	}
	defer func() { <-slots }()
	ctx, cancel := context.WithTimeout(h.base, h.policy.AttemptTimeout)
	defer cancel()
	return e.Evict(ctx, rev)
}

// abandon gives up on t: its state stays failed in the store.
func (h *EvictRevokedHandler) abandon(run *fanoutRun, t domain.Transport, log *slog.Logger, attempts int, err error) {
	run.finish()
	h.count(t, FanoutAbandoned)
	log.ErrorContext(h.base, "revocation fan-out abandoned: the transport may keep the user's live connections",
		"attempts", attempts, "retried_for", h.clock.Now().Sub(run.started).Round(time.Second).String(), "error", err)
}

// stopped ends a transport's retries at shutdown: its state stays failed.
func (h *EvictRevokedHandler) stopped(run *fanoutRun, log *slog.Logger, attempts int) {
	run.finish()
	log.WarnContext(context.Background(), "revocation fan-out retries stopped by shutdown", "attempts", attempts)
}

// finish marks a transport's failed state final in this replica: no
// retry follows.
func (r *fanoutRun) finish() {
	r.mu.Lock()
	r.working--
	r.mu.Unlock()
}

// save writes t's state to the store; a store that does not answer is
// logged, and this replica still shows the state.
func (h *EvictRevokedHandler) save(rev domain.Revocation, t domain.Transport, e domain.Eviction) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(h.base), h.policy.StoreTimeout)
	defer cancel()
	if err := h.store.SaveEviction(ctx, rev, t, e); err != nil {
		h.log.WarnContext(ctx, "revocation fan-out state not stored; other replicas show it pending",
			"revocation_id", rev.ID, "transport", string(t), "status", string(e.Status), "error", err)
	}
}

// resultOf is the result a final status is counted under.
func resultOf(s domain.EvictionStatus) FanoutResult {
	return FanoutResult(s)
}

// jitter is d drawn between half and all of it, so that the retries of
// many revocations do not call a recovering transport all at once.
func jitter(d time.Duration) time.Duration {
	half := d / 2
	return half + rand.N(d-half+1)
}

// ExpiringEvictor stands for a transport that cannot close connections:
// they last until their tokens expire, at the latest a token's TTL after
// the revocation's cut-off (a token issued since is refused).
type ExpiringEvictor struct {
	// Of is the transport.
	Of  domain.Transport
	TTL time.Duration
}

var _ domain.Evictor = ExpiringEvictor{}

// Transport is e.Of.
func (e ExpiringEvictor) Transport() domain.Transport { return e.Of }

// Evict reports when the revoked user's last token expires.
func (e ExpiringEvictor) Evict(_ context.Context, r domain.Revocation) (domain.Eviction, error) {
	return domain.Eviction{Status: domain.EvictionExpires, ExpiresAt: r.NotBefore.Add(e.TTL)}, nil
}
