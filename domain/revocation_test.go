package domain_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/domain"
)

func TestNewRevocation(t *testing.T) {
	at := time.Date(2026, 5, 4, 10, 21, 7, 300_000_000, time.FixedZone("CEST", 2*3600))
	tests := []struct {
		name      string
		req       domain.RevocationRequest
		now       time.Time
		wantField string
		wantNB    time.Time
	}{
		{name: "rounded up to the next second, in UTC", req: domain.RevocationRequest{UserID: "u", OrgID: "o"}, now: at,
			wantNB: time.Date(2026, 5, 4, 8, 21, 8, 0, time.UTC)},
		{name: "a whole second still moves to the next", req: domain.RevocationRequest{UserID: "u", AllOrganizations: true}, now: at.Truncate(time.Second),
			wantNB: time.Date(2026, 5, 4, 8, 21, 8, 0, time.UTC)},
		{name: "no user", req: domain.RevocationRequest{OrgID: "o"}, wantField: "user_id"},
		{name: "neither org nor all", req: domain.RevocationRequest{UserID: "u"}, wantField: "org_id"},
		{name: "both org and all", req: domain.RevocationRequest{UserID: "u", OrgID: "o", AllOrganizations: true}, wantField: "all_organizations"},
		{name: "white space in a user", req: domain.RevocationRequest{UserID: "u\u00a0", OrgID: "o"}, wantField: "user_id"},
		{name: "invisible character in a session", req: domain.RevocationRequest{UserID: "u", OrgID: "o", SessionID: "s\u200b"}, wantField: "session_id"},
		{name: "long reason", req: domain.RevocationRequest{UserID: "u", OrgID: "o", Reason: strings.Repeat("r", 257)}, wantField: "reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := domain.NewRevocation("id", tt.req, tt.now, time.Hour)
			var fe *domain.RevocationFieldError
			if tt.wantField != "" {
				if !errors.Is(err, domain.ErrInvalidRevocation) || !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Fatalf("err = %v, want a field error on %s", err, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !r.NotBefore.Equal(tt.wantNB) || r.NotBefore.Location() != time.UTC || !r.ExpiresAt.Equal(tt.wantNB.Add(time.Hour)) {
				t.Fatalf("not before %s, expires %s; want %s", r.NotBefore, r.ExpiresAt, tt.wantNB)
			}
		})
	}
}

func TestRevocationMatches(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	org, _ := domain.NewRevocation("a", domain.RevocationRequest{UserID: "u", OrgID: "o"}, now, time.Hour)
	all, _ := domain.NewRevocation("b", domain.RevocationRequest{UserID: "u", AllOrganizations: true}, now, time.Hour)
	session, _ := domain.NewRevocation("c", domain.RevocationRequest{UserID: "u", AllOrganizations: true, SessionID: "s1"}, now, time.Hour)
	nb := org.NotBefore
	p := func(user, orgID, sid string, iat time.Time) domain.Principal {
		return domain.Principal{UserID: user, OrgID: orgID, SessionID: sid, IssuedAt: iat}
	}
	tests := []struct {
		name string
		r    domain.Revocation
		p    domain.Principal
		want bool
	}{
		{"issued before the cut-off", org, p("u", "o", "", nb.Add(-time.Second)), true},
		{"issued at the cut-off", org, p("u", "o", "", nb), false},
		{"issued after", org, p("u", "o", "", nb.Add(time.Second)), false},
		{"no iat", org, p("u", "o", "", time.Time{}), true},
		{"another organization", org, p("u", "o2", "", nb.Add(-time.Second)), false},
		{"no organization", org, p("u", "", "", nb.Add(-time.Second)), false},
		{"another user", org, p("v", "o", "", nb.Add(-time.Second)), false},
		{"all organizations", all, p("u", "o2", "", nb.Add(-time.Second)), true},
		{"all organizations, none held", all, p("u", "", "", nb.Add(-time.Second)), true},
		{"the session", session, p("u", "o", "s1", nb.Add(-time.Second)), true},
		{"another session", session, p("u", "o", "s2", nb.Add(-time.Second)), false},
		{"no session", session, p("u", "o", "", nb.Add(-time.Second)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Matches(tt.p); got != tt.want {
				t.Fatalf("Matches = %v, want %v", got, tt.want)
			}
			// The index checks its packed copy by the same rule.
			x := domain.NewRevocationIndex([]domain.Revocation{tt.r})
			if got, ok := x.Refusing(tt.p, tt.r.NotBefore); ok != tt.want || (ok && got != tt.r) {
				t.Fatalf("index: Refusing = %+v %v, want %v", got, ok, tt.want)
			}
			if _, ok := x.Refusing(tt.p, tt.r.ExpiresAt); ok {
				t.Fatal("index: refuses once the revocation expired")
			}
		})
	}
}

func TestRevocationIndex(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	first, _ := domain.NewRevocation("a", domain.RevocationRequest{UserID: "u", OrgID: "o"}, now, time.Hour)
	later, _ := domain.NewRevocation("b", domain.RevocationRequest{UserID: "u", OrgID: "o"}, now.Add(time.Minute), time.Hour)
	x := domain.NewRevocationIndex([]domain.Revocation{first}).Merge([]domain.Revocation{later}, now)
	between := domain.Principal{UserID: "u", OrgID: "o", IssuedAt: first.NotBefore.Add(time.Second)}
	if r, ok := x.Refusing(between, now); !ok || r.ID != "b" {
		t.Fatalf("a second revocation moves the cut-off forward: %v %v", r, ok)
	}
	if _, ok := x.Refusing(between, later.ExpiresAt); ok {
		t.Fatal("an expired revocation still refuses")
	}
	if got := x.Active("u", now); len(got) != 2 || got[0].ID != "b" {
		t.Fatalf("active %+v, want the latest first", got)
	}
	if x.Merge(nil, first.ExpiresAt).Len() != 1 {
		t.Fatal("a merge keeps an expired revocation")
	}
}

// benchRevocations are 10,000 revocations recorded at now, one per user.
func benchRevocations(b *testing.B, now time.Time) []domain.Revocation {
	revs := make([]domain.Revocation, 10_000)
	for i := range revs {
		r, err := domain.NewRevocation(fmt.Sprintf("rev-%d", i), domain.RevocationRequest{UserID: fmt.Sprintf("user_%d", i), OrgID: "org_1"}, now, 24*time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		revs[i] = r
	}
	return revs
}

// BenchmarkRevocationLookup measures the check every grant makes against
// 10,000 active revocations: a caller who is not revoked (the usual case),
// and one who is.
func BenchmarkRevocationLookup(b *testing.B) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	revs := benchRevocations(b, now)
	x := domain.NewRevocationIndex(revs)
	iat := now.Add(-time.Minute)
	for _, bc := range []struct {
		name string
		p    domain.Principal
		want bool
	}{
		{"not revoked", domain.Principal{UserID: "user_other", OrgID: "org_1", IssuedAt: iat}, false},
		{"revoked", domain.Principal{UserID: "user_5000", OrgID: "org_1", IssuedAt: iat}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := x.Refusing(bc.p, now); ok != bc.want {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}

// TestRevocationIndexMergeKeepsTheLaterCopy: a revocation that a full
// sync brings again replaces the index's copy, with or without other
// revocations beside it.
func TestRevocationIndexMergeKeepsTheLaterCopy(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	a, _ := domain.NewRevocation("a", domain.RevocationRequest{UserID: "u", OrgID: "o", Reason: "first"}, now, time.Hour)
	again := a
	again.Reason = "again"
	b, _ := domain.NewRevocation("b", domain.RevocationRequest{UserID: "v", AllOrganizations: true}, now, time.Hour)
	x := domain.NewRevocationIndex([]domain.Revocation{a, b}).Merge([]domain.Revocation{again, again}, now)
	if x.Len() != 2 {
		t.Fatalf("holds %d, want 2", x.Len())
	}
	if got, _ := x.Get("a"); got != again {
		t.Fatalf("Get(a) = %+v, want the later copy", got)
	}
	if got, ok := x.Get("b"); !ok || got != b {
		t.Fatalf("Get(b) = %+v %v", got, ok)
	}
	if got := domain.NewRevocationIndex([]domain.Revocation{a, again}); got.Len() != 1 {
		t.Fatalf("two with one id make %d", got.Len())
	} else if r, _ := got.Get("a"); r != again {
		t.Fatalf("NewRevocationIndex kept %+v, want the later", r)
	}
}

func TestRevocationIndexWith(t *testing.T) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	a, _ := domain.NewRevocation("a", domain.RevocationRequest{UserID: "u", OrgID: "o1"}, now, time.Hour)
	b, _ := domain.NewRevocation("b", domain.RevocationRequest{UserID: "u", OrgID: "o2"}, now, time.Hour)
	x := domain.NewRevocationIndex([]domain.Revocation{a})
	if x.With([]domain.Revocation{a}) != x {
		t.Fatal("adding what the index holds makes a new index")
	}
	y := x.With([]domain.Revocation{b, b})
	stale := domain.Principal{UserID: "u", OrgID: "o2", IssuedAt: now}
	if y.Len() != 2 || x.Len() != 1 {
		t.Fatalf("lens %d and %d", y.Len(), x.Len())
	}
	if _, ok := x.Refusing(stale, now); ok {
		t.Fatal("With changed the index it was called on")
	}
	if _, ok := y.Refusing(stale, now); !ok {
		t.Fatal("the new index does not refuse")
	}
}

// TestRevocationIndexGrowsOneByOne records revocations one at a time, as
// a replica does, across the points where the added ones are folded into
// the base: every index sees exactly what was added up to it.
func TestRevocationIndexGrowsOneByOne(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	const n = 700
	revs := make([]domain.Revocation, n)
	steps := make([]*domain.RevocationIndex, n+1)
	steps[0] = domain.NewRevocationIndex(nil)
	for i := range revs {
		r, err := domain.NewRevocation(fmt.Sprintf("rev-%d", i), domain.RevocationRequest{UserID: fmt.Sprintf("user_%d", i%300), OrgID: fmt.Sprintf("org_%d", i)}, now, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		revs[i] = r
		steps[i+1] = steps[i].With([]domain.Revocation{r})
	}
	iat := now.Add(-time.Second)
	for _, k := range []int{0, 1, 64, 65, 66, 300, n} {
		x := steps[k]
		if x.Len() != k {
			t.Fatalf("index after %d records holds %d", k, x.Len())
		}
		for i, r := range revs {
			p := domain.Principal{UserID: r.UserID, OrgID: r.OrgID, IssuedAt: iat}
			got, refused := x.Refusing(p, now)
			if refused != (i < k) || (refused && got.ID != r.ID) {
				t.Fatalf("index after %d records: revocation %d refused=%v (%s)", k, i, refused, got.ID)
			}
			if _, ok := x.Get(r.ID); ok != (i < k) {
				t.Fatalf("index after %d records: Get(%s)=%v", k, r.ID, ok)
			}
		}
		if got := len(x.Active("", now)); got != k {
			t.Fatalf("index after %d records lists %d active", k, got)
		}
	}
	if got := len(steps[n].Active("user_7", now)); got != 3 {
		t.Fatalf("user_7 has %d active revocations, want 3", got)
	}
}

// BenchmarkRevocationRecord measures adding 10,000 revocations one at a
// time to a replica's index, as the admin API records them.
func BenchmarkRevocationRecord(b *testing.B) {
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	revs := benchRevocations(b, now)
	b.ReportAllocs()
	for b.Loop() {
		x := domain.NewRevocationIndex(nil)
		for _, r := range revs {
			x = x.With([]domain.Revocation{r})
		}
		if x.Len() != len(revs) {
			b.Fatal("lost revocations")
		}
	}
}
