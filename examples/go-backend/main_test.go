package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/kit"
)

const adminToken = "go-backend-example-admin-token-0123456789abcdef"

// startGatepass starts the real binary in development mode, with its
// admin API (for revocations), and returns it with its environment.
func startGatepass(t *testing.T) (*kit.Process, map[string]string) {
	t.Helper()
	env := map[string]string{
		"APP_ENV":            "development",
		"DEV_DIR":            t.TempDir(),
		"ADMIN_API_TOKEN":    adminToken,
		"RATE_LIMIT_ENABLED": "false",
	}
	return kit.Start(t, env), env
}

// identity mints a development identity token for user in org.
func identity(t *testing.T, env map[string]string, user, org string) string {
	t.Helper()
	out, stderr, err := kit.Run(t, env, "dev-token", "--user", user, "--org", org, "--role", "member")
	if err != nil {
		t.Fatalf("dev-token: %s", kit.ExitError(err, stderr))
	}
	return strings.TrimSpace(out)
}

// claims decodes a JWT's payload (gatepass's own tests verify signatures).
func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// counting is an http.Client that counts the requests it sends.
func counting() (*http.Client, *atomic.Int32) {
	var n atomic.Int32
	return &http.Client{Timeout: 10 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}, &n
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestExampleExchangesForEveryAudience(t *testing.T) {
	gp, env := startGatepass(t)
	token := identity(t, env, "user_go", "org_go")
	tests := []struct {
		audience, scope string
		wantAud         string
		check           func(t *testing.T, g Grant)
	}{
		{audience: "centrifugo", wantAud: "centrifugo", check: func(t *testing.T, g Grant) {
			if g.URL == "" {
				t.Error("a Centrifugo connection grant names no url")
			}
		}},
		{audience: "livekit", scope: "room:standup", check: func(t *testing.T, g Grant) {
			if g.ServerURL == "" {
				t.Error("a LiveKit grant names no server_url")
			}
			if room := claims(t, g.AccessToken)["video"].(map[string]any)["room"]; room != "org_go/standup" {
				t.Errorf("room %v, want org_go/standup", room)
			}
		}},
		{audience: "nats", check: func(t *testing.T, g Grant) {
			if g.InboxPrefix != "_INBOX.user_go" || len(g.Servers) == 0 {
				t.Errorf("inbox_prefix %q, servers %v", g.InboxPrefix, g.Servers)
			}
		}},
		{audience: "office-router", wantAud: "office-router"},
	}
	for _, tt := range tests {
		t.Run(tt.audience, func(t *testing.T) {
			args := []string{"-gatepass", gp.URL, "-audience", tt.audience}
			if tt.scope != "" {
				args = append(args, "-scope", tt.scope)
			}
			var out bytes.Buffer
			getenv := func(k string) string { return map[string]string{"ACCESS_TOKEN": token}[k] }
			if err := run(context.Background(), args, getenv, &out); err != nil {
				t.Fatal(err)
			}
			var g Grant
			if err := json.Unmarshal(out.Bytes(), &g); err != nil {
				t.Fatalf("the output is not the grant's JSON: %v\n%s", err, out.String())
			}
			if g.IssuedTokenType != "urn:ietf:params:oauth:token-type:jwt" || g.ExpiresIn <= 0 {
				t.Errorf("issued_token_type %q, expires_in %d", g.IssuedTokenType, g.ExpiresIn)
			}
			c := claims(t, g.AccessToken)
			if tt.wantAud != "" && c["aud"] != tt.wantAud {
				t.Errorf("aud %v, want %s", c["aud"], tt.wantAud)
			}
			if tt.audience != "nats" && c["sub"] != "user_go" {
				t.Errorf("sub %v, want user_go", c["sub"])
			}
			if tt.check != nil {
				tt.check(t, g)
			}
		})
	}
}

func TestExampleRefusalIsFinal(t *testing.T) {
	gp, env := startGatepass(t)
	token := identity(t, env, "user_go", "org_go")
	httpClient, sent := counting()
	c := &Client{BaseURL: gp.URL, HTTP: httpClient, Retries: 4}
	_, err := c.Exchange(context.Background(), token, "centrifugo", "channel:org:org_other")
	var refused *RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("err = %v, want a *RefusedError", err)
	}
	if refused.Status != http.StatusBadRequest || refused.Code != "invalid_target" {
		t.Errorf("refused with %d %q, want 400 invalid_target", refused.Status, refused.Code)
	}
	if n := sent.Load(); n != 1 {
		t.Errorf("sent %d requests, want 1: a final refusal was retried", n)
	}
}

func TestExampleRevokedIdentityIsInvalidGrant(t *testing.T) {
	gp, env := startGatepass(t)
	token := identity(t, env, "user_rev", "org_go")
	body := strings.NewReader(`{"user_id":"user_rev","org_id":"org_go","reason":"example test"}`)
	req, err := http.NewRequest(http.MethodPost, gp.AdminURL+"/admin/v1/revocations", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("revocation answered %d: %s", resp.StatusCode, answer)
	}

	httpClient, sent := counting()
	c := &Client{BaseURL: gp.URL, HTTP: httpClient, Retries: 4}
	if _, err := c.Exchange(context.Background(), token, "centrifugo", ""); !errors.Is(err, ErrIdentityRevoked) {
		t.Fatalf("err = %v, want ErrIdentityRevoked", err)
	}
	if n := sent.Load(); n != 1 {
		t.Errorf("sent %d requests, want 1", n)
	}
}

// scripted serves the given statuses and headers in turn, then a grant.
func scripted(t *testing.T, answers ...func(w http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if r.URL.Path != "/oauth2/token" || r.PostFormValue("subject_token") != "id-1" {
			t.Errorf("request %d: %s with subject_token %q", i, r.URL.Path, r.PostFormValue("subject_token"))
		}
		if i < len(answers) {
			answers[i](w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"x.y.z","issued_token_type":"urn:ietf:params:oauth:token-type:jwt","token_type":"N_A","expires_in":60}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func status(code int, retryAfter string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, `{"error":"temporarily_unavailable","error_description":"retry"}`)
	}
}

// recordSleeps is a Sleep that records the delays and waits for none.
func recordSleeps(delays *[]time.Duration) func(context.Context, time.Duration) error {
	return func(_ context.Context, d time.Duration) error {
		*delays = append(*delays, d)
		return nil
	}
}

func TestExampleRetries(t *testing.T) {
	tests := []struct {
		name    string
		answers []func(http.ResponseWriter)
		retries int
		want    []time.Duration // exact delays; 0 stands for a backoff
		wantErr error
	}{
		{name: "429 and 503 wait for Retry-After", answers: []func(http.ResponseWriter){status(429, "7"), status(503, "2")}, retries: 4,
			want: []time.Duration{7 * time.Second, 2 * time.Second}},
		{name: "Retry-After is capped at 60 s", answers: []func(http.ResponseWriter){status(429, "3600")}, retries: 4,
			want: []time.Duration{maxRetryAfter}},
		{name: "other 5xx back off", answers: []func(http.ResponseWriter){status(500, ""), status(502, "")}, retries: 4,
			want: []time.Duration{0, 0}},
		{name: "through every retry: unavailable", answers: []func(http.ResponseWriter){status(500, ""), status(500, ""), status(500, "")}, retries: 2,
			want: []time.Duration{0, 0}, wantErr: ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, sent := scripted(t, tt.answers...)
			var delays []time.Duration
			c := &Client{BaseURL: srv.URL, Retries: tt.retries, Sleep: recordSleeps(&delays)}
			g, err := c.Exchange(context.Background(), "id-1", "centrifugo", "")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && g.AccessToken != "x.y.z" {
				t.Errorf("grant %+v", g)
			}
			if len(delays) != len(tt.want) {
				t.Fatalf("waited %v, want %d waits", delays, len(tt.want))
			}
			for i, d := range delays {
				if w := tt.want[i]; w != 0 && d != w {
					t.Errorf("wait %d: %v, want %v", i, d, w)
				}
				if tt.want[i] == 0 && (d < 250*time.Millisecond<<i || d > 500*time.Millisecond<<i) {
					t.Errorf("backoff %d: %v, want between %v and %v", i, d, 250*time.Millisecond<<i, 500*time.Millisecond<<i)
				}
			}
			if n := int(sent.Load()); n != len(delays)+1 {
				t.Errorf("sent %d requests after %d waits", n, len(delays))
			}
		})
	}
}

func TestExampleRetriesANetworkError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	var delays []time.Duration
	c := &Client{BaseURL: addr, Retries: 2, Sleep: recordSleeps(&delays)}
	if _, err := c.Exchange(context.Background(), "id-1", "centrifugo", ""); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if len(delays) != 2 {
		t.Errorf("waited %v, want two backoffs", delays)
	}
}

func TestExampleNeedsAudienceAndToken(t *testing.T) {
	getenv := func(k string) string { return map[string]string{"ACCESS_TOKEN": "id-1"}[k] }
	if err := run(context.Background(), nil, getenv, io.Discard); err == nil || !strings.Contains(err.Error(), "-audience") {
		t.Errorf("without -audience: %v", err)
	}
	if err := run(context.Background(), []string{"-audience", "nats"}, func(string) string { return "" }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "ACCESS_TOKEN") {
		t.Errorf("without ACCESS_TOKEN: %v", err)
	}
}
