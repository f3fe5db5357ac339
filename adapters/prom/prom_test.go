package prom_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/memorylimit"
	"github.com/gatepass/gatepass/adapters/prom"
	"github.com/gatepass/gatepass/adapters/redislimit"
	"github.com/gatepass/gatepass/domain"
)

func TestLimiterCountsRejectionsAndStoreErrors(t *testing.T) {
	m := prom.New()
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	one := domain.Limit{Scope: domain.LimitScopeOf(domain.GrantOffice), Rate: 1, Period: time.Hour, Burst: 1}
	l := m.RateLimiter(memorylimit.New(nil, 0), logger, time.Hour)
	for range 3 {
		l.Allow(context.Background(), "office:user_1", one)
	}
	if got := testutil.ToFloat64(m.RateLimitRejections(domain.LimitScopeOf(domain.GrantOffice))); got != 2 {
		t.Fatalf("rejections = %v, want 2", got)
	}

	dead, closeFn, err := redislimit.NewFromURL("redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	d := m.RateLimiter(dead, logger, time.Hour)
	for range 3 {
		if _, err := d.Allow(context.Background(), "office:user_1", one); !errors.Is(err, domain.ErrLimiterUnavailable) {
			t.Fatalf("err = %v", err)
		}
	}
	if got := testutil.ToFloat64(m.LimiterErrors()); got != 3 {
		t.Fatalf("limiter errors = %v, want 3", got)
	}
	if n := strings.Count(logs.String(), `msg="rate limiter unavailable"`); n != 1 {
		t.Fatalf("logged %d times in one interval, want once:\n%s", n, logs.String())
	}
}

func TestSignerLatencyIsObserved(t *testing.T) {
	m := prom.New()
	s, err := jwtsigner.NewRealtimeSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	_, err = m.RealtimeSigner(s).SignRealtime(context.Background(), domain.RealtimeClaims{
		Registered: domain.Registered{Issuer: "i", Subject: "s", Audience: "authenticated", ID: "j", IssuedAt: now, ExpiresAt: now.Add(time.Hour)},
		Role:       "authenticated",
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.Registry(), "gatepass_signer_duration_seconds"); n != 1 {
		t.Fatalf("signer histogram series = %d", n)
	}
	m.IdentityRefresh(nil)
	m.IdentityRefresh(errors.New("boom"))
	if n := testutil.CollectAndCount(m.Registry(), "gatepass_identity_key_refreshes_total"); n != 2 {
		t.Fatalf("refresh series = %d", n)
	}
}
