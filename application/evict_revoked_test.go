package application_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/domain/mocks"
)

// fakeClock is a Clock and Timer that moves only when Advance says.
type fakeClock struct {
	mu        sync.Mutex
	now       time.Time
	waiters   []fakeWaiter
	requested int           // timers asked for, ever
	changed   chan struct{} // closed and replaced at each new timer
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: now, changed: make(chan struct{})} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := fakeWaiter{at: c.now.Add(d), ch: make(chan time.Time, 1)}
	c.waiters = append(c.waiters, w)
	c.requested++
	close(c.changed)
	c.changed = make(chan struct{})
	return w.ch
}

// Advance moves the time by d and fires every timer due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
			continue
		}
		kept = append(kept, w)
	}
	c.waiters = kept
}

// awaitTimers waits until n timers have been asked for since the start,
// or until done says so; the test fails after 10 s of real time.
func (c *fakeClock) awaitTimers(t *testing.T, n int, done func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got, changed := c.requested, c.changed
		c.mu.Unlock()
		if got >= n || (done != nil && done()) {
			return
		}
		select {
		case <-changed:
		case <-time.After(5 * time.Millisecond): // for done, which no timer tells
		case <-deadline:
			t.Fatalf("%d timers asked for, want %d", got, n)
		}
	}
}

// fanoutFixture is the fan-out over mocked evictors, a mocked store that
// keeps what it is given, and a fake clock.
type fanoutFixture struct {
	clock *fakeClock
	store *mocks.MockFanoutStore
	h     *application.EvictRevokedHandler
	logs  *syncBuffer

	mu      sync.Mutex
	stored  chan struct{} // told of each state stored
	saved   map[domain.Transport][]domain.Eviction
	counted map[string]int // "transport/result"
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newFanoutFixture(t *testing.T, ctrl *gomock.Controller, evictors []domain.Evictor, disabled ...domain.Transport) *fanoutFixture {
	f := &fanoutFixture{
		clock: newFakeClock(), store: mocks.NewMockFanoutStore(ctrl), logs: &syncBuffer{},
		saved: map[domain.Transport][]domain.Eviction{}, counted: map[string]int{}, stored: make(chan struct{}, 1),
	}
	f.store.EXPECT().SaveEviction(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, _ domain.Revocation, tr domain.Transport, e domain.Eviction) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.saved[tr] = append(f.saved[tr], e)
			select {
			case f.stored <- struct{}{}:
			default: // one is pending already
			}
			return nil
		}).AnyTimes()
	f.h = application.NewEvictRevokedHandler(application.FanoutPorts{
		Evictors: evictors, Disabled: disabled, Store: f.store, Clock: f.clock, Timer: f.clock,
		Count: func(tr domain.Transport, r application.FanoutResult) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.counted[string(tr)+"/"+string(r)]++
		},
		Logger: slog.New(slog.NewJSONHandler(f.logs, nil)),
	}, application.FanoutPolicy{})
	t.Cleanup(f.h.Close)
	return f
}

func (f *fanoutFixture) savedOf(tr domain.Transport) []domain.Eviction {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]domain.Eviction(nil), f.saved[tr]...)
}

func (f *fanoutFixture) counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.counted)
}

func evictor(ctrl *gomock.Controller, tr domain.Transport) *mocks.MockEvictor {
	e := mocks.NewMockEvictor(ctrl)
	e.EXPECT().Transport().Return(tr).AnyTimes()
	return e
}

func userRevocation(t *testing.T, session string) domain.Revocation {
	t.Helper()
	r, err := domain.NewRevocation("rev-fanout", domain.RevocationRequest{UserID: "user_01H", OrgID: "org_01", SessionID: session}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var errUnreachable = errors.New("transport unreachable")

// TestEvictRevokedAnswers: what the fan-out answers once every transport
// has answered its first call.
func TestEvictRevokedAnswers(t *testing.T) {
	expiresAt := now.Add(time.Second + time.Hour)
	tests := []struct {
		name    string
		session string
		// answer is each evicting transport's first answer; nil: not called.
		answer     map[domain.Transport]func() (domain.Eviction, error)
		disabled   []domain.Transport
		want       domain.Fanout
		wantCounts map[string]int
	}{
		{
			name: "done, expires and not configured",
			answer: map[domain.Transport]func() (domain.Eviction, error){
				domain.TransportCentrifugo: func() (domain.Eviction, error) {
					return domain.Eviction{Status: domain.EvictionDone, Count: 2}, nil
				},
				domain.TransportSupabaseRealtime: func() (domain.Eviction, error) {
					return domain.Eviction{Status: domain.EvictionExpires, ExpiresAt: expiresAt}, nil
				},
			},
			disabled: []domain.Transport{domain.TransportLiveKit},
			want: domain.Fanout{
				domain.TransportCentrifugo:       {Status: domain.EvictionDone, Count: 2},
				domain.TransportSupabaseRealtime: {Status: domain.EvictionExpires, ExpiresAt: expiresAt},
				domain.TransportLiveKit:          {Status: domain.EvictionNotConfigured},
			},
			wantCounts: map[string]int{"centrifugo/done": 1, "supabase_realtime/expires": 1, "livekit/not_configured": 1},
		},
		{
			name: "an empty status is done; needs_org as answered",
			answer: map[domain.Transport]func() (domain.Eviction, error){
				domain.TransportCentrifugo:   func() (domain.Eviction, error) { return domain.Eviction{}, nil },
				domain.TransportOfficeRouter: func() (domain.Eviction, error) { return domain.Eviction{Status: domain.EvictionNeedsOrg}, nil },
			},
			want: domain.Fanout{
				domain.TransportCentrifugo:   {Status: domain.EvictionDone},
				domain.TransportOfficeRouter: {Status: domain.EvictionNeedsOrg},
			},
			wantCounts: map[string]int{"centrifugo/done": 1, "office_router/needs_org": 1},
		},
		{
			name: "a failure is failed, and counted",
			answer: map[domain.Transport]func() (domain.Eviction, error){
				domain.TransportCentrifugo: func() (domain.Eviction, error) { return domain.Eviction{}, errUnreachable },
			},
			want:       domain.Fanout{domain.TransportCentrifugo: {Status: domain.EvictionFailed}},
			wantCounts: map[string]int{"centrifugo/failed": 1},
		},
		{
			name: "an evictor answering pending without an error failed",
			answer: map[domain.Transport]func() (domain.Eviction, error){
				domain.TransportCentrifugo: func() (domain.Eviction, error) { return domain.Eviction{Status: domain.EvictionPending}, nil },
			},
			want:       domain.Fanout{domain.TransportCentrifugo: {Status: domain.EvictionFailed}},
			wantCounts: map[string]int{"centrifugo/failed": 1},
		},
		{
			name:    "a session revocation calls no transport",
			session: "sess_1",
			answer: map[domain.Transport]func() (domain.Eviction, error){
				domain.TransportCentrifugo: nil,
			},
			disabled: []domain.Transport{domain.TransportLiveKit},
			want: domain.Fanout{
				domain.TransportCentrifugo: {Status: domain.EvictionNotApplicable},
				domain.TransportLiveKit:    {Status: domain.EvictionNotApplicable},
			},
			wantCounts: map[string]int{"centrifugo/not_applicable": 1, "livekit/not_applicable": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctrl := gomock.NewController(t)
			var evictors []domain.Evictor
			for tr, answer := range tt.answer {
				e := evictor(ctrl, tr)
				if answer != nil {
					e.EXPECT().Evict(gomock.Any(), gomock.Any()).DoAndReturn(func(context.Context, domain.Revocation) (domain.Eviction, error) {
						return answer()
					}).MinTimes(1)
				}
				evictors = append(evictors, e)
			}
			f := newFanoutFixture(t, ctrl, evictors, tt.disabled...)
			got := f.h.Handle(context.Background(), application.EvictRevoked{Revocation: userRevocation(t, tt.session)})
			if !maps.Equal(got, tt.want) {
				t.Fatalf("fanout %+v, want %+v", got, tt.want)
			}
			f.h.Close() // stops the retries of what failed
			if c := f.counts(); !maps.Equal(c, tt.wantCounts) {
				t.Fatalf("counted %v, want %v", c, tt.wantCounts)
			}
			for tr, e := range tt.want {
				s := f.savedOf(tr)
				if tt.session != "" {
					// Any replica answers a session revocation's fan-out
					// by the rule: nothing is stored.
					if len(s) != 0 {
						t.Fatalf("%s stored %+v for a session revocation", tr, s)
					}
					continue
				}
				if len(s) == 0 || s[len(s)-1] != e {
					t.Fatalf("%s stored %+v, want last %+v", tr, s, e)
				}
			}
			if tt.session != "" {
				read, err := f.h.Fanout(context.Background(), userRevocation(t, tt.session))
				if err != nil || !maps.Equal(read, tt.want) {
					t.Fatalf("Fanout read %+v, %v; want %+v", read, err, tt.want)
				}
			}
		})
	}
}

// TestEvictRevokedAnswersPendingAfterTheWait: a transport that has not
// answered when the wait ends is pending; its answer is stored when it
// comes, and Fanout shows it.
func TestEvictRevokedAnswersPendingAfterTheWait(t *testing.T) {
	ctrl := gomock.NewController(t)
	release := make(chan struct{})
	slow, quick := evictor(ctrl, domain.TransportCentrifugo), evictor(ctrl, domain.TransportLiveKit)
	slow.EXPECT().Evict(gomock.Any(), gomock.Any()).DoAndReturn(func(context.Context, domain.Revocation) (domain.Eviction, error) {
		<-release
		return domain.Eviction{Status: domain.EvictionDone, Count: 1}, nil
	})
	quick.EXPECT().Evict(gomock.Any(), gomock.Any()).Return(domain.Eviction{Status: domain.EvictionDone, Count: 4}, nil)
	f := newFanoutFixture(t, ctrl, []domain.Evictor{slow, quick})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the fixture's Close, which waits for the call
	rev := userRevocation(t, "")
	answer := make(chan domain.Fanout, 1)
	go func() { answer <- f.h.Handle(context.Background(), application.EvictRevoked{Revocation: rev}) }()
	f.clock.awaitTimers(t, 1, nil) // the wait
	awaitSaved(t, f, domain.TransportLiveKit, 1)
	f.clock.Advance(application.DefaultFanoutWait)
	got := <-answer
	want := domain.Fanout{
		domain.TransportCentrifugo: {Status: domain.EvictionPending},
		domain.TransportLiveKit:    {Status: domain.EvictionDone, Count: 4},
	}
	if !maps.Equal(got, want) {
		t.Fatalf("fanout %+v, want %+v", got, want)
	}
	unblock()
	f.h.Close() // waits for the slow call to end
	f.store.EXPECT().Fanout(gomock.Any(), rev.ID).Return(domain.Fanout{domain.TransportLiveKit: {Status: domain.EvictionDone, Count: 4}}, nil)
	shown, err := f.h.Fanout(context.Background(), rev)
	if err != nil || shown[domain.TransportCentrifugo] != (domain.Eviction{Status: domain.EvictionDone, Count: 1}) {
		t.Fatalf("Fanout after the answer = %+v, %v", shown, err)
	}
	if s := f.savedOf(domain.TransportCentrifugo); len(s) != 1 || s[0].Status != domain.EvictionDone {
		t.Fatalf("centrifugo stored %+v", s)
	}
}

// TestEvictRevokedRetriesWithBackoff: a failed transport is called again
// after a growing wait, and its success replaces failed.
func TestEvictRevokedRetriesWithBackoff(t *testing.T) {
	ctrl := gomock.NewController(t)
	e := evictor(ctrl, domain.TransportCentrifugo)
	gomock.InOrder(
		e.EXPECT().Evict(gomock.Any(), gomock.Any()).Return(domain.Eviction{}, errUnreachable).Times(2),
		e.EXPECT().Evict(gomock.Any(), gomock.Any()).Return(domain.Eviction{Status: domain.EvictionDone, Count: 1}, nil),
	)
	f := newFanoutFixture(t, ctrl, []domain.Evictor{e})
	got := f.h.Handle(context.Background(), application.EvictRevoked{Revocation: userRevocation(t, "")})
	if got[domain.TransportCentrifugo].Status != domain.EvictionFailed {
		t.Fatalf("first answer %+v, want failed", got)
	}
	// The handler's wait, then each retry's, drawn between half and all
	// of its backoff (1 s, then 2 s).
	f.clock.awaitTimers(t, 2, nil)
	f.clock.Advance(application.DefaultFanoutFirstBackoff)
	f.clock.awaitTimers(t, 3, nil)
	f.clock.Advance(2 * application.DefaultFanoutFirstBackoff)
	awaitSaved(t, f, domain.TransportCentrifugo, 3)
	f.h.Close()
	saved := f.savedOf(domain.TransportCentrifugo)
	if len(saved) != 3 || saved[2] != (domain.Eviction{Status: domain.EvictionDone, Count: 1}) {
		t.Fatalf("stored %+v, want failed, failed, done", saved)
	}
	if c := f.counts(); c["centrifugo/failed"] != 2 || c["centrifugo/done"] != 1 || c["centrifugo/abandoned"] != 0 {
		t.Fatalf("counted %v", c)
	}
}

// TestEvictRevokedAbandonsAfterRetryFor: a transport that keeps failing is
// abandoned RetryFor after the revocation, logged naming the revocation
// and the transport, and counted.
func TestEvictRevokedAbandonsAfterRetryFor(t *testing.T) {
	ctrl := gomock.NewController(t)
	e := evictor(ctrl, domain.TransportCentrifugo)
	e.EXPECT().Evict(gomock.Any(), gomock.Any()).Return(domain.Eviction{}, errUnreachable).MinTimes(2)
	f := newFanoutFixture(t, ctrl, []domain.Evictor{e})
	f.h.Handle(context.Background(), application.EvictRevoked{Revocation: userRevocation(t, "")})
	started := f.clock.Now()
	abandoned := func() bool { return strings.Contains(f.logs.String(), "abandoned") }
	// The handler's wait, then one timer per retry until abandoned.
	for n := 2; ; n++ {
		f.clock.awaitTimers(t, n, abandoned)
		if abandoned() {
			break
		}
		if f.clock.Now().Sub(started) > 2*application.DefaultFanoutRetryFor {
			t.Fatalf("not abandoned after %s: %s", f.clock.Now().Sub(started), f.logs)
		}
		f.clock.Advance(application.DefaultFanoutMaxBackoff)
	}
	f.h.Close()
	if c := f.counts(); c["centrifugo/abandoned"] != 1 {
		t.Fatalf("counted %v", c)
	}
	if f.clock.Now().Sub(started) > application.DefaultFanoutRetryFor {
		t.Fatalf("retried for %s, more than %s", f.clock.Now().Sub(started), application.DefaultFanoutRetryFor)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, `"revocation_id":"rev-fanout"`) || !strings.Contains(logs, `"transport":"centrifugo"`) {
		t.Fatalf("abandonment log: %s", logs)
	}
	if s := f.savedOf(domain.TransportCentrifugo); s[len(s)-1].Status != domain.EvictionFailed {
		t.Fatalf("last stored %+v, want failed", s)
	}
}

// awaitSaved waits until n states of tr are stored.
func awaitSaved(t *testing.T, f *fanoutFixture, tr domain.Transport, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(f.savedOf(tr)) < n {
		select {
		case <-f.stored:
		case <-deadline:
			t.Fatalf("%s stored %+v, want %d states", tr, f.savedOf(tr), n)
		}
	}
}

// TestEvictRevokedStopsRetryingOnClose: Close ends the retries at once,
// without another call.
func TestEvictRevokedStopsRetryingOnClose(t *testing.T) {
	ctrl := gomock.NewController(t)
	e := evictor(ctrl, domain.TransportCentrifugo)
	e.EXPECT().Evict(gomock.Any(), gomock.Any()).Return(domain.Eviction{}, errUnreachable).Times(1)
	f := newFanoutFixture(t, ctrl, []domain.Evictor{e})
	f.h.Handle(context.Background(), application.EvictRevoked{Revocation: userRevocation(t, "")})
	f.clock.awaitTimers(t, 2, nil)
	f.h.Close()
	f.clock.Advance(application.DefaultFanoutRetryFor)
	if !strings.Contains(f.logs.String(), "stopped by shutdown") {
		t.Fatalf("logs: %s", f.logs)
	}
}

// TestEvictRevokedShowsPendingWhatNoReplicaStored: the GET of a
// revocation shows every transport, pending where nothing is stored yet;
// a store that does not answer is unavailable.
func TestEvictRevokedShowsPendingWhatNoReplicaStored(t *testing.T) {
	ctrl := gomock.NewController(t)
	f := newFanoutFixture(t, ctrl, []domain.Evictor{evictor(ctrl, domain.TransportCentrifugo)}, domain.TransportLiveKit)
	rev := userRevocation(t, "")
	f.store.EXPECT().Fanout(gomock.Any(), rev.ID).Return(domain.Fanout{domain.TransportLiveKit: {Status: domain.EvictionNotConfigured}}, nil)
	got, err := f.h.Fanout(context.Background(), rev)
	want := domain.Fanout{domain.TransportCentrifugo: {Status: domain.EvictionPending}, domain.TransportLiveKit: {Status: domain.EvictionNotConfigured}}
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("Fanout = %+v, %v; want %+v", got, err, want)
	}
	f.store.EXPECT().Fanout(gomock.Any(), rev.ID).Return(nil, errUnreachable)
	if _, err := f.h.Fanout(context.Background(), rev); !errors.Is(err, domain.ErrRevocationsUnavailable) {
		t.Fatalf("Fanout with the store down: %v", err)
	}
}

// TestEvictRevokedBoundsCallsPerTransport: many revocations at once call
// a transport at most Calls at a time; the rest wait for a slot, and all
// are evicted.
func TestEvictRevokedBoundsCallsPerTransport(t *testing.T) {
	t.Parallel()
	const calls, revocations = 3, 12
	ctrl := gomock.NewController(t)
	e := evictor(ctrl, domain.TransportCentrifugo)
	var (
		mu             sync.Mutex
		inFlight, most int
		release        = make(chan struct{})
		entered        = make(chan struct{}, revocations)
	)
	e.EXPECT().Evict(gomock.Any(), gomock.Any()).DoAndReturn(func(context.Context, domain.Revocation) (domain.Eviction, error) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		entered <- struct{}{}
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		return domain.Eviction{Status: domain.EvictionDone, Count: 1}, nil
	}).Times(revocations)
	store := mocks.NewMockFanoutStore(ctrl)
	store.EXPECT().SaveEviction(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(nil).Times(revocations)
	clock := newFakeClock()
	h := application.NewEvictRevokedHandler(application.FanoutPorts{
		Evictors: []domain.Evictor{e}, Store: store, Clock: clock, Timer: clock,
	}, application.FanoutPolicy{Calls: calls})
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Handle answers at once; the fan-out goes on
	for i := range revocations {
		r, err := domain.NewRevocation(fmt.Sprintf("rev-%d", i), domain.RevocationRequest{UserID: fmt.Sprintf("user_%d", i), OrgID: "org_01"}, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		h.Handle(ctx, application.EvictRevoked{Revocation: r})
	}
	for range calls {
		<-entered
	}
	mu.Lock()
	got := inFlight
	mu.Unlock()
	if got != calls {
		t.Fatalf("%d calls in flight, want %d", got, calls)
	}
	close(release) // every call now returns; the waiting ones go through
	for range revocations - calls {
		<-entered
	}
	h.Close()
	if most != calls {
		t.Fatalf("at most %d calls were in flight, want %d", most, calls)
	}
}
