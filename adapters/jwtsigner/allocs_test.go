//go:build !race

// The race detector makes sync.Pool drop items at random: these budgets
// run only without it (`make allocs`).

package jwtsigner

import (
	"context"
	"testing"
	"time"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jwa"
)

// Allocation budgets of one token, Go keys: measured plus a small margin.
// What the key's own Sign allocates is counted too (RSA and ECDSA in
// crypto/*), so the asymmetric budgets follow the standard library; they
// also count golang-jwt's generic encoding (header map, reflection, a
// string per segment), which the HS256 fast path avoids.
var jwsAllocBudget = map[string]float64{
	"HS256 realtime": 2,
	"HS256 livekit":  3,
	jwa.RS256:        28,
	jwa.PS256:        34,
	jwa.ES256:        94,
	jwa.EdDSA:        27,
}

func TestAllocsJWS(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	reg := domain.Registered{Issuer: "gatepass", Subject: "user_01", Audience: "office-router", ID: "jti-0123456789abcdef",
		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Minute)}
	check := func(name string, sign func() error) {
		t.Helper()
		if err := sign(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := testing.AllocsPerRun(200, func() { _ = sign() })
		t.Logf("%s: %.1f allocations per token (budget %.0f)", name, got, jwsAllocBudget[name])
		if got > jwsAllocBudget[name] {
			t.Errorf("%s: %.1f allocations per token, budget %.0f", name, got, jwsAllocBudget[name])
		}
	}

	secret := []byte("a-supabase-secret-of-at-least-32-bytes")
	rs, err := NewRealtimeSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	rc := domain.RealtimeClaims{Registered: reg, Role: "authenticated", App: &domain.AppMetadata{OrgID: "org_01", OrgRole: "member"}}
	check("HS256 realtime", func() error { _, err := rs.SignRealtime(ctx, rc); return err })

	ls, err := NewLiveKitSigner("APIkey", secret)
	if err != nil {
		t.Fatal(err)
	}
	lc := domain.LiveKitClaims{Registered: domain.Registered{Issuer: "APIkey", Subject: "user_01", ID: "j", IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Hour)},
		Name: "Ann", Attributes: domain.LiveKitAttributes{UserID: "user_01", OrgID: "org_01", Role: "member", Others: map[string]string{"team": "blue", "org": "org_01"}},
		Video: domain.LiveKitVideoGrant{Room: "org_01/standup", Rights: domain.LiveKitRights{CanPublish: true, CanSubscribe: true}}}
	check("HS256 livekit", func() error { _, err := ls.SignLiveKit(ctx, lc); return err })

	keys := keysByAlgorithm(t)
	oc := domain.OfficeClaims{Registered: reg, UserID: "user_01", OrgID: "org_01", Role: "member"}
	for _, alg := range jwa.Algorithms() {
		s, err := NewOfficeSigner(keys[alg], alg)
		if err != nil {
			t.Fatal(err)
		}
		check(alg, func() error { _, err := s.SignOffice(ctx, oc); return err })
	}
}
