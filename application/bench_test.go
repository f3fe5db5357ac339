package application_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"net/netip"
	"testing"
	"time"

	"github.com/gatepass/gatepass/adapters/cryptorand"
	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/opensslsigner"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// The use-case benchmarks run each use case over the real adapters the
// server wires (signers, token ids, identity verifier), not mocks: they
// measure what a grant costs before HTTP is involved. Rate limits are off,
// as in scripts/bench.sh.

var benchCaller = domain.Principal{UserID: "user_bench", OrgID: "org_bench", Role: "member"}

type benchClock struct{}

func (benchClock) Now() time.Time { return time.Now() }

func benchApp(b *testing.B, office crypto.Signer) *application.Application {
	b.Helper()
	ports := application.Ports{Clock: benchClock{}, IDs: cryptorand.IDs{}}
	rt, err := jwtsigner.NewRealtimeSigner([]byte("a-supabase-jwt-secret-of-at-least-32-bytes"))
	if err != nil {
		b.Fatal(err)
	}
	kinds := []application.GrantRegistration{
		realtimeKind(b, domain.RealtimeSettings{Issuer: "qubital-backend", TTL: time.Hour}, application.ExpiryBoundNone, rt.SignRealtime),
	}
	if office != nil {
		s, err := jwtsigner.NewOfficeSigner(office, "RS256")
		if err != nil {
			b.Fatal(err)
		}
		kinds = append(kinds, officeKind(b, domain.OfficeSettings{Issuer: "gatepass", Audience: "office-router", TTL: time.Minute, URL: "wss://office.example/ws"},
			application.ExpiryBoundNone, s.SignOffice))
	}
	return newApp(b, ports, application.Grants{Kinds: kinds}, application.RateLimitPolicy{})
}

func benchRSAKey(b *testing.B) *rsa.PrivateKey {
	b.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	return key
}

// BenchmarkOfficeGrant mints RS256 office grants with the key in
// Go's crypto/rsa and in OpenSSL's libcrypto.
func BenchmarkOfficeGrant(b *testing.B) {
	key := benchRSAKey(b)
	signers := []struct {
		name string
		new  func() (crypto.Signer, error)
	}{
		{"go", func() (crypto.Signer, error) { return key, nil }},
		{"openssl", func() (crypto.Signer, error) {
			if err := opensslsigner.Available(); err != nil {
				return nil, err
			}
			return opensslsigner.New(key)
		}},
	}
	for _, s := range signers {
		b.Run(s.name, func(b *testing.B) {
			signer, err := s.new()
			if err != nil {
				b.Skipf("%s signer: %v", s.name, err)
			}
			app := benchApp(b, signer)
			ctx := context.Background()
			cmd := application.IssueGrant[domain.OfficeRequest]{Caller: benchCaller}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := officeIssuer(app).Handle(ctx, cmd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRealtimeToken mints HS256 Supabase Realtime tokens.
func BenchmarkRealtimeToken(b *testing.B) {
	app := benchApp(b, nil)
	ctx := context.Background()
	cmd := application.IssueGrant[struct{}]{Caller: benchCaller}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := realtimeIssuer(app).Handle(ctx, cmd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticateCaller verifies an RS256 access token against a
// local key set: every time (uncached), and as the server does by default,
// with verified tokens remembered (cached).
func BenchmarkAuthenticateCaller(b *testing.B) {
	idKey := benchRSAKey(b)
	set, err := devidentity.KeySetJSON(idKey)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := jwksidentity.NewStaticKeys(set)
	if err != nil {
		b.Fatal(err)
	}
	verifier, err := jwksidentity.New(keys, jwksidentity.Options{Issuer: devidentity.Issuer, Algorithms: []string{"RS256"}})
	if err != nil {
		b.Fatal(err)
	}
	cached, err := jwksidentity.NewCached(verifier, 10_000, time.Minute, nil)
	if err != nil {
		b.Fatal(err)
	}
	bearer, err := devidentity.Mint(idKey, devidentity.Identity{UserID: benchCaller.UserID, OrgID: benchCaller.OrgID, Role: benchCaller.Role}, time.Now(), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name     string
		identity domain.IdentityVerifier
	}{{"uncached", verifier}, {"cached", cached}} {
		b.Run(v.name, func(b *testing.B) {
			h := application.NewAuthenticateCallerHandler(v.identity, application.Unlimited())
			ctx := context.Background()
			cmd := application.AuthenticateCaller{Bearer: bearer, ClientIP: netip.MustParseAddr("127.0.0.1")}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Handle(ctx, cmd); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
