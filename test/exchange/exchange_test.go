// Package exchange_test drives gatepass's OAuth 2.0 front door, RFC 8693
// token exchange and RFC 8414 metadata, served in process; what the binary
// itself says or refuses at start runs against the real binary.
package exchange_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

const (
	grantType  = "urn:ietf:params:oauth:grant-type:token-exchange"
	accessType = "urn:ietf:params:oauth:token-type:access_token"
	jwtType    = "urn:ietf:params:oauth:token-type:jwt"
	lkURL      = "ws://127.0.0.1:7880"
	cfURL      = "ws://127.0.0.1:8000/connection/websocket"
)

// transports enables LiveKit and Centrifugo with loopback addresses; the
// servers themselves are not needed to mint their tokens.
func transports(over map[string]string) map[string]string {
	return kit.With(map[string]string{
		"LIVEKIT_URL": lkURL, "LIVEKIT_API_KEY": "lk-key", "LIVEKIT_API_SECRET": strings.Repeat("l", 40),
		"CENTRIFUGO_URL": cfURL, "PUBLIC_BASE_URL": "https://gatepass.test.example",
	}, over)
}

func exchange(t *testing.T, base string, form url.Values) kit.Response {
	t.Helper()
	return kit.Post(t, base+"/oauth2/token", kit.Body("application/x-www-form-urlencoded", strings.NewReader(form.Encode())))
}

func form(subject, audience, scope string) url.Values {
	f := url.Values{"grant_type": {grantType}, "subject_token": {subject}, "subject_token_type": {accessType}, "audience": {audience}}
	if scope != "" {
		f.Set("scope", scope)
	}
	return f
}

// wantOAuthError checks an RFC 6749 error answer: status, code, no-store,
// and no echo of the subject token.
func wantOAuthError(t *testing.T, what string, r kit.Response, status int, code, subject string) {
	t.Helper()
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if r.Status != status || json.Unmarshal(r.Body, &body) != nil || body.Error != code || body.Description == "" {
		t.Fatalf("%s: %s, want %d %s", what, r, status, code)
	}
	if r.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%s: headers %v", what, r.Header)
	}
	if subject != "" && strings.Contains(string(r.Body), subject) {
		t.Fatalf("%s: the subject token is echoed", what)
	}
}

// sameClaims compares two tokens' claims but for those that name the token
// itself (jti) or its time.
func sameClaims(t *testing.T, what, exchanged, dedicated string) {
	t.Helper()
	a, b := kit.PayloadOf(t, exchanged), kit.PayloadOf(t, dedicated)
	for _, m := range []map[string]any{a, b} {
		delete(m, "jti")
		delete(m, "iat")
		delete(m, "nbf")
		delete(m, "exp")
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("%s: exchanged claims %s, dedicated %s", what, ja, jb)
	}
}

func TestEveryAudience(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t, transports(nil))
	bearer := s.IDP.Token(t, "user_x", "org_x", "member", time.Hour)
	tests := []struct {
		name, audience, scope, path, body string
		tokenField, urlField, wantURL     string
	}{
		{name: "office-router", audience: "office-router", path: kit.OfficePath, tokenField: "token", urlField: "url", wantURL: kit.OfficeURL},
		{name: "supabase-realtime", audience: "supabase-realtime", path: kit.RealtimePath, tokenField: "token"},
		{name: "livekit", audience: "livekit", scope: "room:standup", path: "/api/v1/livekit/token", body: `{"room_name":"standup"}`,
			tokenField: "participant_token", urlField: "server_url", wantURL: lkURL},
		{name: "centrifugo connection", audience: "centrifugo", path: "/api/v1/centrifugo/connection-token", tokenField: "token",
			urlField: "url", wantURL: cfURL},
		{name: "centrifugo subscription", audience: "centrifugo", scope: "channel:org:org_x", path: "/api/v1/centrifugo/subscription-token",
			body: `{"channel":"org:org_x"}`, tokenField: "token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := exchange(t, s.URL, form(bearer, tt.audience, tt.scope))
			if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" {
				t.Fatalf("exchange: %s %v", r, r.Header)
			}
			got := r.JSON(t)
			if got["issued_token_type"] != jwtType || got["token_type"] != "N_A" || got["expires_in"].(float64) < 1 {
				t.Fatalf("answer %v", got)
			}
			if tt.urlField != "" && got[tt.urlField] != tt.wantURL {
				t.Fatalf("%s = %v, want %s", tt.urlField, got[tt.urlField], tt.wantURL)
			}
			opts := []kit.Option{kit.Bearer(bearer)}
			if tt.body != "" {
				opts = append(opts, kit.JSONBody(tt.body))
			}
			dedicated := kit.Post(t, s.URL+tt.path, opts...).JSON(t)
			sameClaims(t, tt.name, got["access_token"].(string), dedicated[tt.tokenField].(string))
		})
	}
	m := kit.Scrape(t, s.AdminURL+"/metrics")
	if m.Sum("gatepass_http_request_duration_seconds_count", "route", "/oauth2/token") < 5 ||
		m.Sum("gatepass_grants_total", "kind", "livekit", "result", "issued") < 2 {
		t.Fatal("the exchanges are not in the metrics under their route and grant kind")
	}
	if strings.Contains(s.Logs(), bearer) {
		t.Fatal("a subject token is in the logs")
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t, transports(map[string]string{"RATE_LIMIT_AUTH_FAILURE_RATE": "1", "RATE_LIMIT_AUTH_FAILURE_PERIOD": "1h",
		"RATE_LIMIT_AUTH_FAILURE_BURST": "3"}))
	member := s.IDP.Token(t, "user_m", "org_m", "member", time.Hour)
	loner := s.IDP.Token(t, "user_l", "", "", time.Hour)
	dotted := s.IDP.Token(t, "user_d", "org.d", "member", time.Hour)

	r := kit.Post(t, s.URL+"/oauth2/token", kit.JSONBody(`{"grant_type":"`+grantType+`"}`))
	wantOAuthError(t, "JSON body", r, 400, "invalid_request", "")
	big := form(member, "office-router", "")
	big.Set("padding", strings.Repeat("p", 17<<10))
	wantOAuthError(t, "oversized body", exchange(t, s.URL, big), 413, "invalid_request", member)
	wantOAuthError(t, "no grant type", exchange(t, s.URL, url.Values{"subject_token": {member}}), 400, "unsupported_grant_type", member)
	wantOAuthError(t, "unknown audience", exchange(t, s.URL, form(member, "billing", "")), 400, "invalid_target", member)
	wantOAuthError(t, "bad room", exchange(t, s.URL, form(member, "livekit", "room:a/b")), 400, "invalid_scope", member)
	wantOAuthError(t, "no organization", exchange(t, s.URL, form(loner, "office-router", "")), 400, "invalid_target", loner)
	wantOAuthError(t, "another organization's channel", exchange(t, s.URL, form(member, "centrifugo", "channel:org:org_other")), 400, "invalid_target", member)
	wantOAuthError(t, "an id that cannot name a room", exchange(t, s.URL, form(dotted, "livekit", "room:r")), 400, "invalid_target", dotted)

	// A subject token that fails verification is invalid_request and spends
	// the address's failure budget, as on the bearer endpoints.
	bad := s.IDP.Token(t, "user_m", "org_m", "member", -time.Hour)
	for i := range 3 {
		wantOAuthError(t, "expired subject token #"+strconv.Itoa(i+1), exchange(t, s.URL, form(bad, "office-router", "")), 400, "invalid_request", bad)
	}
	r = exchange(t, s.URL, form(bad, "office-router", ""))
	wantOAuthError(t, "past the failure budget", r, 429, "rate_limited", bad)
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// A valid caller behind the same address is still served.
	if r := exchange(t, s.URL, form(member, "office-router", "")); r.Status != 200 {
		t.Fatalf("valid caller after the budget was spent: %s", r)
	}
}

// TestSameBudget: a grant through the exchange spends the budget of the
// dedicated endpoint.
func TestSameBudget(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t, transports(map[string]string{"RATE_LIMIT_OFFICE_RATE": "1", "RATE_LIMIT_OFFICE_PERIOD": "1h", "RATE_LIMIT_OFFICE_BURST": "2"}))
	bearer := s.IDP.Token(t, "user_b", "org_b", "member", time.Hour)
	if r := exchange(t, s.URL, form(bearer, "office-router", "")); r.Status != 200 {
		t.Fatalf("first grant: %s", r)
	}
	if r := kit.Post(t, s.URL+kit.OfficePath, kit.Bearer(bearer)); r.Status != 200 {
		t.Fatalf("second grant: %s", r)
	}
	wantOAuthError(t, "third grant", exchange(t, s.URL, form(bearer, "office-router", "")), 429, "rate_limited", bearer)
	kit.WantProblem(t, "fourth grant", kit.Post(t, s.URL+kit.OfficePath, kit.Bearer(bearer)), 429, "rate_limited")
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	t.Run("configured", func(t *testing.T) {
		t.Parallel()
		s := inproc.ServeService(t, transports(map[string]string{"PUBLIC_BASE_URL": "https://gatepass.test.example/"}))
		m := kit.Get(t, s.URL+"/.well-known/oauth-authorization-server").JSON(t)
		want := map[string]any{
			"issuer": "https://gatepass.test.example", "token_endpoint": "https://gatepass.test.example/oauth2/token",
			"jwks_uri": "https://gatepass.test.example/.well-known/jwks.json",
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s = %v, want %v", k, m[k], v)
			}
		}
		got, _ := json.Marshal([]any{m["grant_types_supported"], m["token_endpoint_auth_methods_supported"], m["response_types_supported"], m["gatepass_audiences_supported"]})
		if string(got) != `[["`+grantType+`"],["none"],[],["office-router","supabase-realtime","livekit","centrifugo"]]` {
			t.Fatalf("metadata lists %s", got)
		}
	})
	t.Run("only enabled audiences", func(t *testing.T) {
		t.Parallel()
		s := inproc.ServeService(t, map[string]string{"PUBLIC_BASE_URL": "https://gatepass.test.example"})
		got, _ := json.Marshal(kit.Get(t, s.URL+"/.well-known/oauth-authorization-server").JSON(t)["gatepass_audiences_supported"])
		if string(got) != `["office-router","supabase-realtime"]` {
			t.Fatalf("audiences %s", got)
		}
		bearer := s.IDP.Token(t, "user_x", "org_x", "member", time.Hour)
		wantOAuthError(t, "a disabled audience", exchange(t, s.URL, form(bearer, "livekit", "room:r")), 400, "invalid_target", bearer)
	})
	t.Run("production without a base URL", func(t *testing.T) {
		t.Parallel()
		s := inproc.ServeService(t)
		kit.WantProblem(t, "metadata", kit.Get(t, s.URL+"/.well-known/oauth-authorization-server"), 404, "not_found")
	})
	t.Run("production without a base URL says why at start", func(t *testing.T) {
		t.Parallel()
		// The line is the binary's own start-up log.
		s := kit.StartService(t)
		if !slices.ContainsFunc(s.StartLog(t), func(l kit.LogLine) bool { return strings.Contains(l.Msg, "PUBLIC_BASE_URL") }) {
			t.Fatalf("the start log does not say why the metadata is off:\n%s", s.Logs())
		}
	})
	t.Run("development defaults to the listener", func(t *testing.T) {
		t.Parallel()
		p := inproc.Serve(t, map[string]string{"APP_ENV": "development"})
		m := kit.Get(t, p.URL+"/.well-known/oauth-authorization-server").JSON(t)
		if m["issuer"] != p.URL || m["token_endpoint"] != p.URL+"/oauth2/token" {
			t.Fatalf("development metadata %v, want issuer %s", m, p.URL)
		}
	})
	t.Run("an http base URL off loopback refuses the start", func(t *testing.T) {
		t.Parallel()
		idp := kit.NewIdentityProvider(t)
		_, keyPEM := kit.NewRSAKey(t, 2048)
		_, stderr, err := kit.Run(t, kit.ProductionEnv(idp, keyPEM, map[string]string{"PUBLIC_BASE_URL": "http://gatepass.example.com"}), "serve")
		if err == nil || !strings.Contains(stderr, "PUBLIC_BASE_URL: must be an https:// URL") {
			t.Fatalf("start with an http base URL: %v\n%s", err, stderr)
		}
	})
}

// postForm posts body, already encoded, to the token endpoint.
func postForm(t *testing.T, base, body string) kit.Response {
	t.Helper()
	return kit.Post(t, base+"/oauth2/token", kit.Body("application/x-www-form-urlencoded", strings.NewReader(body)))
}

// manyNames is a form of n distinct parameter names without values, six
// bytes each with its separator.
func manyNames(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("p%04d", i)
	}
	return strings.Join(names, "&")
}

// TestParameterCount: a form of more than 32 parameters, repeats included,
// is refused before it is parsed, and the refusal spends the address's
// failure budget as a bad subject token does; parameters the exchange does
// not know are skipped, however often they are given.
func TestParameterCount(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t, transports(map[string]string{"RATE_LIMIT_AUTH_FAILURE_RATE": "1", "RATE_LIMIT_AUTH_FAILURE_PERIOD": "1h",
		"RATE_LIMIT_AUTH_FAILURE_BURST": "3"}))
	member := s.IDP.Token(t, "user_m", "org_m", "member", time.Hour)

	// The form: 16 KiB of about 2,700 distinct names, and nothing
	// else.
	flood := manyNames(2700)
	if len(flood) < 15<<10 || len(flood) > 16<<10 {
		t.Fatalf("the flood is %d bytes, want about 16 KiB", len(flood))
	}
	// A valid exchange with 29 more parameters: 33 in all.
	padded := form(member, "office-router", "").Encode() + "&" + manyNames(29)
	// The same exchange with 28: 32, and the unknown ones repeated.
	known := form(member, "office-router", "").Encode()
	ignored := known + strings.Repeat("&client_id=a", 14) + strings.Repeat("&x=%zz", 14)

	wantOAuthError(t, "about 2,700 names", postForm(t, s.URL, flood), 400, "invalid_request", "")
	wantOAuthError(t, "33 parameters", postForm(t, s.URL, padded), 400, "invalid_request", member)
	// A parameter given twice is two.
	wantOAuthError(t, "33 with repeats", postForm(t, s.URL, known+strings.Repeat("&audience=office-router", 29)), 400, "invalid_request", member)
	r := postForm(t, s.URL, flood)
	wantOAuthError(t, "past the failure budget", r, 429, "rate_limited", "")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// A valid caller behind the same address is still served, with 32
	// parameters, unknown ones repeated and not even decoded.
	if r := postForm(t, s.URL, ignored); r.Status != http.StatusOK {
		t.Fatalf("32 parameters with unknown names repeated: %s", r)
	}
}

// TestScopeWhiteSpace: ASCII spaces around a scope are trimmed; any other
// white space, anywhere in it, is invalid_scope.
func TestScopeWhiteSpace(t *testing.T) {
	t.Parallel()
	s := inproc.ServeService(t, transports(nil))
	bearer := s.IDP.Token(t, "user_x", "org_x", "member", time.Hour)
	for _, tt := range []struct{ audience, scope string }{
		{"livekit", " room:standup  "},
		{"centrifugo", "  channel:org:org_x "},
		{"office-router", "   "},
	} {
		if r := exchange(t, s.URL, form(bearer, tt.audience, tt.scope)); r.Status != http.StatusOK {
			t.Fatalf("scope %q: %s", tt.scope, r)
		}
	}
	for _, tt := range []struct{ name, audience, scope string }{
		{"no-break space after", "livekit", "room:standup\u00a0"},
		{"ideographic space after", "livekit", "room:standup\u3000"},
		{"no-break space before", "livekit", "\u00a0room:standup"},
		{"tab after", "livekit", "room:standup\t"},
		{"newline after", "livekit", "room:standup\n"},
		{"ideographic space after a channel", "centrifugo", "channel:org:org_x\u3000"},
		{"a no-break space alone", "office-router", "\u00a0"},
		{"a tab alone", "centrifugo", "\t"},
	} {
		wantOAuthError(t, tt.name, exchange(t, s.URL, form(bearer, tt.audience, tt.scope)), 400, "invalid_scope", bearer)
	}
}
