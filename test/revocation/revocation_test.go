// Package revocation_test proves revocations end to end: two gatepass
// replicas served in process on one real redis-server, a revocation made
// through the admin API or a signed WorkOS event on one, enforced by both
// for every grant kind and the token exchange; what changes nothing
// (forged, stale, replayed events); and what Redis being down does.
package revocation_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/redisserver"
)

const (
	adminToken   = "an-admin-api-token-of-at-least-32-bytes"
	workosSecret = "a-workos-webhook-secret"
	// enforcedWithin bounds the wait for a replica to enforce what another
	// recorded; the design delivers it in well under a second
	// (announcement, else a poll every 500ms), measured and logged.
	enforcedWithin = 10 * time.Second
)

// replicaEnv is a replica sharing redisURL, with every transport enabled
// (their servers are not needed to mint their tokens), the admin API and
// the WorkOS webhook.
func replicaEnv(redisURL string, over ...map[string]string) map[string]string {
	return kit.With(map[string]string{
		"REDIS_URL":   redisURL,
		"LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_API_KEY": "lk-key", "LIVEKIT_API_SECRET": strings.Repeat("l", 40),
		"CENTRIFUGO_URL":        "ws://127.0.0.1:8000/connection/websocket",
		"ADMIN_API_TOKEN":       adminToken,
		"WORKOS_WEBHOOK_SECRET": workosSecret,
		// Each test asks every door many times as one user.
		"RATE_LIMIT_OFFICE_BURST": "500", "RATE_LIMIT_REALTIME_BURST": "500", "RATE_LIMIT_LIVEKIT_BURST": "500",
		"RATE_LIMIT_CENTRIFUGO_CONNECTION_BURST": "500", "RATE_LIMIT_CENTRIFUGO_SUBSCRIPTION_BURST": "500",
	}, over...)
}

// twoReplicas serves two replicas on one redis-server, trusting one
// identity provider.
func twoReplicas(t *testing.T, over ...map[string]string) (*redisserver.Server, *kit.IdentityProvider, [2]*kit.Service) {
	t.Helper()
	redis := redisserver.Start(t)
	idp := kit.NewIdentityProvider(t)
	a := inproc.ServeServiceTrusting(t, idp, replicaEnv(redis.URL(), over...))
	b := inproc.ServeServiceTrusting(t, idp, replicaEnv(redis.URL(), over...))
	return redis, idp, [2]*kit.Service{a, b}
}

// token is an identity token for user in org issued at iat.
func token(t *testing.T, idp *kit.IdentityProvider, user, org string, iat time.Time, edit func(jwt.MapClaims)) string {
	t.Helper()
	c := idp.Claims(user, org, "member", time.Hour)
	c["iat"] = iat.Unix()
	if edit != nil {
		edit(c)
	}
	return idp.Sign(t, c, nil)
}

// door is one way to a grant: a grant endpoint (path, body) or the token
// exchange (audience, scope).
type door struct {
	name, path, body  string
	audience, scope   string
	viaTokenExchange  bool
	wantGrantedStatus int
}

func doors(org string) []door {
	return []door{
		{name: "office", path: kit.OfficePath, wantGrantedStatus: 200},
		{name: "realtime", path: kit.RealtimePath, wantGrantedStatus: 200},
		{name: "livekit", path: "/api/v1/livekit/token", body: `{"room_name":"standup"}`, wantGrantedStatus: 201},
		{name: "centrifugo connection", path: "/api/v1/centrifugo/connection-token", wantGrantedStatus: 200},
		{name: "centrifugo subscription", path: "/api/v1/centrifugo/subscription-token", body: `{"channel":"org:` + org + `"}`, wantGrantedStatus: 200},
		{name: "exchange office-router", audience: "office-router", viaTokenExchange: true, wantGrantedStatus: 200},
		{name: "exchange supabase-realtime", audience: "supabase-realtime", viaTokenExchange: true, wantGrantedStatus: 200},
		{name: "exchange livekit", audience: "livekit", scope: "room:standup", viaTokenExchange: true, wantGrantedStatus: 200},
		{name: "exchange centrifugo", audience: "centrifugo", viaTokenExchange: true, wantGrantedStatus: 200},
		{name: "exchange centrifugo channel", audience: "centrifugo", scope: "channel:org:" + org, viaTokenExchange: true, wantGrantedStatus: 200},
	}
}

func (d door) call(t *testing.T, s *kit.Service, bearer string) kit.Response {
	t.Helper()
	if d.viaTokenExchange {
		f := url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {bearer},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "audience": {d.audience},
		}
		if d.scope != "" {
			f.Set("scope", d.scope)
		}
		return kit.Post(t, s.URL+"/oauth2/token", kit.Body("application/x-www-form-urlencoded", strings.NewReader(f.Encode())))
	}
	opts := []kit.Option{kit.Bearer(bearer)}
	if d.body != "" {
		opts = append(opts, kit.JSONBody(d.body))
	}
	return kit.Post(t, s.URL+d.path, opts...)
}

// refusedAsRevoked reports whether r is the door's answer to a revoked
// identity: 401 revoked with an RFC 6750 challenge, or invalid_grant at
// the token exchange.
func (d door) refusedAsRevoked(t *testing.T, r kit.Response) bool {
	t.Helper()
	if d.viaTokenExchange {
		var body struct {
			Error string `json:"error"`
		}
		return r.Status == http.StatusBadRequest && json.Unmarshal(r.Body, &body) == nil && body.Error == "invalid_grant"
	}
	var p kit.Problem
	return r.Status == http.StatusUnauthorized && json.Unmarshal(r.Body, &p) == nil && p.Code == "revoked" &&
		strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`)
}

// revoke records a revocation through s's admin API.
func revoke(t *testing.T, s *kit.Service, body string) (id string, notBefore time.Time) {
	t.Helper()
	r := kit.Post(t, s.AdminURL+"/admin/v1/revocations", kit.Bearer(adminToken), kit.JSONBody(body))
	if r.Status != http.StatusAccepted {
		t.Fatalf("revoke %s: %s", body, r)
	}
	var out struct {
		ID        string `json:"id"`
		NotBefore string `json:"not_before"`
		Fanout    map[string]struct {
			Status string `json:"status"`
		} `json:"fanout"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || out.ID == "" {
		t.Fatalf("revoke answer %s", r)
	}
	// Every transport is reported; these replicas reach none's API, and
	// Supabase Realtime's channels end with their tokens.
	for _, tr := range []string{"livekit", "centrifugo", "office_router", "supabase_realtime"} {
		if _, ok := out.Fanout[tr]; !ok {
			t.Fatalf("revoke answer without fanout.%s: %s", tr, r)
		}
	}
	if st := out.Fanout["supabase_realtime"].Status; st != "expires" && st != "not_applicable" {
		t.Fatalf("fanout.supabase_realtime %q: %s", st, r)
	}
	nb, err := time.Parse(time.RFC3339, out.NotBefore)
	if err != nil || nb.Location() != time.UTC || nb.Nanosecond() != 0 {
		t.Fatalf("not_before %q is not whole seconds in UTC", out.NotBefore)
	}
	return out.ID, nb
}

// waitRefused waits until every door of s refuses bearer as revoked and
// returns how long that took.
func waitRefused(t *testing.T, s *kit.Service, ds []door, bearer string) time.Duration {
	t.Helper()
	start := time.Now()
	if !kit.Eventually(enforcedWithin, 10*time.Millisecond, func() bool {
		return ds[0].refusedAsRevoked(t, ds[0].call(t, s, bearer))
	}) {
		t.Fatalf("%s still grants after %s", s.URL, enforcedWithin)
	}
	took := time.Since(start)
	for _, d := range ds {
		if r := d.call(t, s, bearer); !d.refusedAsRevoked(t, r) {
			t.Fatalf("%s on %s: %s %v, want refused as revoked", d.name, s.URL, r, r.Header)
		}
	}
	return took
}

func wantGranted(t *testing.T, what string, s *kit.Service, ds []door, bearer string) {
	t.Helper()
	for _, d := range ds {
		if r := d.call(t, s, bearer); r.Status != d.wantGrantedStatus {
			t.Fatalf("%s, %s: %s, want %d", what, d.name, r, d.wantGrantedStatus)
		}
	}
}

func TestAdminRevocationIsEnforcedByBothReplicas(t *testing.T) {
	t.Parallel()
	_, idp, replicas := twoReplicas(t)
	a, b := replicas[0], replicas[1]
	ds := doors("org_r")
	before := token(t, idp, "user_r", "org_r", time.Now().Add(-time.Minute), nil)
	otherOrg := token(t, idp, "user_r", "org_other", time.Now().Add(-time.Minute), nil)
	otherUser := token(t, idp, "user_s", "org_r", time.Now().Add(-time.Minute), nil)
	for _, s := range replicas {
		wantGranted(t, "before the revocation", s, ds, before)
	}

	id, notBefore := revoke(t, a, `{"user_id":"user_r","org_id":"org_r","reason":"left the team"}`)
	for i, s := range replicas {
		took := waitRefused(t, s, ds, before)
		t.Logf("replica %d enforced the revocation %s after the answer", i+1, took)
	}
	after := token(t, idp, "user_r", "org_r", notBefore, nil)
	for _, s := range replicas {
		wantGranted(t, "an identity issued at the cut-off", s, ds, after)
		wantGranted(t, "another organization", s, doors("org_other")[:2], otherOrg)
		wantGranted(t, "another user", s, ds[:2], otherUser)
	}

	t.Run("both replicas show it", func(t *testing.T) {
		for _, s := range replicas {
			one := kit.Get(t, s.AdminURL+"/admin/v1/revocations/"+id, kit.Bearer(adminToken))
			if one.Status != 200 || one.JSON(t)["user_id"] != "user_r" || one.JSON(t)["org_id"] != "org_r" || one.JSON(t)["source"] != "admin" {
				t.Fatalf("get: %s", one)
			}
			list := kit.Get(t, s.AdminURL+"/admin/v1/revocations?user_id=user_r", kit.Bearer(adminToken))
			revs, _ := list.JSON(t)["revocations"].([]any)
			if list.Status != 200 || len(revs) != 1 {
				t.Fatalf("list: %s", list)
			}
		}
	})

	t.Run("revoking again moves the cut-off forward", func(t *testing.T) {
		_, later := revoke(t, b, `{"user_id":"user_r","all_organizations":true}`)
		if !later.After(notBefore) && !later.Equal(notBefore) {
			t.Fatalf("second cut-off %s before the first %s", later, notBefore)
		}
		stale := token(t, idp, "user_r", "org_other", later.Add(-time.Second), nil)
		for _, s := range replicas {
			waitRefused(t, s, doors("org_other"), stale)
			wantGranted(t, "issued at the new cut-off", s, ds[:2], token(t, idp, "user_r", "org_r", later, nil))
		}
	})

	t.Run("reason revoked is logged and counted", func(t *testing.T) {
		if !strings.Contains(a.Logs(), `"reason":"revoked"`) {
			t.Fatalf("no request line with reason revoked:\n%.2000s", a.Logs())
		}
		if n := kit.Scrape(t, a.AdminURL+"/metrics").Sum("gatepass_auth_failures_total", "reason", "revoked"); n < 1 {
			t.Fatalf("gatepass_auth_failures_total{reason=revoked} = %v", n)
		}
		m := kit.Scrape(t, b.AdminURL+"/metrics")
		if n := m.Sum("gatepass_revocations_active"); n < 2 {
			t.Fatalf("gatepass_revocations_active = %v, want 2", n)
		}
		if !m.Has("gatepass_revocation_sync_age_seconds") || m.Sum("gatepass_revocation_sync_age_seconds") < 0 {
			t.Fatalf("sync age %v", m.Sum("gatepass_revocation_sync_age_seconds"))
		}
		_, ready := kit.Ready(t, b.AdminURL)
		if c := ready.Checks["revocations"]; c.Status != "ok" || !strings.Contains(c.Detail, "last sync") {
			t.Fatalf("admin readiness of revocations: %+v", c)
		}
	})
}

// TestRevokedSpendsNoBudget: a revoked refusal spends neither the user's
// budget nor the address's failed-authentication budget.
func TestRevokedSpendsNoBudget(t *testing.T) {
	t.Parallel()
	_, idp, replicas := twoReplicas(t, map[string]string{
		"RATE_LIMIT_REALTIME_RATE": "1", "RATE_LIMIT_REALTIME_PERIOD": "1h", "RATE_LIMIT_REALTIME_BURST": "2",
		"RATE_LIMIT_AUTH_FAILURE_RATE": "1", "RATE_LIMIT_AUTH_FAILURE_PERIOD": "1h", "RATE_LIMIT_AUTH_FAILURE_BURST": "2",
	})
	a := replicas[0]
	realtime := doors("org_b")[1:2]
	before := token(t, idp, "user_b", "org_b", time.Now().Add(-time.Minute), nil)
	_, notBefore := revoke(t, a, `{"user_id":"user_b","org_id":"org_b"}`)
	waitRefused(t, a, realtime, before)
	for range 10 {
		if r := realtime[0].call(t, a, before); !realtime[0].refusedAsRevoked(t, r) {
			t.Fatalf("revoked caller: %s", r)
		}
	}
	fresh := token(t, idp, "user_b", "org_b", notBefore, nil)
	for i := range 2 {
		if r := realtime[0].call(t, a, fresh); r.Status != 200 {
			t.Fatalf("grant %d of a budget of 2 after 10 revoked refusals: %s", i+1, r)
		}
	}
	// The address's budget of failed authentications is whole too: two
	// bad tokens are 401, the third 429.
	for i, want := range []int{401, 401, 429} {
		if r := kit.Post(t, a.URL+kit.RealtimePath, kit.Bearer("x.y.z")); r.Status != want {
			t.Fatalf("bad token %d: %s, want %d", i+1, r, want)
		}
	}
}

func TestSessionRevocationRefusesThatSessionOnly(t *testing.T) {
	t.Parallel()
	_, idp, replicas := twoReplicas(t)
	a, b := replicas[0], replicas[1]
	sid := func(s string) func(jwt.MapClaims) { return func(c jwt.MapClaims) { c["sid"] = s } }
	ds := doors("org_s")[:2]
	revoke(t, a, `{"user_id":"user_s","all_organizations":true,"session_id":"session_lost"}`)
	waitRefused(t, b, ds, token(t, idp, "user_s", "org_s", time.Now().Add(-time.Minute), sid("session_lost")))
	wantGranted(t, "another session", b, ds, token(t, idp, "user_s", "org_s", time.Now().Add(-time.Minute), sid("session_kept")))
	noIAT := token(t, idp, "user_s", "org_s", time.Now(), func(c jwt.MapClaims) { delete(c, "iat"); c["sid"] = "session_lost" })
	if r := ds[0].call(t, b, noIAT); !ds[0].refusedAsRevoked(t, r) {
		t.Fatalf("an identity without iat matching a revocation: %s", r)
	}
}

func TestAdminAPIRefusals(t *testing.T) {
	t.Parallel()
	redis := redisserver.Start(t)
	s := inproc.ServeService(t, replicaEnv(redis.URL()))
	path := s.AdminURL + "/admin/v1/revocations"
	body := kit.JSONBody(`{"user_id":"u","org_id":"o"}`)
	kit.WantProblem(t, "no bearer", kit.Post(t, path, body), 401, "missing_credentials")
	kit.WantProblem(t, "wrong bearer", kit.Post(t, path, kit.Bearer(strings.Repeat("x", 40)), kit.JSONBody(`{"user_id":"u","org_id":"o"}`)), 401, "invalid_token")
	kit.WantProblem(t, "list without bearer", kit.Get(t, path), 401, "missing_credentials")
	for _, tt := range []struct{ body, field string }{
		{`{"org_id":"o"}`, "user_id"},
		{`{"user_id":"u"}`, "org_id"},
		{`{"user_id":"u","org_id":"o","all_organizations":true}`, "all_organizations"},
		{`{"user_id":7,"org_id":"o"}`, "user_id"},
		{`{"user_id":"u","org":"o"}`, "org"},
		{`{"user_id":"u ","org_id":"o"}`, "user_id"},
		{`{"user_id":"u","org_id":"o","reason":"` + strings.Repeat("r", 300) + `"}`, "reason"},
	} {
		p := kit.WantProblem(t, tt.body, kit.Post(t, path, kit.Bearer(adminToken), kit.JSONBody(tt.body)), 400, "invalid_revocation")
		if !strings.HasPrefix(p.Detail, tt.field+" ") {
			t.Fatalf("%s: detail %q does not name %s", tt.body, p.Detail, tt.field)
		}
	}
	kit.WantProblem(t, "unknown id", kit.Get(t, path+"/nope", kit.Bearer(adminToken)), 404, "not_found")
	if r := kit.Get(t, s.URL+"/admin/v1/revocations", kit.Bearer(adminToken)); r.Status != 404 {
		t.Fatalf("the admin API on the public port: %s", r)
	}

	off := inproc.ServeService(t, map[string]string{"REDIS_URL": redis.URL()})
	kit.WantProblem(t, "without ADMIN_API_TOKEN", kit.Post(t, off.AdminURL+"/admin/v1/revocations", kit.Bearer(adminToken), kit.JSONBody(`{"user_id":"u","org_id":"o"}`)), 404, "not_found")
	kit.WantProblem(t, "without WORKOS_WEBHOOK_SECRET", kit.Post(t, off.URL+"/webhooks/workos", kit.JSONBody(`{}`)), 404, "not_found")
}

// signed is a WorkOS-Signature header for body at ts, with secret.
func signed(body string, ts time.Time, secret, sep string) string {
	t := fmt.Sprint(ts.UnixMilli())
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "." + body))
	return "t=" + t + "," + sep + "v1=" + hex.EncodeToString(mac.Sum(nil))
}

func webhook(t *testing.T, s *kit.Service, body, signature string) kit.Response {
	t.Helper()
	opts := []kit.Option{kit.JSONBody(body)}
	if signature != "" {
		opts = append(opts, kit.Header("WorkOS-Signature", signature))
	}
	return kit.Post(t, s.URL+"/webhooks/workos", opts...)
}

func activeFor(t *testing.T, s *kit.Service, user string) int {
	t.Helper()
	r := kit.Get(t, s.AdminURL+"/admin/v1/revocations?user_id="+user, kit.Bearer(adminToken))
	revs, _ := r.JSON(t)["revocations"].([]any)
	return len(revs)
}

func TestWorkOSEvents(t *testing.T) {
	t.Parallel()
	_, idp, replicas := twoReplicas(t)
	a, b := replicas[0], replicas[1]
	ds := doors("org_w")
	event := func(id, kind, data string) string {
		return `{"id":"` + id + `","event":"` + kind + `","data":` + data + `,"created_at":"2026-01-01T00:00:00.000Z"}`
	}
	member := `{"object":"organization_membership","id":"om_1","user_id":"user_w","organization_id":"org_w","role":{"slug":"member"}}`
	deleted := event("event_01", "organization_membership.deleted", member)
	before := token(t, idp, "user_w", "org_w", time.Now().Add(-time.Minute), nil)

	t.Run("forged, stale and malformed signatures record nothing", func(t *testing.T) {
		for _, tt := range []struct{ name, signature string }{
			{"missing", ""},
			{"wrong secret", signed(deleted, time.Now(), "another-secret", " ")},
			{"stale", signed(deleted, time.Now().Add(-4*time.Minute), workosSecret, " ")},
			{"future", signed(deleted, time.Now().Add(4*time.Minute), workosSecret, " ")},
			{"malformed", "t=abc, v1=zz"},
			{"over another body", signed(event("event_01", "user.created", member), time.Now(), workosSecret, " ")},
		} {
			kit.WantProblem(t, tt.name, webhook(t, a, deleted, tt.signature), 401, "invalid_signature")
		}
		wantGranted(t, "after refused events", b, ds[:2], before)
		if n := activeFor(t, a, "user_w"); n != 0 {
			t.Fatalf("%d revocations after refused events", n)
		}
	})

	t.Run("a signed membership deletion is enforced by both", func(t *testing.T) {
		if r := webhook(t, a, deleted, signed(deleted, time.Now(), workosSecret, " ")); r.Status != 200 {
			t.Fatalf("signed event: %s", r)
		}
		for _, s := range replicas {
			waitRefused(t, s, ds, before)
		}
	})

	t.Run("a replayed event changes nothing on either replica", func(t *testing.T) {
		rev := kit.Get(t, a.AdminURL+"/admin/v1/revocations?user_id=user_w", kit.Bearer(adminToken)).JSON(t)["revocations"].([]any)[0].(map[string]any)
		nb, _ := time.Parse(time.RFC3339, rev["not_before"].(string))
		after := token(t, idp, "user_w", "org_w", nb, nil)
		// Replayed after the cut-off's second, a second revocation would
		// refuse an identity issued at the first cut-off.
		if !kit.Eventually(5*time.Second, 50*time.Millisecond, func() bool { return time.Now().After(nb.Add(time.Second)) }) {
			t.Fatal("clock")
		}
		for _, s := range []*kit.Service{b, a} {
			if r := webhook(t, s, deleted, signed(deleted, time.Now(), workosSecret, "")); r.Status != 200 {
				t.Fatalf("replayed event: %s", r)
			}
		}
		for _, s := range replicas {
			if n := activeFor(t, s, "user_w"); n != 1 {
				t.Fatalf("%d revocations after a replay, want 1", n)
			}
			wantGranted(t, "an identity issued at the cut-off after a replay", s, ds[:2], after)
		}
	})

	t.Run("user deleted revokes every organization; session revoked that session", func(t *testing.T) {
		gone := event("event_02", "user.deleted", `{"object":"user","id":"user_x"}`)
		sess := event("event_03", "session.revoked", `{"object":"session","id":"session_9","user_id":"user_y","organization_id":"org_w"}`)
		other := event("event_04", "user.created", `{"object":"user","id":"user_z"}`)
		for _, e := range []string{gone, sess, other} {
			if r := webhook(t, b, e, signed(e, time.Now(), workosSecret, " ")); r.Status != 200 {
				t.Fatalf("event %s: %s", e, r)
			}
		}
		old := time.Now().Add(-time.Minute)
		waitRefused(t, a, doors("org_any")[:2], token(t, idp, "user_x", "org_any", old, nil))
		waitRefused(t, a, ds[:2], token(t, idp, "user_y", "org_w", old, func(c jwt.MapClaims) { c["sid"] = "session_9" }))
		wantGranted(t, "another session", a, ds[:2], token(t, idp, "user_y", "org_w", old, func(c jwt.MapClaims) { c["sid"] = "session_8" }))
		if n := activeFor(t, a, "user_z"); n != 0 {
			t.Fatalf("an event that calls for nothing recorded %d", n)
		}
	})

	t.Run("a body over 64 KiB is refused", func(t *testing.T) {
		big := event("event_05", "user.deleted", `{"object":"user","id":"user_big","pad":"`+strings.Repeat("p", 64<<10)+`"}`)
		if r := webhook(t, a, big, signed(big, time.Now(), workosSecret, " ")); r.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("large body: %s", r)
		}
	})
}

// TestRedisDown: with Redis stopped, a new revocation answers 503 and is
// not reported done, and the revocations known are still enforced; once
// Redis is back, revocations are recorded again.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	redis, idp, replicas := twoReplicas(t)
	a, b := replicas[0], replicas[1]
	ds := doors("org_d")
	before := token(t, idp, "user_d", "org_d", time.Now().Add(-time.Minute), nil)
	revoke(t, a, `{"user_id":"user_d","org_id":"org_d"}`)
	waitRefused(t, b, ds, before)

	redis.Stop()
	r := kit.Post(t, b.AdminURL+"/admin/v1/revocations", kit.Bearer(adminToken), kit.JSONBody(`{"user_id":"user_e","org_id":"org_d"}`))
	kit.WantProblem(t, "a revocation while Redis is down", r, 503, "revocations_unavailable")
	if r.Header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	e := `{"id":"event_down","event":"user.deleted","data":{"object":"user","id":"user_e"}}`
	if r := webhook(t, a, e, signed(e, time.Now(), workosSecret, " ")); r.Status != 503 {
		t.Fatalf("a WorkOS event while Redis is down: %s", r)
	}
	for _, s := range replicas {
		for _, d := range ds {
			if r := d.call(t, s, before); !d.refusedAsRevoked(t, r) {
				t.Fatalf("known revocation with Redis down, %s: %s", d.name, r)
			}
		}
		if code, _ := kit.Ready(t, s.URL); code != 200 {
			t.Fatalf("a replica that knows the revocations is not ready with Redis down: %d", code)
		}
	}

	redis.Restart()
	if !kit.Eventually(10*time.Second, 50*time.Millisecond, func() bool {
		return kit.Post(t, b.AdminURL+"/admin/v1/revocations", kit.Bearer(adminToken), kit.JSONBody(`{"user_id":"user_e","org_id":"org_d"}`)).Status == http.StatusAccepted
	}) {
		t.Fatal("revocations are not recorded once Redis is back")
	}
	waitRefused(t, a, ds[:2], token(t, idp, "user_e", "org_d", time.Now().Add(-time.Minute), nil))
	// The retried event is handled: its id was not kept while it failed.
	if r := webhook(t, a, e, signed(e, time.Now(), workosSecret, " ")); r.Status != 200 {
		t.Fatalf("the retried event: %s", r)
	}
	waitRefused(t, b, doors("org_q")[:2], token(t, idp, "user_e", "org_q", time.Now().Add(-time.Minute), nil))
}

// TestReplicaStartedWithRedisDownIsNotReady: until its first full read of
// the store, a replica is not ready and answers 503 on the grant routes.
func TestReplicaStartedWithRedisDownIsNotReady(t *testing.T) {
	t.Parallel()
	redis := redisserver.Start(t)
	redis.Stop()
	s := inproc.ServeService(t, replicaEnv(redis.URL()))
	if code, _ := kit.Ready(t, s.URL); code != http.StatusServiceUnavailable {
		t.Fatalf("public readiness %d, want 503", code)
	}
	_, detail := kit.Ready(t, s.AdminURL)
	if c := detail.Checks["revocations"]; c.Status != "failing" {
		t.Fatalf("admin readiness of revocations: %+v", c)
	}
	bearer := s.IDP.Token(t, "user_n", "org_n", "member", time.Hour)
	for _, d := range doors("org_n") {
		r := d.call(t, s, bearer)
		if d.viaTokenExchange {
			if r.Status != 503 || !strings.Contains(string(r.Body), "temporarily_unavailable") || r.Header.Get("Retry-After") != "1" {
				t.Fatalf("%s: %s", d.name, r)
			}
			continue
		}
		kit.WantProblem(t, d.name, r, 503, "revocations_unavailable")
		if r.Header.Get("Retry-After") != "1" {
			t.Fatalf("%s: Retry-After %q", d.name, r.Header.Get("Retry-After"))
		}
	}
	redis.Restart()
	if !kit.Eventually(10*time.Second, 50*time.Millisecond, func() bool { code, _ := kit.Ready(t, s.URL); return code == 200 }) {
		t.Fatal("not ready after Redis came back")
	}
	if r := kit.Post(t, s.URL+kit.RealtimePath, kit.Bearer(bearer)); r.Status != 200 {
		t.Fatalf("grant once ready: %s", r)
	}
}

// TestTwoReplicasOnARedisCluster: on a Redis Cluster of three masters,
// where a replica's subscription and the revocations' keys may live on
// different masters, a revocation recorded on one replica is enforced by
// the other, and the token exchange refuses it too.
func TestTwoReplicasOnARedisCluster(t *testing.T) {
	t.Parallel()
	c := redisserver.StartCluster(t, redisserver.ClusterOptions{Masters: 3})
	idp := kit.NewIdentityProvider(t)
	env := replicaEnv("", map[string]string{"REDIS_CLUSTER_ADDRS": strings.Join(c.Addrs()[:1], ",")})
	a := inproc.ServeServiceTrusting(t, idp, env)
	b := inproc.ServeServiceTrusting(t, idp, env)
	ds := doors("org_c")
	before := token(t, idp, "user_c", "org_c", time.Now().Add(-time.Minute), nil)
	wantGranted(t, "before", b, ds[:2], before)
	revoke(t, a, `{"user_id":"user_c","org_id":"org_c"}`)
	for _, s := range []*kit.Service{a, b} {
		took := waitRefused(t, s, ds, before)
		t.Logf("enforced after %s", took)
	}
}

// TestFanoutIsShownByEveryReplica: the replica that did not record a
// revocation shows its fan-out too, as the one that ran it stored it:
// Supabase Realtime's channels end a token lifetime after the cut-off.
func TestFanoutIsShownByEveryReplica(t *testing.T) {
	t.Parallel()
	_, _, replicas := twoReplicas(t, map[string]string{"SUPABASE_JWT_TTL": "15m"})
	id, nb := revoke(t, replicas[0], `{"user_id":"user_fanout","org_id":"org_1"}`)
	var view struct {
		Fanout map[string]struct {
			Status    string `json:"status"`
			ExpiresAt string `json:"expires_at"`
		} `json:"fanout"`
	}
	var last kit.Response
	if !kit.Eventually(enforcedWithin, 10*time.Millisecond, func() bool {
		last = kit.Get(t, replicas[1].AdminURL+"/admin/v1/revocations/"+id, kit.Bearer(adminToken))
		return last.Status == http.StatusOK && json.Unmarshal(last.Body, &view) == nil && view.Fanout["supabase_realtime"].Status == "expires"
	}) {
		t.Fatalf("the other replica shows %s", last)
	}
	if got, want := view.Fanout["supabase_realtime"].ExpiresAt, nb.Add(15*time.Minute).Format(time.RFC3339); got != want {
		t.Fatalf("supabase_realtime expires_at %s, want %s", got, want)
	}
	// Centrifugo's server API is not configured (CENTRIFUGO_API_URL).
	if st := view.Fanout["centrifugo"].Status; st != "not_configured" {
		t.Fatalf("fanout.centrifugo %q on the other replica, want not_configured: %s", st, last)
	}
	for _, tr := range []string{"livekit", "office_router"} {
		if _, ok := view.Fanout[tr]; !ok {
			t.Fatalf("fanout.%s missing on the other replica: %s", tr, last)
		}
	}
}
