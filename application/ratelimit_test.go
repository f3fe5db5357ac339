package application_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/domain/mocks"
)

func limits(failOpen bool) application.RateLimitPolicy {
	mode := application.FailClosed
	if failOpen {
		mode = application.FailOpen
	}
	return application.RateLimitPolicy{
		Enabled: true, FailureMode: mode, AuthFailures: authLimit,
		Grants: map[domain.GrantKind]domain.Limit{domain.GrantOffice: officeLimit, domain.GrantRealtime: realtimeLimit},
	}
}

var unavailable = errors.Join(domain.ErrLimiterUnavailable, errors.New("dial tcp: connection refused"))

func TestGrantsSpendThePerUserBudget(t *testing.T) {
	tests := []struct {
		name     string
		failOpen bool
		decision domain.Decision
		err      error
		wantErr  error
		wantSign bool
	}{
		{name: "within budget", decision: domain.Decision{Allowed: true, Remaining: 3}, wantSign: true},
		{name: "budget spent", decision: domain.Decision{RetryAfter: 1500 * time.Millisecond}, wantErr: domain.ErrRateLimited},
		{name: "store down, fail open", failOpen: true, err: unavailable, wantSign: true},
		{name: "store down, fail closed", err: unavailable, wantErr: domain.ErrLimiterUnavailable},
	}
	for _, tt := range tests {
		t.Run("office/"+tt.name, func(t *testing.T) {
			f := newLimitedFixture(t, limits(tt.failOpen))
			f.limiter.EXPECT().Allow(gomock.Any(), "office:user_01H", officeLimit).Return(tt.decision, tt.err)
			if tt.wantSign {
				f.clock.EXPECT().Now().Return(now)
				f.ids.EXPECT().NewID().Return("id", nil)
				f.office.EXPECT().SignOffice(gomock.Any(), gomock.Any()).Return("signed", nil)
			}
			_, err := officeIssuer(f.app).Handle(context.Background(), application.IssueGrant[domain.OfficeRequest]{Caller: member})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var limited *domain.RateLimitedError
			if errors.As(err, &limited) && limited.RetryAfter != tt.decision.RetryAfter {
				t.Fatalf("retry after %s", limited.RetryAfter)
			}
		})
		t.Run("realtime/"+tt.name, func(t *testing.T) {
			f := newLimitedFixture(t, limits(tt.failOpen))
			f.limiter.EXPECT().Allow(gomock.Any(), "realtime:user_01H", realtimeLimit).Return(tt.decision, tt.err)
			if tt.wantSign {
				f.clock.EXPECT().Now().Return(now)
				f.ids.EXPECT().NewID().Return("id", nil)
				f.realtime.EXPECT().SignRealtime(gomock.Any(), gomock.Any()).Return("signed", nil)
			}
			_, err := realtimeIssuer(f.app).Handle(context.Background(), application.IssueGrant[struct{}]{Caller: member})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRefusedCallersSpendTheGrantBudget(t *testing.T) {
	// A caller refused for its organization has spent its budget: every
	// refusal after authentication costs the caller a request.
	f := newLimitedFixture(t, limits(true))
	f.limiter.EXPECT().Allow(gomock.Any(), "office:"+loner.UserID, officeLimit).Return(domain.Decision{Allowed: true}, nil)
	_, err := officeIssuer(f.app).Handle(context.Background(), application.IssueGrant[domain.OfficeRequest]{Caller: loner})
	if !errors.Is(err, domain.ErrNoOrganization) {
		t.Fatal(err)
	}
}

var client = netip.MustParseAddr("203.0.113.7")

// TestFailedAuthenticationsAreLimitedPerAddress pins the order: every token
// is verified first, so a valid token is never refused for its address;
// only failures spend the address's budget, and once it is spent a failure
// is answered as rate limited instead of invalid.
func TestFailedAuthenticationsAreLimitedPerAddress(t *testing.T) {
	spent := domain.Decision{RetryAfter: 2 * time.Second}
	tests := []struct {
		name     string
		failOpen bool
		verify   error
		allow    *domain.Decision // nil: the limiter is not asked
		allowErr error
		wantErr  []error
		notError error
	}{
		{name: "success spends nothing, whatever the address has spent"},
		{name: "failure within budget is counted", verify: domain.ErrInvalidCredentials, allow: &domain.Decision{Allowed: true},
			wantErr: []error{domain.ErrInvalidCredentials}, notError: domain.ErrRateLimited},
		{name: "failure past the budget is rate limited", verify: domain.ErrInvalidCredentials, allow: &spent,
			wantErr: []error{domain.ErrRateLimited, domain.ErrInvalidCredentials}},
		{name: "identity keys never loaded: the service's failure spends nothing",
			verify:  &domain.CredentialError{Reason: domain.ReasonKeysUnavailable},
			wantErr: []error{application.ErrIdentityUnavailable}, notError: domain.ErrRateLimited},
		{name: "a token refused without a key is the caller's failure and is counted",
			verify: &domain.CredentialError{Reason: domain.ReasonMalformed}, allow: &spent,
			wantErr: []error{domain.ErrRateLimited, domain.ErrInvalidCredentials}, notError: application.ErrIdentityUnavailable},
		{name: "store down, fail closed: the failure cannot be counted", verify: domain.ErrInvalidCredentials, allow: &domain.Decision{}, allowErr: unavailable,
			wantErr: []error{domain.ErrLimiterUnavailable, domain.ErrInvalidCredentials}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLimitedFixture(t, limits(tt.failOpen))
			f.identity.EXPECT().VerifyIdentity(gomock.Any(), "tok").Return(member, tt.verify)
			if tt.allow != nil {
				f.limiter.EXPECT().Allow(gomock.Any(), "authfail:203.0.113.7", authLimit).Return(*tt.allow, tt.allowErr)
			}
			_, err := f.app.AuthenticateCaller.Handle(context.Background(), application.AuthenticateCaller{Bearer: "tok", ClientIP: client})
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want it to wrap %v", err, want)
				}
			}
			if tt.wantErr == nil && err != nil {
				t.Fatal(err)
			}
			if tt.notError != nil && errors.Is(err, tt.notError) {
				t.Errorf("err = %v wraps %v", err, tt.notError)
			}
		})
	}
}

// TestRefusedRequestsSpendTheFailureBudget: a request refused for its cost
// before any credential is looked at spends the address's failure budget,
// the one failed authentications spend.
func TestRefusedRequestsSpendTheFailureBudget(t *testing.T) {
	tests := []struct {
		name     string
		allow    domain.Decision
		allowErr error
		wantErr  error
	}{
		{name: "within budget", allow: domain.Decision{Allowed: true}},
		{name: "past the budget", allow: domain.Decision{RetryAfter: time.Second}, wantErr: domain.ErrRateLimited},
		{name: "store down, fail closed", allowErr: unavailable, wantErr: domain.ErrLimiterUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLimitedFixture(t, limits(false))
			f.limiter.EXPECT().Allow(gomock.Any(), "authfail:203.0.113.7", authLimit).Return(tt.allow, tt.allowErr)
			err := f.app.AuthenticateCaller.SpendFailure(context.Background(), client)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestAddressesAreCountedByTheirClient: one IPv4 address is one budget
// however it is spelled, and an IPv6 client is its prefix.
func TestAddressesAreCountedByTheirClient(t *testing.T) {
	b := application.NewBudgets(nil, nil, nil, application.RateLimitPolicy{})
	b48 := application.NewBudgets(nil, nil, nil, application.RateLimitPolicy{IPv6Prefix: 48})
	tests := []struct {
		budgets *application.Budgets
		addr    string
		want    string
	}{
		{b, "192.0.2.7", "192.0.2.7"},
		{b, "::ffff:192.0.2.7", "192.0.2.7"},
		{b, "::ffff:c000:207", "192.0.2.7"},
		{b, "0:0:0:0:0:ffff:192.0.2.7", "192.0.2.7"},
		{b, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{b, "2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{b, "fe80::1%eth0", "fe80::/64"},
		{b48, "2001:db8:1:2:3:4:5:6", "2001:db8:1::/48"},
	}
	for _, tt := range tests {
		if got := tt.budgets.AddressKey(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("%s: key %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// fakeStore is a shared store that fails as told, for the fallback tests.
type fakeStore struct {
	err   error
	delay time.Duration
	calls int
}

func (s *fakeStore) Allow(ctx context.Context, _ string, _ domain.Limit) (domain.Decision, error) {
	s.calls++
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return domain.Decision{}, fmt.Errorf("%w: %w", domain.ErrLimiterUnavailable, ctx.Err())
		}
	}
	if s.err != nil {
		return domain.Decision{}, s.err
	}
	return domain.Decision{Allowed: true}, nil
}

// TestFailingStoreFallsBackToLocalBudgets: failing open, budgets are kept
// in the replica while the store fails (never none), readiness says
// degraded; failing closed, requests are refused and readiness fails. A
// store that hangs costs one bounded call, then is left alone a while.
func TestFailingStoreFallsBackToLocalBudgets(t *testing.T) {
	oom := errors.Join(domain.ErrLimiterUnavailable, errors.New("OOM command not allowed"))
	two := domain.Limit{Rate: 1, Period: time.Hour, Burst: 2}
	policy := func(mode application.FailureMode) application.RateLimitPolicy {
		return application.RateLimitPolicy{Enabled: true, FailureMode: mode, StoreTimeout: 20 * time.Millisecond,
			Grants: map[domain.GrantKind]domain.Limit{domain.GrantRealtime: two}}
	}
	t.Run("open", func(t *testing.T) {
		store := &fakeStore{err: oom}
		b := application.NewBudgets(store, memorylimit(), nil, policy(application.FailOpen))
		for i, want := range []error{nil, nil, domain.ErrRateLimited} {
			if err := b.SpendGrant(context.Background(), domain.GrantRealtime, "u"); !errors.Is(err, want) {
				t.Fatalf("grant %d: err = %v, want %v", i+1, err, want)
			}
		}
		if store.calls != 1 {
			t.Errorf("the failed store was asked %d times within a second, want once", store.calls)
		}
		detail, err := b.Ready(context.Background())
		if err != nil || !strings.Contains(detail, "degraded") {
			t.Fatalf("readiness %q, %v; want ready and degraded", detail, err)
		}
		store.err = nil
		if detail, err := b.Ready(context.Background()); err != nil || detail != "store" {
			t.Fatalf("recovered store: readiness %q, %v", detail, err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		store := &fakeStore{err: oom}
		b := application.NewBudgets(store, memorylimit(), nil, policy(application.FailClosed))
		if err := b.SpendGrant(context.Background(), domain.GrantRealtime, "u"); !errors.Is(err, domain.ErrLimiterUnavailable) {
			t.Fatalf("err = %v", err)
		}
		if _, err := b.Ready(context.Background()); err == nil {
			t.Fatal("ready while the store fails and the policy fails closed")
		}
	})
	t.Run("hung", func(t *testing.T) {
		store := &fakeStore{delay: time.Hour}
		b := application.NewBudgets(store, memorylimit(), nil, policy(application.FailOpen))
		start := time.Now()
		for range 10 {
			if err := b.SpendGrant(context.Background(), domain.GrantRealtime, "u"); err != nil && !errors.Is(err, domain.ErrRateLimited) {
				t.Fatal(err)
			}
		}
		if elapsed := time.Since(start); elapsed > time.Second {
			t.Fatalf("10 grants took %s against a hung store", elapsed)
		}
		if store.calls != 1 {
			t.Errorf("the hung store was asked %d times, want once", store.calls)
		}
	})
}

func memorylimit() domain.RateLimiter { return &countingLimiter{seen: map[string]int{}} }

// countingLimiter allows Burst events per key, for ever.
type countingLimiter struct{ seen map[string]int }

func (l *countingLimiter) Allow(_ context.Context, key string, limit domain.Limit) (domain.Decision, error) {
	if l.seen[key] >= limit.Burst {
		return domain.Decision{RetryAfter: time.Second}, nil
	}
	l.seen[key]++
	return domain.Decision{Allowed: true}, nil
}

func ptr[T any](v T) *T { return &v }

func TestDisabledLimitsNeverAskTheLimiter(t *testing.T) {
	policy := limits(false)
	policy.Enabled = false
	f := newLimitedFixture(t, policy)
	f.clock.EXPECT().Now().Return(now)
	f.ids.EXPECT().NewID().Return("id", nil)
	f.office.EXPECT().SignOffice(gomock.Any(), gomock.Any()).Return("signed", nil)
	if _, err := officeIssuer(f.app).Handle(context.Background(), application.IssueGrant[domain.OfficeRequest]{Caller: member}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckReadiness(t *testing.T) {
	ok := application.ReadinessCheck{Name: "signer", Probe: func(context.Context) (string, error) { return "go RS256", nil }}
	bad := application.ReadinessCheck{Name: "identity_keys", Probe: func(context.Context) (string, error) { return "", errors.New("not loaded") }}
	tests := []struct {
		name   string
		checks []application.ReadinessCheck
		ready  bool
	}{
		{name: "all pass", checks: []application.ReadinessCheck{ok}, ready: true},
		{name: "one fails", checks: []application.ReadinessCheck{ok, bad}, ready: false},
		{name: "no checks", ready: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := application.NewCheckReadinessHandler(tt.checks).Handle(context.Background())
			if r.Ready != tt.ready || len(r.Checks) != len(tt.checks) {
				t.Fatalf("readiness %+v", r)
			}
			for i, c := range r.Checks {
				if c.Name != tt.checks[i].Name {
					t.Errorf("check %d named %s", i, c.Name)
				}
			}
			if !tt.ready && r.Checks[1].Detail != "not loaded" {
				t.Errorf("failing detail %q", r.Checks[1].Detail)
			}
		})
	}
}

// The nodes of a sharded store: alice's budgets live on nodeA, bob's on
// nodeB, and the probe keys spread over all three.
const (
	nodeA = "10.0.0.1:7000"
	nodeB = "10.0.0.2:7000"
	nodeC = "10.0.0.3:7000"
)

var threeNodes = []string{nodeA, nodeB, nodeC}

// shardOf is the node a key's budget lives on.
func shardOf(key string) string {
	switch {
	case strings.HasSuffix(key, ":alice"):
		return nodeA
	case strings.HasSuffix(key, ":bob"):
		return nodeB
	}
	n, err := strconv.Atoi(key[strings.LastIndexByte(key, '-')+1:])
	if err != nil {
		return nodeC
	}
	return threeNodes[n%len(threeNodes)]
}

// shardedStore is a store of several nodes that fail one by one, with one
// budget per key (Burst events, then refused).
type shardedStore struct {
	mu    sync.Mutex
	down  map[string]bool
	calls map[string]int // by node
	spent map[string]int // by key
}

func newShardedStore(down ...string) *shardedStore {
	s := &shardedStore{down: map[string]bool{}, calls: map[string]int{}, spent: map[string]int{}}
	s.set(down...)
	return s
}

// set makes exactly the nodes down fail.
func (s *shardedStore) set(down ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.down)
	for _, n := range down {
		s.down[n] = true
	}
}

func (s *shardedStore) Allow(_ context.Context, key string, limit domain.Limit) (domain.Decision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	node := shardOf(key)
	s.calls[node]++
	if s.down[node] {
		return domain.Decision{}, fmt.Errorf("%w: dial tcp %s: connection refused", domain.ErrLimiterUnavailable, node)
	}
	if s.spent[key] >= limit.Burst {
		return domain.Decision{RetryAfter: time.Second}, nil
	}
	s.spent[key]++
	return domain.Decision{Allowed: true}, nil
}

func (s *shardedStore) callsTo(node string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[node]
}

// shardedBudgets are Budgets on store, its nodes told apart by a mock whose
// Nodes answers nodes().
func shardedBudgets(t *testing.T, store *shardedStore, mode application.FailureMode, nodes func() []string) *application.Budgets {
	ctrl := gomock.NewController(t)
	m := mocks.NewMockRateLimitNodes(ctrl)
	m.EXPECT().NodeOf(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, key string) string { return shardOf(key) }).AnyTimes()
	m.EXPECT().Nodes(gomock.Any()).DoAndReturn(func(context.Context) ([]string, error) { return nodes(), nil }).AnyTimes()
	return application.NewBudgets(store, memorylimit(), m, application.RateLimitPolicy{
		Enabled: true, FailureMode: mode, Store: "redis cluster",
		Grants: map[domain.GrantKind]domain.Limit{domain.GrantRealtime: {Rate: 1, Period: time.Hour, Burst: 2}},
	})
}

// spendWants spends user's realtime budget once per wanted error.
func spendWants(t *testing.T, b *application.Budgets, user string, want ...error) {
	t.Helper()
	for i, w := range want {
		if err := b.SpendGrant(context.Background(), domain.GrantRealtime, user); !errors.Is(err, w) || (w == nil && err != nil) {
			t.Fatalf("%s's grant %d: err = %v, want %v", user, i+1, err, w)
		}
	}
}

// TestAFailingNodeFailsOnlyItsBudgets: on a store whose nodes fail one by
// one (a Redis Cluster), a failing node is left alone for the budgets it
// holds only. Its users meet the failure mode (503 closed, budgets of the
// replica open); users on the other nodes spend their shared budgets as
// usual, even right after the failure. Readiness stays ready while any node
// answers and names the failing ones.
func TestAFailingNodeFailsOnlyItsBudgets(t *testing.T) {
	all := func() []string { return threeNodes }
	tests := []struct {
		name      string
		mode      application.FailureMode
		wantAlice []error
	}{
		{name: "closed", mode: application.FailClosed,
			wantAlice: []error{domain.ErrLimiterUnavailable, domain.ErrLimiterUnavailable, domain.ErrLimiterUnavailable}},
		// The replica's own budget: two, then refused.
		{name: "open", mode: application.FailOpen,
			wantAlice: []error{nil, nil, domain.ErrRateLimited}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newShardedStore(nodeA)
			b := shardedBudgets(t, store, tt.mode, all)
			spendWants(t, b, "alice", tt.wantAlice...)
			if n := store.callsTo(nodeA); n != 1 {
				t.Errorf("the failed node was asked %d times within a second, want once", n)
			}
			// Bob's node answers: his shared budget, in the store, whatever
			// alice's node does.
			spendWants(t, b, "bob", nil, nil, domain.ErrRateLimited)
			if n := store.callsTo(nodeB); n != 3 {
				t.Errorf("bob's node was asked %d times for 3 grants", n)
			}

			detail, err := b.Ready(context.Background())
			if err != nil {
				t.Fatalf("one node of three failing: not ready: %v", err)
			}
			for _, want := range []string{"degraded", "2 of 3 nodes answering", "failing: " + nodeA} {
				if !strings.Contains(detail, want) {
					t.Errorf("readiness %q does not say %q", detail, want)
				}
			}
			if strings.Contains(detail, nodeB) || strings.Contains(detail, nodeC) {
				t.Errorf("readiness %q names an answering node", detail)
			}

			// Alice's node is back: the readiness probe finds it answering,
			// and her shared budget is spent again at once.
			store.set()
			if detail, err := b.Ready(context.Background()); err != nil || detail != "redis cluster" {
				t.Fatalf("every node back: readiness %q, %v", detail, err)
			}
			spendWants(t, b, "alice", nil, nil, domain.ErrRateLimited)
		})
	}
}

// TestNoNodeAnswering: only when every node fails is a replica failing
// closed not ready; failing open it stays ready, degraded. Both name the
// nodes.
func TestNoNodeAnswering(t *testing.T) {
	all := func() []string { return threeNodes }
	t.Run("closed", func(t *testing.T) {
		b := shardedBudgets(t, newShardedStore(threeNodes...), application.FailClosed, all)
		_, err := b.Ready(context.Background())
		if err == nil || !strings.Contains(err.Error(), "0 of 3 nodes answering") || !strings.Contains(err.Error(), nodeA+", "+nodeB+", "+nodeC) {
			t.Fatalf("readiness with no node answering: %v; want not ready, naming every node", err)
		}
	})
	t.Run("open", func(t *testing.T) {
		b := shardedBudgets(t, newShardedStore(threeNodes...), application.FailOpen, all)
		detail, err := b.Ready(context.Background())
		if err != nil || !strings.Contains(detail, "degraded") || !strings.Contains(detail, "failing open with budgets kept per replica") {
			t.Fatalf("readiness %q, %v; want ready and degraded", detail, err)
		}
	})
}

// TestAReplacedNodeIsForgotten: after a failover the failed master holds no
// budgets; readiness neither probes nor names it.
func TestAReplacedNodeIsForgotten(t *testing.T) {
	const promoted = "10.0.0.4:7000"
	nodes := []string{nodeA, nodeB, nodeC}
	var mu sync.Mutex
	store := newShardedStore(nodeA)
	b := shardedBudgets(t, store, application.FailClosed, func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(nodes) })
	spendWants(t, b, "alice", domain.ErrLimiterUnavailable)
	mu.Lock()
	nodes = []string{promoted, nodeB, nodeC}
	mu.Unlock()
	before := store.callsTo(nodeA)
	if detail, err := b.Ready(context.Background()); err != nil || detail != "redis cluster" {
		t.Fatalf("after the failover: readiness %q, %v; want every node answering", detail, err)
	}
	if store.callsTo(nodeA) != before {
		t.Error("readiness probed a node that holds no budgets")
	}
}
