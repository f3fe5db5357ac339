package application

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// FailureMode is what a request meets when the rate-limit store cannot be
// reached.
type FailureMode string

// The failure modes.
const (
	// FailOpen serves the request, unlimited, while the store is down.
	FailOpen FailureMode = "open"
	// FailClosed refuses the request with ErrLimiterUnavailable.
	FailClosed FailureMode = "closed"
)

// ErrUnknownFailureMode means a failure mode is neither open nor closed.
var ErrUnknownFailureMode = errors.New("failure mode must be open or closed")

// UnmarshalText accepts "open" or "closed".
func (m *FailureMode) UnmarshalText(text []byte) error {
	switch v := FailureMode(text); v {
	case FailOpen, FailClosed:
		*m = v
		return nil
	default:
		return ErrUnknownFailureMode
	}
}

// String returns the mode's name.
func (m FailureMode) String() string { return string(m) }

// RateLimitPolicy is how callers' budgets are enforced.
type RateLimitPolicy struct {
	// Enabled turns every limit on or off (benchmarks turn them off).
	Enabled bool
	// FailureMode says what happens while the shared store fails: open
	// falls back to budgets kept in this replica, closed refuses.
	FailureMode FailureMode
	// StoreTimeout bounds each call to the store; a store that does not
	// answer in time has failed. Zero means DefaultStoreTimeout.
	StoreTimeout time.Duration
	// Grants are the per-user budgets of each grant kind; a kind without
	// one is not limited.
	Grants map[domain.GrantKind]domain.Limit
	// AuthFailures is per client address, counted on failed
	// authentications only, so honest users behind one address are never
	// limited by it.
	AuthFailures domain.Limit
	// Store names the store in readiness details ("redis", "memory").
	Store string
	// IPv6Prefix is how many leading bits of an IPv6 address name one
	// client for AuthFailures: a host holds a whole /64 as easily as one
	// address. Zero means DefaultIPv6Prefix.
	IPv6Prefix int
}

// Defaults of RateLimitPolicy.
const (
	DefaultStoreTimeout = 100 * time.Millisecond
	DefaultIPv6Prefix   = 64
)

// storeRetry is how long a node of the shared store is left alone after
// it failed: requests for the budgets it holds meanwhile go to the fallback
// (or are refused) at once, so a hung node costs one request a timeout per
// interval, not every request.
const storeRetry = time.Second

// readinessBudget keeps the readiness probe's keys apart from callers'.
const readinessBudget domain.Budget = "readiness"

// probeLimit is the readiness probe's budget: large enough never to run
// out, so a probe only tells whether the store takes the write.
var probeLimit = domain.Limit{Budget: readinessBudget, Rate: 1_000_000, Period: time.Second, Burst: 1_000_000}

// probeSearch bounds the search for a probe key held by each node: a node
// holding even one slot of a Redis Cluster's 16384 is found within it
// almost surely.
const probeSearch = 1 << 17

// Budgets spends callers' budgets under a RateLimitPolicy. Its methods say
// what is being limited; with limits off it is backed by a limiter that
// allows everything. It remembers how each node of the shared store has
// been answering, for the budgets that node holds and for readiness.
type Budgets struct {
	store  domain.RateLimiter
	local  domain.RateLimiter
	nodes  domain.RateLimitNodes // nil: the store fails as one
	policy RateLimitPolicy
	now    func() time.Time
	// off is true when limits are off: nothing is counted at all.
	off bool

	// whole is the health of a store that fails as one, and of budgets
	// whose node is not known.
	whole nodeHealth
	// health is each named node's nodeHealth (*nodeHealth by node name);
	// readiness drops the nodes that no longer hold budgets.
	health sync.Map
}

// nodeHealth is how one node of the store has been answering: the Unix
// nanoseconds of its latest failure and success.
type nodeHealth struct {
	failedAt atomic.Int64
	okAt     atomic.Int64
}

// failing reports whether the node failed since it last answered.
func (h *nodeHealth) failing() bool { return h.failedAt.Load() > h.okAt.Load() }

// NewBudgets enforces policy with store, the limiter shared by every
// replica. local keeps budgets in this replica while store fails and the
// policy fails open; nil when store cannot fail (an in-memory store).
// nodes, when not nil, tells apart the nodes store keeps budgets on, so
// that one failing node fails only the budgets it holds. A nil store, or a
// policy with limits off, allows everything.
func NewBudgets(store, local domain.RateLimiter, nodes domain.RateLimitNodes, policy RateLimitPolicy) *Budgets {
	off := store == nil || !policy.Enabled
	if off {
		store, local, nodes = unlimited{}, nil, nil
	}
	if policy.StoreTimeout <= 0 {
		policy.StoreTimeout = DefaultStoreTimeout
	}
	if policy.Store == "" {
		policy.Store = "store"
	}
	if policy.IPv6Prefix <= 0 {
		policy.IPv6Prefix = DefaultIPv6Prefix
	}
	return &Budgets{store: store, local: local, nodes: nodes, policy: policy, now: time.Now, off: off}
}

// Unlimited is Budgets that allow everything.
func Unlimited() *Budgets { return NewBudgets(nil, nil, nil, RateLimitPolicy{}) }

// SpendGrant takes one grant of kind from the user's budget.
func (b *Budgets) SpendGrant(ctx context.Context, kind domain.GrantKind, userID string) error {
	limit, ok := b.policy.Grants[kind]
	if !ok || b.off {
		return nil
	}
	limit.Budget = domain.BudgetOf(kind)
	return b.spend(ctx, limitKey(limit, userID), limit)
}

// SpendFailure counts one failed authentication against a client address:
// IPv4-mapped IPv6 addresses count as the IPv4 address, IPv6 addresses by
// their policy prefix. An invalid address (no client address known) is not
// counted.
func (b *Budgets) SpendFailure(ctx context.Context, client netip.Addr) error {
	if !client.IsValid() || b.off {
		return nil
	}
	limit := b.policy.AuthFailures
	limit.Budget = domain.BudgetAuthFailure
	return b.spend(ctx, limitKey(limit, b.AddressKey(client)), limit)
}

// AddressKey is the name of the budget client spends: the IPv4 address, or
// the IPv6 prefix that holds it.
func (b *Budgets) AddressKey(client netip.Addr) string {
	client = client.Unmap().WithZone("")
	if client.Is4() {
		return client.String()
	}
	p, err := client.Prefix(b.policy.IPv6Prefix)
	if err != nil {
		return client.String()
	}
	return p.String()
}

// limitKey is where the store keeps subject's count in limit's budget.
func limitKey(limit domain.Limit, subject string) string {
	return string(limit.Budget) + ":" + subject
}

// spend asks the store, within the policy's timeout, and falls back or
// refuses as the policy says when the node holding the budget fails.
func (b *Budgets) spend(ctx context.Context, key string, limit domain.Limit) error {
	d, err := b.allowInStore(ctx, key, limit)
	if err != nil && errors.Is(err, domain.ErrLimiterUnavailable) && b.policy.FailureMode == FailOpen {
		if b.local == nil {
			return nil
		}
		d, err = b.local.Allow(ctx, key, limit)
	}
	switch {
	case err != nil:
		return fmt.Errorf("rate limit %s: %w", limit.Budget, err)
	case d.Allowed:
		return nil
	default:
		return &domain.RateLimitedError{RetryAfter: d.RetryAfter}
	}
}

// allowInStore is one bounded call to the shared store, skipped while the
// node holding key's budget is left alone after a failure. Budgets on the
// store's other nodes are asked as usual.
func (b *Budgets) allowInStore(ctx context.Context, key string, limit domain.Limit) (domain.Decision, error) {
	cctx, cancel := context.WithTimeout(ctx, b.policy.StoreTimeout)
	defer cancel()
	node := ""
	if b.nodes != nil {
		node = b.nodes.NodeOf(cctx, key)
	}
	h := b.healthOf(node)
	now := b.now().UnixNano()
	if failed := h.failedAt.Load(); failed > h.okAt.Load() && now-failed < int64(storeRetry) {
		return domain.Decision{}, fmt.Errorf("%w: %s failed %s ago", domain.ErrLimiterUnavailable,
			b.nodeName(node), time.Duration(now-failed).Round(time.Millisecond))
	}
	return b.callStore(ctx, cctx, h, key, limit)
}

// callStore asks the store under cctx, ctx's bounded copy, and records how
// the node behind h answered.
func (b *Budgets) callStore(ctx, cctx context.Context, h *nodeHealth, key string, limit domain.Limit) (domain.Decision, error) {
	d, err := b.store.Allow(cctx, key, limit)
	switch {
	case err == nil:
		h.okAt.Store(b.now().UnixNano())
	case errors.Is(err, domain.ErrLimiterUnavailable):
		h.failedAt.Store(b.now().UnixNano())
	case cctx.Err() != nil && ctx.Err() == nil:
		// A store that ignores its deadline's error type still timed out.
		h.failedAt.Store(b.now().UnixNano())
		err = fmt.Errorf("%w: %w", domain.ErrLimiterUnavailable, err)
	}
	return d, err
}

// healthOf is node's record; "" is the whole store's.
func (b *Budgets) healthOf(node string) *nodeHealth {
	if node == "" {
		return &b.whole
	}
	if h, ok := b.health.Load(node); ok {
		return h.(*nodeHealth)
	}
	h, _ := b.health.LoadOrStore(node, &nodeHealth{})
	return h.(*nodeHealth)
}

// nodeName names node in errors: the store, or the store's node.
func (b *Budgets) nodeName(node string) string {
	if node == "" {
		return b.policy.Store
	}
	return b.policy.Store + " node " + node
}

// Ready is the rate limiter's readiness check. It spends one event of a
// budget of its own in the shared store, as a request would (a PING passes
// on a store that refuses writes), on every node of a store whose nodes
// fail one by one, and reports a node failing if that fails or if requests
// met a failure since the node last answered. The replica is ready while
// any node answers: a node failing fails only the budgets it holds (closed)
// or keeps them per replica (open), and the detail names the failing nodes.
// When no node answers, failing open leaves the replica ready, on budgets
// of its own ("degraded"); failing closed, it is not ready.
func (b *Budgets) Ready(ctx context.Context) (string, error) {
	if _, off := b.store.(unlimited); off {
		return "rate limits off", nil
	}
	if b.nodes == nil {
		cctx, cancel := context.WithTimeout(ctx, b.policy.StoreTimeout)
		_, err := b.callStore(ctx, cctx, &b.whole, limitKey(probeLimit, "probe"), probeLimit)
		cancel()
		if err == nil && !b.whole.failing() {
			return b.policy.Store, nil
		}
		return b.noneAnswering("")
	}
	// The node list is bounded like a store call: a client that cannot
	// refresh it in time answers with the one it has.
	nctx, cancel := context.WithTimeout(ctx, b.policy.StoreTimeout)
	nodes, err := b.nodes.Nodes(nctx)
	cancel()
	if err != nil || len(nodes) == 0 {
		// No node told where the budgets are: none answered.
		return b.noneAnswering("")
	}
	b.forgetOtherNodes(nodes)
	failing := b.probeNodes(ctx, nodes)
	if len(failing) == 0 {
		return b.policy.Store, nil
	}
	summary := fmt.Sprintf("%d of %d nodes answering, failing: %s", len(nodes)-len(failing), len(nodes), strings.Join(failing, ", "))
	if len(failing) == len(nodes) {
		return b.noneAnswering(" (" + summary + ")")
	}
	if b.policy.FailureMode == FailOpen && b.local != nil {
		return "degraded: " + b.policy.Store + ": " + summary + "; budgets there are kept per replica", nil
	}
	if b.policy.FailureMode == FailOpen {
		return "degraded: " + b.policy.Store + ": " + summary + "; budgets there are not limited", nil
	}
	return "degraded: " + b.policy.Store + ": " + summary + "; budgets there fail closed", nil
}

// noneAnswering is the readiness of a store of which no node answers;
// nodes, when not empty, says which failed.
func (b *Budgets) noneAnswering(nodes string) (string, error) {
	if b.policy.FailureMode == FailOpen {
		if b.local == nil {
			return "degraded: " + b.policy.Store + " failing, failing open without limits" + nodes, nil
		}
		return "degraded: " + b.policy.Store + " failing, failing open with budgets kept per replica" + nodes, nil
	}
	return "", errors.New(b.policy.Store + " failing, failing closed" + nodes)
}

// probeNodes spends the probe budget on every node at once and returns the
// failing nodes, in the order of nodes. A node for which no probe key is
// found is judged by how it answered requests.
func (b *Budgets) probeNodes(ctx context.Context, nodes []string) []string {
	keys := b.probeKeys(ctx, nodes)
	bad := make([]bool, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		h := b.healthOf(node)
		key, ok := keys[node]
		if !ok {
			bad[i] = h.failing()
			continue
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, b.policy.StoreTimeout)
			_, err := b.callStore(ctx, cctx, h, key, probeLimit)
			cancel()
			bad[i] = err != nil || h.failing()
		})
	}
	wg.Wait()
	var failing []string
	for i, node := range nodes {
		if bad[i] {
			failing = append(failing, node)
		}
	}
	return failing
}

// probeKeys finds, for each node, a probe key whose budget it holds: the
// first of readiness:probe-0, -1, ... to land on it, so a node is probed
// on the same key while the slots stay where they are.
func (b *Budgets) probeKeys(ctx context.Context, nodes []string) map[string]string {
	want := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		want[n] = true
	}
	keys := make(map[string]string, len(nodes))
	for i := 0; len(keys) < len(want) && i < probeSearch; i++ {
		key := limitKey(probeLimit, "probe-"+strconv.Itoa(i))
		if n := b.nodes.NodeOf(ctx, key); want[n] && keys[n] == "" {
			keys[n] = key
		}
	}
	return keys
}

// forgetOtherNodes drops the records of nodes that no longer hold budgets
// (a master replaced in a failover), so the records stay as many as the
// store's nodes.
func (b *Budgets) forgetOtherNodes(nodes []string) {
	current := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		current[n] = true
	}
	b.health.Range(func(k, _ any) bool {
		if !current[k.(string)] {
			b.health.Delete(k)
		}
		return true
	})
}

// unlimited is the limiter of disabled limits: every event is allowed.
type unlimited struct{}

func (unlimited) Allow(context.Context, string, domain.Limit) (domain.Decision, error) {
	return domain.Decision{Allowed: true}, nil
}
