package deploy_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// notExportedByGatepass are the metrics the alert rules may name that
// Prometheus (up) and kube-state-metrics make, not gatepass.
var notExportedByGatepass = []string{"up", "kube_deployment_status_replicas_available", "kube_deployment_spec_replicas"}

// names is every sample name of a scrape.
func names(m kit.Metrics) []string {
	var out []string
	for _, s := range m {
		if !slices.Contains(out, s.Name) {
			out = append(out, s.Name)
		}
	}
	return out
}

// series is the value of the one series called name with exactly labels
// (alternating names and values), and whether it exists.
func series(m kit.Metrics, name string, labels ...string) (float64, bool) {
	for _, s := range m {
		if s.Name != name || len(s.Labels) != len(labels)/2 {
			continue
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && s.Labels[labels[i]] == labels[i+1]
		}
		if match {
			return s.Value, true
		}
	}
	return 0, false
}

// TestCountersAreExportedAtZeroBeforeTheFirstEvent: a fresh gatepass
// exports every counter series of its known label values at zero, and the
// information an on-call engineer looks for first.
func TestCountersAreExportedAtZeroBeforeTheFirstEvent(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t)
	start := time.Now()
	m := kit.Scrape(t, s.AdminURL+"/metrics")

	kinds := []string{"office", "realtime", "livekit", "centrifugo_connection", "centrifugo_subscription", "nats"}
	zero := [][]string{
		{"gatepass_rate_limiter_errors_total"},
		{"gatepass_identity_key_refreshes_total", "result", "error"},
		{"gatepass_identity_cache_requests_total", "result", "hit"},
		{"gatepass_identity_cache_requests_total", "result", "miss"},
		{"gatepass_signer_errors_total", "kind", "office"},
		{"gatepass_signer_errors_total", "kind", "realtime"},
		{"gatepass_rate_limit_rejections_total", "limit", "authfail"},
	}
	for _, kind := range kinds {
		zero = append(zero, []string{"gatepass_rate_limit_rejections_total", "limit", kind})
		for _, result := range []string{"issued", "invalid_token", "identity_unavailable", "rate_limited", "internal", "no_organization"} {
			zero = append(zero, []string{"gatepass_grants_total", "kind", kind, "result", result})
		}
	}
	for _, reason := range []string{
		"malformed", "malformed_claim", "missing_claim", "expired", "not_yet_valid", "issued_in_future", "wrong_issuer",
		"wrong_audience", "wrong_type", "unknown_key", "bad_signature", "algorithm_not_allowed", "forbidden_header",
		"missing_credentials", "no_organization", "organization_mismatch",
	} {
		zero = append(zero, []string{"gatepass_auth_failures_total", "reason", reason})
	}
	for _, z := range zero {
		if v, ok := series(m, z[0], z[1:]...); !ok || v != 0 {
			t.Errorf("%s%v = %v (exported: %v), want 0 before any event", z[0], z[1:], v, ok)
		}
	}

	// The identity keys came at start.
	if v, ok := series(m, "gatepass_identity_key_refreshes_total", "result", "ok"); !ok || v < 1 {
		t.Errorf("gatepass_identity_key_refreshes_total{result=ok} = %v, want at least 1", v)
	}
	if v, _ := series(m, "gatepass_identity_keys_loaded"); v != 1 {
		t.Errorf("gatepass_identity_keys_loaded = %v, want the provider's 1 key", v)
	}
	if v, _ := series(m, "gatepass_identity_keys_last_refresh_timestamp_seconds"); v < float64(start.Add(-time.Minute).Unix()) || v > float64(time.Now().Unix()+1) {
		t.Errorf("gatepass_identity_keys_last_refresh_timestamp_seconds = %v, want about %d", v, start.Unix())
	}
	// The signing key is the office key gatepass publishes.
	jwks := kit.Get(t, s.URL+"/.well-known/jwks.json").JSON(t)
	kid := jwks["keys"].([]any)[0].(map[string]any)["kid"].(string)
	found := false
	for _, smp := range m {
		if smp.Name == "gatepass_signing_key_info" {
			found = true
			if smp.Labels["kid"] != kid || smp.Labels["algorithm"] != "RS256" || smp.Value != 1 ||
				!slices.Contains([]string{"go", "openssl"}, smp.Labels["signer"]) {
				t.Errorf("gatepass_signing_key_info%v = %v, want kid %s, RS256, signer go or openssl", smp.Labels, smp.Value, kid)
			}
		}
	}
	if !found {
		t.Error("no gatepass_signing_key_info")
	}
	for _, smp := range m {
		if smp.Name == "gatepass_build_info" {
			if smp.Value != 1 || !strings.HasPrefix(smp.Labels["goversion"], "go1.") || smp.Labels["version"] == "" || smp.Labels["commit"] == "" {
				t.Errorf("gatepass_build_info%v = %v", smp.Labels, smp.Value)
			}
		}
	}
	if !m.Has("gatepass_build_info") {
		t.Error("no gatepass_build_info")
	}

	// Events move the counters: a grant twice (verified, then from the
	// cache), and an expired token.
	alice := s.IDP.Token(t, "user_alice", "org_1", "member", 10*time.Minute)
	for range 2 {
		kit.WantStatus(t, "office grant", kit.Post(t, s.URL+kit.OfficePath, kit.Bearer(alice)), http.StatusOK)
	}
	expired := s.IDP.Token(t, "user_bob", "org_1", "member", -time.Hour)
	kit.WantProblem(t, "expired token", kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer(expired)), http.StatusUnauthorized, "invalid_token")
	m = kit.Scrape(t, s.AdminURL+"/metrics")
	for _, want := range []struct {
		name   string
		labels []string
		value  float64
	}{
		{"gatepass_grants_total", []string{"kind", "office", "result", "issued"}, 2},
		{"gatepass_grants_total", []string{"kind", "realtime", "result", "invalid_token"}, 1},
		{"gatepass_auth_failures_total", []string{"reason", "expired"}, 1},
		{"gatepass_identity_cache_requests_total", []string{"result", "hit"}, 1},
		{"gatepass_identity_cache_requests_total", []string{"result", "miss"}, 2},
	} {
		if v, _ := series(m, want.name, want.labels...); v != want.value {
			t.Errorf("%s%v = %v, want %v", want.name, want.labels, v, want.value)
		}
	}
}

// TestDashboardAndRulesNameOnlyExportedMetrics scrapes a real gatepass
// that has served a grant and a refusal, and checks that every query of
// the dashboard names only metrics it exports, and every alert rule only
// those, its own recording rules, up and kube-state-metrics'. promtool
// parses every dashboard query.
func TestDashboardAndRulesNameOnlyExportedMetrics(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t)
	alice := s.IDP.Token(t, "user_alice", "org_1", "member", 10*time.Minute)
	kit.WantStatus(t, "office grant", kit.Post(t, s.URL+kit.OfficePath, kit.Bearer(alice)), http.StatusOK)
	kit.WantStatus(t, "realtime grant", kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer(alice)), http.StatusOK)
	exported := names(kit.Scrape(t, s.AdminURL+"/metrics"))

	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Fatalf("dashboard has no uid or title")
	}
	queries := d.queries()
	if len(queries) < 10 {
		t.Fatalf("dashboard has %d panels with queries, want the whole picture", len(queries))
	}
	used := map[string]bool{}
	type record struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var records []record
	for title, qs := range queries {
		for i, q := range qs {
			for _, name := range metricNames(q) {
				used[name] = true
				if !slices.Contains(exported, name) {
					t.Errorf("dashboard panel %q queries %s, which gatepass does not export: %s", title, name, q)
				}
			}
			records = append(records, record{Record: fmt.Sprintf("dashboard:panel_%d:%d", len(records), i), Expr: grafanaVariables.Replace(q)})
		}
	}
	for _, want := range []string{
		"gatepass_grants_total", "gatepass_auth_failures_total", "gatepass_identity_keys_loaded",
		"gatepass_identity_keys_last_refresh_timestamp_seconds", "gatepass_signing_key_info", "gatepass_build_info",
		"gatepass_identity_cache_requests_total", "gatepass_rate_limiter_errors_total", "gatepass_signer_errors_total",
	} {
		if !used[want] {
			t.Errorf("the dashboard never shows %s", want)
		}
	}
	dir := t.TempDir()
	writeRuleFile(t, dir, "dashboard.rules.yml", map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": records}}})
	runPromtool(t, dir, "check", "rules", "dashboard.rules.yml")

	rules := loadRules(t)
	var recorded []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded = append(recorded, r.Record)
			}
		}
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			for _, name := range metricNames(r.Expr) {
				if !slices.Contains(exported, name) && !slices.Contains(recorded, name) && !slices.Contains(notExportedByGatepass, name) {
					t.Errorf("rule %s%s names %s, which gatepass does not export", r.Alert, r.Record, name)
				}
			}
			for _, sel := range []string{`route=~"/api/v1/.+|/oauth2/token"`} {
				if strings.Contains(r.Expr, "route=") && !strings.Contains(r.Expr, sel) {
					t.Errorf("rule %s%s selects routes otherwise than %s", r.Alert, r.Record, sel)
				}
			}
		}
	}
	// The grant routes the rules select are the ones gatepass serves.
	for _, route := range []string{kit.OfficePath, kit.RealtimePath} {
		if !strings.HasPrefix(route, "/api/v1/") {
			t.Errorf("grant route %s is not under /api/v1/, which the SLO rules select with /oauth2/token", route)
		}
		if v := kit.Scrape(t, s.AdminURL+"/metrics").Sum("gatepass_http_request_duration_seconds_count", "route", route, "code", strconv.Itoa(http.StatusOK)); v != 1 {
			t.Errorf("requests of %s counted %v, want 1", route, v)
		}
	}
}
