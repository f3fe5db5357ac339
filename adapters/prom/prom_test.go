package prom_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatepass/gatepass/adapters/memorylimit"
	"github.com/gatepass/gatepass/adapters/prom"
	"github.com/gatepass/gatepass/adapters/redislimit"
	"github.com/gatepass/gatepass/domain"
)

func TestLimiterCountsRejectionsAndStoreErrors(t *testing.T) {
	m := prom.New()
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	one := domain.Limit{Budget: domain.BudgetOf(domain.GrantOffice), Rate: 1, Period: time.Hour, Burst: 1}
	l := m.RateLimiter(memorylimit.New(nil, 0), logger, time.Hour)
	for range 3 {
		l.Allow(context.Background(), "office:user_1", one)
	}
	if got := testutil.ToFloat64(m.RateLimitRejections(domain.BudgetOf(domain.GrantOffice))); got != 2 {
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
	m.MeterSignatures(domain.GrantRealtime)(3*time.Millisecond, nil)
	if got := series(t, m, "gatepass_signer_duration_seconds"); got["kind=realtime"] != 1 || got["kind=office"] != 0 {
		t.Fatalf("signer observations = %v, want one realtime", got)
	}
	m.IdentityRefresh(nil)
	m.IdentityRefresh(errors.New("boom"))
	m.IdentityRefresh(errors.New("boom"))
	if got := series(t, m, "gatepass_identity_key_refreshes_total"); got["result=ok"] != 1 || got["result=error"] != 2 {
		t.Fatalf("refreshes = %v", got)
	}
}

// TestEverySignerIsMeteredAlike: the one meter times every kind's
// signatures under its kind label and counts their failures; nothing else.
func TestEverySignerIsMeteredAlike(t *testing.T) {
	for _, kind := range domain.GrantKinds() {
		t.Run(kind.String(), func(t *testing.T) {
			m := prom.New()
			observe := m.MeterSignatures(kind)
			observe(time.Millisecond, nil)
			observe(time.Millisecond, errors.New("boom"))
			label := "kind=" + kind.String()
			durations, failures := series(t, m, "gatepass_signer_duration_seconds"), series(t, m, "gatepass_signer_errors_total")
			for l := range durations {
				if want := map[bool]float64{true: 2, false: 0}[l == label]; durations[l] != want || failures[l] != want/2 {
					t.Errorf("%s: %v signatures and %v failures, want %v and %v", l, durations[l], failures[l], want, want/2)
				}
			}
		})
	}
}

// series is the value of every series of the metric name in m's registry,
// by its labels written name=value,... in label order.
func series(t *testing.T, m *prom.Metrics, name string) map[string]float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := s.GetCounter().GetValue() + s.GetGauge().GetValue() + float64(s.GetHistogram().GetSampleCount())
			out[strings.Join(labels, ",")] = v
		}
	}
	return out
}

// TestCountersExistAtZeroBeforeTheFirstEvent: an alert on a counter's
// rate needs its series before anything happened.
func TestCountersExistAtZeroBeforeTheFirstEvent(t *testing.T) {
	m := prom.New()
	m.Declare(prom.Labels{GrantResults: []string{"issued", "internal"}, AuthFailureReasons: []string{"expired", "no_organization"}})
	want := map[string][]string{
		"gatepass_signer_errors_total":           nil,
		"gatepass_identity_key_refreshes_total":  {"result=ok", "result=error"},
		"gatepass_identity_cache_requests_total": {"result=hit", "result=miss"},
		"gatepass_auth_failures_total":           {"reason=expired", "reason=no_organization"},
		"gatepass_rate_limit_rejections_total":   {"limit=authfail"},
	}
	for _, k := range domain.GrantKinds() {
		// Every kind's signer is metered, so every kind has its series.
		want["gatepass_signer_errors_total"] = append(want["gatepass_signer_errors_total"], "kind="+k.String())
		want["gatepass_rate_limit_rejections_total"] = append(want["gatepass_rate_limit_rejections_total"], "limit="+k.String())
		for _, r := range []string{"issued", "internal"} {
			want["gatepass_grants_total"] = append(want["gatepass_grants_total"], "kind="+k.String()+",result="+r)
		}
	}
	for name, labels := range want {
		got := series(t, m, name)
		if len(got) != len(labels) {
			t.Errorf("%s: %d series %v, want %d %v", name, len(got), got, len(labels), labels)
		}
		for _, l := range labels {
			if v, ok := got[l]; !ok || v != 0 {
				t.Errorf("%s{%s} = %v (present %v), want 0", name, l, v, ok)
			}
		}
	}
	if v := testutil.ToFloat64(m.LimiterErrors()); v != 0 {
		t.Errorf("limiter errors = %v", v)
	}
	m.AuthFailure("expired")
	m.AuthFailure("expired")
	if got := series(t, m, "gatepass_auth_failures_total")["reason=expired"]; got != 2 {
		t.Errorf("auth failures{expired} = %v, want 2", got)
	}
}

func TestIdentityKeyGauges(t *testing.T) {
	m := prom.New()
	if got := series(t, m, "gatepass_identity_keys_loaded")[""]; got != 0 {
		t.Fatalf("keys loaded before any source = %v", got)
	}
	if got := series(t, m, "gatepass_identity_keys_last_refresh_timestamp_seconds")[""]; got != 0 {
		t.Fatalf("last refresh before any = %v", got)
	}
	n := 0
	m.IdentityKeys(func(context.Context) int { return n })
	n = 3
	if got := series(t, m, "gatepass_identity_keys_loaded")[""]; got != 3 {
		t.Fatalf("keys loaded = %v, want 3 (asked at scrape)", got)
	}
	before := time.Now()
	m.IdentityRefresh(errors.New("down"))
	if got := series(t, m, "gatepass_identity_keys_last_refresh_timestamp_seconds")[""]; got != 0 {
		t.Fatalf("a failed refresh set the last refresh time: %v", got)
	}
	m.IdentityRefresh(nil)
	got := series(t, m, "gatepass_identity_keys_last_refresh_timestamp_seconds")[""]
	if got < float64(before.Unix()) || got > float64(time.Now().Unix()+1) {
		t.Fatalf("last refresh = %v, want about %d", got, before.Unix())
	}
	m.IdentityCacheLookup(true)
	m.IdentityCacheLookup(false)
	m.IdentityCacheLookup(false)
	if c := series(t, m, "gatepass_identity_cache_requests_total"); c["result=hit"] != 1 || c["result=miss"] != 2 {
		t.Fatalf("cache lookups = %v", c)
	}
}

func TestInfoMetrics(t *testing.T) {
	m := prom.New()
	build := series(t, m, "gatepass_build_info")
	if len(build) != 1 {
		t.Fatalf("build info series = %v, want one", build)
	}
	for labels, v := range build {
		if v != 1 || !strings.Contains(labels, "goversion=go1.") || !strings.Contains(labels, "commit=") || !strings.Contains(labels, "version=") {
			t.Fatalf("gatepass_build_info{%s} = %v", labels, v)
		}
	}
	m.SigningKey("old", "RS256", "go")
	m.SigningKey("kid-1", "ES256", "pkcs11")
	keys := series(t, m, "gatepass_signing_key_info")
	if len(keys) != 1 || keys["algorithm=ES256,kid=kid-1,signer=pkcs11"] != 1 {
		t.Fatalf("signing key info = %v, want only the last key", keys)
	}
}
