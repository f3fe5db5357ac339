package domain

import (
	"fmt"
	"time"
)

// Supabase Realtime: its token is a grant kind any caller may have,
// registered second, after the office-router's.

// GrantRealtime is a Supabase Realtime token.
const GrantRealtime GrantKind = "realtime"

// TransportSupabaseRealtime is Supabase Realtime in a revocation's
// fan-out.
const TransportSupabaseRealtime Transport = "supabase_realtime"

// Supabase Realtime's kind; it has no section of the policy: every
// authenticated caller may have a token.
var _ = registerTransport(1, nil, GrantRealtime)

// RealtimeAudience and RealtimeRole are fixed by Supabase: Realtime and its
// row-level security accept only tokens for the "authenticated" role.
const (
	RealtimeAudience = "authenticated"
	RealtimeRole     = "authenticated"
)

// AppMetadata is the server-controlled part of a Supabase token: the
// caller's organization and its role there.
type AppMetadata struct {
	OrgID   string
	OrgRole string
}

// RealtimeClaims are the claims of a Supabase Realtime token.
type RealtimeClaims struct {
	Registered
	// Role is the Postgres role Supabase assumes: always RealtimeRole.
	Role string
	// App is nil when the caller acts in no organization.
	App *AppMetadata
}

// NewRealtimeClaims builds the Supabase Realtime claims for a caller. The
// audience of the issuance is ignored: Supabase requires RealtimeAudience.
func NewRealtimeClaims(p Principal, in Issuance) (RealtimeClaims, error) {
	in.Audience = RealtimeAudience
	reg, err := newRegistered(p.UserID, in)
	if err != nil {
		return RealtimeClaims{}, err
	}
	c := RealtimeClaims{Registered: reg, Role: RealtimeRole}
	if p.HasOrganization() {
		c.App = &AppMetadata{OrgID: p.OrgID, OrgRole: p.Role}
	}
	return c, nil
}

// Bounds of a Supabase Realtime token's lifetime.
const (
	MinRealtimeTTL = time.Second
	MaxRealtimeTTL = 24 * time.Hour
)

// RealtimeSettings are how Supabase Realtime tokens are minted.
type RealtimeSettings struct {
	Issuer string
	TTL    time.Duration
}

// NewRealtimeSettings checks Supabase Realtime token settings: their
// lifetime within MinRealtimeTTL and MaxRealtimeTTL. Errors are
// *SettingError.
func NewRealtimeSettings(s RealtimeSettings) (RealtimeSettings, error) {
	if err := TTLWithin("TTL", s.TTL, MinRealtimeTTL, MaxRealtimeTTL); err != nil {
		return RealtimeSettings{}, err
	}
	return s, nil
}

// RealtimeDefinition is the Supabase Realtime grant kind: it takes nothing
// beyond the caller, and any authenticated caller may have one (callers
// without an organization get one too, without app_metadata). It refuses
// the settings NewRealtimeSettings refuses, with the same *SettingError.
func RealtimeDefinition(s RealtimeSettings) (GrantDefinition[struct{}, struct{}, RealtimeClaims, Grant], error) {
	s, err := NewRealtimeSettings(s)
	if err != nil {
		return GrantDefinition[struct{}, struct{}, RealtimeClaims, Grant]{}, fmt.Errorf("%s settings: %w", GrantRealtime, err)
	}
	return GrantDefinition[struct{}, struct{}, RealtimeClaims, Grant]{
		kind: GrantRealtime, issuer: s.Issuer, ttl: s.TTL,
		authorize: anyCaller,
		claims:    realtimeClaims,
		result:    realtimeResult,
	}, nil
}

// anyCaller is the authorization of a kind every authenticated caller may
// have.
func anyCaller(PolicyRules, Principal, struct{}) (struct{}, error) { return struct{}{}, nil }

func realtimeClaims(caller Principal, _, _ struct{}, in Issuance) (RealtimeClaims, error) {
	return NewRealtimeClaims(caller, in)
}

func realtimeResult(g Grant, _ RealtimeClaims) Grant { return g }
