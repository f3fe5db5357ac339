// Package revocationtest is the conformance suite every revocation store
// runs from its own tests (go-cloud's drivertest), so the memory and the
// Redis stores keep one contract: a revocation recorded is loaded by every
// handle on the store, by version so that a reader catches up on what it
// missed; an expired one is not loaded; a watcher is told of a record; an
// event id is claimed once across handles until released; a revocation's
// fan-out state saved by one handle is read by every other, until the
// revocation expires; a signed grant's key recorded by one handle is found
// by every other, by user and organization, until it expires.
package revocationtest

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// Store is what a backend implements.
type Store interface {
	domain.RevocationStore
	domain.EventLedger
	domain.FanoutStore
	domain.GrantKeyStore
}

// Harness is one fresh, empty store for one subtest.
type Harness struct {
	// Open opens a new handle on the store: two handles stand for two
	// replicas.
	Open func() Store
	// Empty, when set, loses everything the store holds, as a Redis that
	// restarts without persistence does; nil for a store that cannot.
	Empty func()
}

// HarnessMaker makes a fresh harness for one subtest. Subtests run in
// parallel, so it must be safe to call concurrently.
type HarnessMaker func(t *testing.T) Harness

// RunConformanceTests runs the suite against the backend newHarness makes.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	t.Helper()
	tests := []struct {
		name string
		run  func(*testing.T, Harness)
	}{
		{"RecordedIsLoadedByEveryHandle", testRecordedIsLoaded},
		{"LoadSinceAVersionBringsOnlyWhatFollows", testLoadSince},
		{"LoadAheadOfTheStoreBringsEverything", testLoadAhead},
		{"ExpiredIsNotLoaded", testExpired},
		{emptiedCase, testEmptied},
		{"WatchersAreTold", testWatch},
		{"EventIsClaimedOnceAcrossHandles", testClaimOnce},
		{"ConcurrentClaimsHaveOneWinner", testConcurrentClaims},
		{"FanoutIsReadByEveryHandle", testFanoutShared},
		{"FanoutOfAnExpiredRevocationIsNotKept", testFanoutExpired},
		{"GrantKeysAreReadByEveryHandle", testGrantKeysShared},
		{"GrantKeysExpire", testGrantKeysExpire},
	}
	// A store that cannot lose its content (memory) has no case for it.
	losesContent := newHarness(t).Empty != nil
	for _, tt := range tests {
		if tt.name == emptiedCase && !losesContent {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newHarness(t))
		})
	}
}

// emptiedCase is the case of a store that lost its content.
const emptiedCase = "AReaderOfAnEmptiedStoreGetsWhatFollows"

var seq atomic.Int64

// revocation is an active revocation of user in org, with an id unique to
// the test run.
// An empty org revokes every organization.
func revocation(t *testing.T, user, org string) domain.Revocation {
	t.Helper()
	r, err := domain.NewRevocation(fmt.Sprintf("rev-%d", seq.Add(1)), domain.RevocationRequest{
		UserID: user, OrgID: org, AllOrganizations: org == "", SessionID: "sess_1", Reason: "left the company", Source: domain.RevocationSourceAdmin,
	}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustRecord(t *testing.T, s Store, r domain.Revocation) {
	t.Helper()
	if err := s.Record(ctx(t), r); err != nil {
		t.Fatalf("Record: %v", err)
	}
}

func mustLoad(t *testing.T, s Store, since uint64) domain.RevocationSnapshot {
	t.Helper()
	snap, err := s.Load(ctx(t), since)
	if err != nil {
		t.Fatalf("Load(%d): %v", since, err)
	}
	return snap
}

// same reports whether got holds exactly want, compared field by field
// (times to the millisecond a store may keep).
func same(t *testing.T, what string, got []domain.Revocation, want ...domain.Revocation) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d revocations, want %d: %+v", what, len(got), len(want), got)
	}
	byID := map[string]domain.Revocation{}
	for _, r := range got {
		byID[r.ID] = r
	}
	for _, w := range want {
		g, ok := byID[w.ID]
		if !ok {
			t.Fatalf("%s: revocation %s missing from %+v", what, w.ID, got)
		}
		if g.RevocationRequest != w.RevocationRequest || !g.NotBefore.Equal(w.NotBefore) || g.ExpiresAt.Sub(w.ExpiresAt).Abs() >= time.Millisecond {
			t.Fatalf("%s: loaded %+v, recorded %+v", what, g, w)
		}
	}
}

func testRecordedIsLoaded(t *testing.T, h Harness) {
	open := h.Open
	a, b := open(), open()
	if snap := mustLoad(t, b, 0); len(snap.Revocations) != 0 {
		t.Fatalf("a fresh store loads %+v", snap.Revocations)
	}
	r1, r2 := revocation(t, "user_a", "org_1"), revocation(t, "user_b", "")
	mustRecord(t, a, r1)
	mustRecord(t, a, r2)
	snap := mustLoad(t, b, 0)
	same(t, "another handle's load", snap.Revocations, r1, r2)
	if snap.Version == 0 {
		t.Fatal("a store holding revocations answers version 0")
	}
}

func testLoadSince(t *testing.T, h Harness) {
	open := h.Open
	a, b := open(), open()
	r1, r2 := revocation(t, "user_a", "org_1"), revocation(t, "user_a", "org_2")
	mustRecord(t, a, r1)
	v1 := mustLoad(t, b, 0).Version
	if snap := mustLoad(t, b, v1); len(snap.Revocations) != 0 || snap.Version != v1 {
		t.Fatalf("nothing recorded since %d, loaded %+v at version %d", v1, snap.Revocations, snap.Version)
	}
	mustRecord(t, a, r2)
	snap := mustLoad(t, b, v1)
	same(t, "load since the first", snap.Revocations, r2)
	if snap.Version <= v1 {
		t.Fatalf("version %d after a record, was %d", snap.Version, v1)
	}
}

func testLoadAhead(t *testing.T, h Harness) {
	open := h.Open
	a := open()
	r := revocation(t, "user_a", "org_1")
	mustRecord(t, a, r)
	v := mustLoad(t, a, 0).Version
	// A reader ahead of the store read a store that was emptied since
	// (a Redis restarted without its data): it gets everything there is.
	same(t, "load ahead", mustLoad(t, a, v+1000).Revocations, r)
}

func testExpired(t *testing.T, h Harness) {
	open := h.Open
	a := open()
	old, err := domain.NewRevocation(fmt.Sprintf("rev-%d", seq.Add(1)), domain.RevocationRequest{UserID: "user_a", OrgID: "org_1"},
		time.Now().Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	fresh := revocation(t, "user_a", "org_1")
	mustRecord(t, a, old)
	mustRecord(t, a, fresh)
	same(t, "load", mustLoad(t, a, 0).Revocations, fresh)
}

func testWatch(t *testing.T, h Harness) {
	open := h.Open
	a, b := open(), open()
	wctx, cancel := context.WithCancel(ctx(t))
	defer cancel()
	told := b.Watch(wctx)
	// A subscription may take a moment to be in place: record until told,
	// which a store that never tells fails.
	deadline := time.After(5 * time.Second)
	for {
		mustRecord(t, a, revocation(t, "user_a", "org_1"))
		select {
		case <-told:
			return
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("the watcher was not told of a record within 5s")
		}
	}
}

func testClaimOnce(t *testing.T, h Harness) {
	open := h.Open
	a, b := open(), open()
	id := fmt.Sprintf("event_%d", seq.Add(1))
	claim := func(s Store, want bool) {
		t.Helper()
		got, err := s.Claim(ctx(t), id, time.Minute)
		if err != nil || got != want {
			t.Fatalf("Claim(%s) = %v, %v; want %v", id, got, err, want)
		}
	}
	claim(a, true)
	claim(b, false)
	claim(a, false)
	if err := b.Release(ctx(t), id); err != nil {
		t.Fatal(err)
	}
	claim(b, true)
	other, err := a.Claim(ctx(t), id+"_other", time.Minute)
	if err != nil || !other {
		t.Fatalf("another id: %v, %v", other, err)
	}
}

func testConcurrentClaims(t *testing.T, h Harness) {
	open := h.Open
	id := fmt.Sprintf("event_%d", seq.Add(1))
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		s := open()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := s.Claim(ctx(t), id, time.Minute); err != nil {
				t.Error(err)
			} else if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d of 16 concurrent claims won, want 1", n)
	}
}

func testEmptied(t *testing.T, h Harness) {
	a, b := h.Open(), h.Open()
	mustRecord(t, a, revocation(t, "user_a", "org_1"))
	mustRecord(t, a, revocation(t, "user_a", "org_2"))
	seen := mustLoad(t, b, 0).Version
	h.Empty()
	r := revocation(t, "user_b", "org_1")
	mustRecord(t, a, r)
	// b asks for what followed the version it saw: the revocation recorded
	// into the emptied store must be among it.
	same(t, "load since a version of the store before it was emptied", mustLoad(t, b, seen).Revocations, r)
}

func testFanoutShared(t *testing.T, h Harness) {
	a, b := h.Open(), h.Open()
	r, other := revocation(t, "user_a", "org_1"), revocation(t, "user_b", "org_1")
	if f, err := b.Fanout(ctx(t), r.ID); err != nil || len(f) != 0 {
		t.Fatalf("Fanout of a revocation without one = %v, %v", f, err)
	}
	expires := r.NotBefore.Add(time.Hour)
	save := func(s Store, r domain.Revocation, tr domain.Transport, e domain.Eviction) {
		t.Helper()
		if err := s.SaveEviction(ctx(t), r, tr, e); err != nil {
			t.Fatalf("SaveEviction: %v", err)
		}
	}
	save(a, r, transportA, domain.Eviction{Status: domain.EvictionFailed})
	save(a, r, domain.TransportSupabaseRealtime, domain.Eviction{Status: domain.EvictionExpires, ExpiresAt: expires})
	save(a, other, transportA, domain.Eviction{Status: domain.EvictionNotApplicable})
	// A later state replaces the one before.
	save(a, r, transportA, domain.Eviction{Status: domain.EvictionDone, Count: 3})
	f, err := b.Fanout(ctx(t), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(f) != 2 || f[transportA] != (domain.Eviction{Status: domain.EvictionDone, Count: 3}) {
		t.Fatalf("another handle reads %+v", f)
	}
	if got := f[domain.TransportSupabaseRealtime]; got.Status != domain.EvictionExpires || !got.ExpiresAt.Equal(expires) {
		t.Fatalf("supabase_realtime read as %+v, saved expires at %s", got, expires)
	}
	if f, err := b.Fanout(ctx(t), other.ID); err != nil || len(f) != 1 || f[transportA].Status != domain.EvictionNotApplicable {
		t.Fatalf("the other revocation's fan-out = %+v, %v", f, err)
	}
}

func testFanoutExpired(t *testing.T, h Harness) {
	a := h.Open()
	old, err := domain.NewRevocation(fmt.Sprintf("rev-%d", seq.Add(1)), domain.RevocationRequest{UserID: "user_a", OrgID: "org_1"},
		time.Now().Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SaveEviction(ctx(t), old, transportA, domain.Eviction{Status: domain.EvictionDone}); err != nil {
		t.Fatal(err)
	}
	if f, err := a.Fanout(ctx(t), old.ID); err != nil || len(f) != 0 {
		t.Fatalf("an expired revocation's fan-out is kept: %+v, %v", f, err)
	}
}

func testGrantKeysShared(t *testing.T, h Harness) {
	a, b := h.Open(), h.Open()
	hour := time.Now().Add(time.Hour)
	record := func(tr domain.Transport, k domain.GrantKey) {
		t.Helper()
		if err := a.RecordGrantKey(ctx(t), tr, k); err != nil {
			t.Fatalf("RecordGrantKey: %v", err)
		}
	}
	record(transportA, domain.GrantKey{UserID: "user_a", OrgID: "org_1", Key: "K1", ExpiresAt: hour})
	record(transportA, domain.GrantKey{UserID: "user_a", OrgID: "org_2", Key: "K2", ExpiresAt: hour})
	record(transportA, domain.GrantKey{UserID: "user_b", OrgID: "org_1", Key: "K3", ExpiresAt: hour})
	record(transportB, domain.GrantKey{UserID: "user_a", OrgID: "org_1", Key: "K4", ExpiresAt: hour})
	// Expired when recorded: not kept.
	record(transportA, domain.GrantKey{UserID: "user_a", OrgID: "org_1", Key: "K5", ExpiresAt: time.Now().Add(-time.Second)})
	keys := func(user, org string) []string {
		t.Helper()
		got, err := b.GrantKeys(ctx(t), transportA, user, org)
		if err != nil {
			t.Fatalf("GrantKeys: %v", err)
		}
		slices.Sort(got)
		return got
	}
	if got := keys("user_a", "org_1"); !slices.Equal(got, []string{"K1"}) {
		t.Fatalf("user_a in org_1 from another handle = %v, want [K1]", got)
	}
	if got := keys("user_a", ""); !slices.Equal(got, []string{"K1", "K2"}) {
		t.Fatalf("user_a in every organization = %v, want [K1 K2]", got)
	}
	if got := keys("user_c", ""); len(got) != 0 {
		t.Fatalf("a user without keys has %v", got)
	}
}

func testGrantKeysExpire(t *testing.T, h Harness) {
	a := h.Open()
	// Whole milliseconds, as stores keep it.
	soon := time.Now().Add(1500 * time.Millisecond).Truncate(time.Millisecond)
	if err := a.RecordGrantKey(ctx(t), transportA, domain.GrantKey{UserID: "user_a", OrgID: "org_1", Key: "K1", ExpiresAt: soon}); err != nil {
		t.Fatal(err)
	}
	if got, err := a.GrantKeys(ctx(t), transportA, "user_a", "org_1"); err != nil || len(got) != 1 {
		t.Fatalf("before it expires: %v, %v", got, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := a.GrantKeys(ctx(t), transportA, "user_a", "org_1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			if time.Now().Before(soon) {
				t.Fatalf("the key was dropped before it expired")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("an expired key is still returned: %v", got)
		}
		runtime.Gosched()
	}
}

// transportA and transportB stand for any two transports: a store keeps
// what each transport names apart, whatever they are.
const (
	transportA domain.Transport = "transport_a"
	transportB domain.Transport = "transport_b"
)
