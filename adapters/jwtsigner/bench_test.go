package jwtsigner

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jwa"
)

// BenchmarkSign times one token of each kind with Go keys. Besides ns/op
// it reports cpu-ns/op, the process's CPU time per token, which another
// process sharing the core does not inflate.
func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	reg := domain.Registered{Issuer: "gatepass", Subject: "user_01", Audience: "office-router", ID: "jti-0123456789abcdef",
		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Minute)}
	run := func(name string, sign func() error) {
		b.Run(name, func(b *testing.B) {
			if err := sign(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0 := processCPU(b)
			for b.Loop() {
				if err := sign(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}

	secret := []byte("a-supabase-secret-of-at-least-32-bytes")
	rs, err := NewRealtimeSigner(secret)
	if err != nil {
		b.Fatal(err)
	}
	rc := domain.RealtimeClaims{Registered: reg, Role: "authenticated", App: &domain.AppMetadata{OrgID: "org_01", OrgRole: "member"}}
	run("realtime-HS256", func() error { _, err := rs.SignRealtime(ctx, rc); return err })

	ls, err := NewLiveKitSigner("APIkey", secret)
	if err != nil {
		b.Fatal(err)
	}
	lc := domain.LiveKitClaims{Registered: domain.Registered{Issuer: "APIkey", Subject: "user_01", ID: "j", IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Hour)},
		Name: "Ann", Attributes: domain.LiveKitAttributes{UserID: "user_01", OrgID: "org_01", Role: "member", Others: map[string]string{"team": "blue"}},
		Video: domain.LiveKitVideoGrant{Room: "org_01/standup", Rights: domain.LiveKitRights{CanPublish: true, CanSubscribe: true}}}
	run("livekit-HS256", func() error { _, err := ls.SignLiveKit(ctx, lc); return err })

	keys := keysByAlgorithm(b)
	oc := domain.OfficeClaims{Registered: reg, UserID: "user_01", OrgID: "org_01", Role: "member"}
	for _, alg := range jwa.Algorithms() {
		s, err := NewOfficeSigner(keys[alg], alg)
		if err != nil {
			b.Fatal(err)
		}
		run("office-"+alg, func() error { _, err := s.SignOffice(ctx, oc); return err })
	}
	office, err := NewOfficeSigner(keys[jwa.RS256], jwa.RS256)
	if err != nil {
		b.Fatal(err)
	}
	cs, err := NewCentrifugoSigner(office)
	if err != nil {
		b.Fatal(err)
	}
	conn := domain.CentrifugoConnectionClaims{Registered: reg, Info: domain.CentrifugoInfo{OrgID: "org_01", Role: "member"},
		Channels: []string{"org:org_01", "user:user_01"}}
	run("centrifugo-RS256", func() error { _, err := cs.SignCentrifugoConnection(ctx, conn); return err })
}

// processCPU is the CPU time this process has used, every thread's.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
