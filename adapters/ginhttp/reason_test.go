package ginhttp_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/adapters/prom"
	"github.com/gatepass/gatepass/application"
)

// TestRefusalsLogTheirReason: every 401 and 403 names why in the request's
// log line, from a closed set, and never the token; the metrics count the
// same reason.
func TestRefusalsLogTheirReason(t *testing.T) {
	var logs bytes.Buffer
	m := prom.New()
	m.Declare(prom.Labels{AuthFailureReasons: ginhttp.RefusalReasons()})
	a := newAPIWith(t, application.RateLimitPolicy{}, nil, ginhttp.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Observer: m})
	expired, err := devidentity.Mint(a.idKey, devidentity.Identity{UserID: "user_1", OrgID: "org_1", Role: "member"},
		time.Now().Add(-2*time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, auth string
		wantReason       string
		wantClaim        string
	}{
		{name: "expired token", path: "/api/v1/realtime/token", auth: "Bearer " + expired, wantReason: "expired", wantClaim: "exp"},
		{name: "not a bearer token", path: "/api/v1/realtime/token", auth: "Basic dXNlcjpwYXNz", wantReason: "malformed"},
		{name: "a token that is no JWT", path: "/api/v1/realtime/token", auth: "Bearer abc.def", wantReason: "malformed"},
		{name: "no organization", path: "/api/v1/cloudflare/request-access", auth: "Bearer " + a.bearer(t, ""), wantReason: "no_organization"},
		{name: "issued: no reason", path: "/api/v1/realtime/token", auth: "Bearer " + a.bearer(t, "org_1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			before := authFailures(t, m)
			serve(a.handler, "POST", tt.path, map[string]string{"Authorization": tt.auth})
			var line map[string]any
			for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var m map[string]any
				if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
					line = m
				}
			}
			if line == nil {
				t.Fatalf("no request line in %s", logs.String())
			}
			if got, _ := line["reason"].(string); got != tt.wantReason {
				t.Fatalf("reason %q, want %q: %v", got, tt.wantReason, line)
			}
			if got, _ := line["claim"].(string); got != tt.wantClaim {
				t.Fatalf("claim %q, want %q", got, tt.wantClaim)
			}
			if strings.Contains(logs.String(), "eyJ") {
				t.Fatal("a token is in the log")
			}
			after := authFailures(t, m)
			for reason, n := range after {
				want := before[reason]
				if reason == tt.wantReason {
					want++
				}
				if n != want {
					t.Errorf("gatepass_auth_failures_total{reason=%q} went from %v to %v, want %v", reason, before[reason], n, want)
				}
			}
			if _, declared := before[tt.wantReason]; tt.wantReason != "" && !declared {
				t.Errorf("reason %q was not declared at zero", tt.wantReason)
			}
		})
	}
}

// authFailures is gatepass_auth_failures_total by reason.
func authFailures(t *testing.T, m *prom.Metrics) map[string]float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() == "gatepass_auth_failures_total" {
			for _, s := range f.GetMetric() {
				out[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
			}
		}
	}
	return out
}
