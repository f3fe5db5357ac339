package ginhttp_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/adapters/cryptorand"
	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/memoryrevocation"
	"github.com/gatepass/gatepass/adapters/statickeys"
	"github.com/gatepass/gatepass/adapters/systemclock"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

const (
	testAdminToken   = "an-admin-api-token-of-at-least-32-bytes"
	testWorkOSSecret = "whsec_test"
)

// revocationAPI is the public and admin routers over one application that
// keeps revocations in memory, read once as a replica reads its store at
// start.
type revocationAPI struct {
	public, admin http.Handler
	idKey         *rsa.PrivateKey
}

func newRevocationAPI(t *testing.T) revocationAPI {
	t.Helper()
	officeKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	idKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	office, err := jwtsigner.NewOfficeSigner(officeKey, "RS256")
	if err != nil {
		t.Fatal(err)
	}
	realtime, err := jwtsigner.NewRealtimeSigner([]byte("a-supabase-secret-of-at-least-32-bytes"))
	if err != nil {
		t.Fatal(err)
	}
	set, _ := devidentity.KeySetJSON(idKey)
	kf, err := jwksidentity.NewStaticKeys(set)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := jwksidentity.New(kf, jwksidentity.Options{Issuer: devidentity.Issuer, Algorithms: []string{"RS256"}})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := statickeys.New(&officeKey.PublicKey, "RS256", nil)
	if err != nil {
		t.Fatal(err)
	}
	store := memoryrevocation.New(nil)
	rev := application.NewRevocations(store, store, systemclock.Clock{}, cryptorand.IDs{}, application.RevocationPolicy{Retention: time.Hour})
	if err := rev.Sync(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	fanout := application.NewEvictRevokedHandler(application.FanoutPorts{
		Evictors: []domain.Evictor{
			stubEvictor{t: domain.TransportCentrifugo, e: domain.Eviction{Status: domain.EvictionDone, Count: 2}},
			application.ExpiringEvictor{Of: domain.TransportSupabaseRealtime, TTL: time.Hour},
			stubEvictor{t: domain.TransportOfficeRouter, err: errors.New("office-router unreachable")},
		},
		Disabled: []domain.Transport{domain.TransportLiveKit},
		Store:    store, Clock: systemclock.Clock{}, Timer: systemclock.Clock{},
	}, application.FanoutPolicy{})
	t.Cleanup(fanout.Close)
	app := newApp(t, application.Ports{
		Identity: verifier, Clock: systemclock.Clock{}, IDs: cryptorand.IDs{}, Keys: keys, Revocations: rev, Fanout: fanout,
	}, application.Grants{
		Kinds: builtIn(t, office.SignOffice, realtime.SignRealtime),
	}, application.RateLimitPolicy{}, nil)
	public, err := ginhttp.NewRouter(app, ginhttp.Options{WorkOSWebhookSecret: []byte(testWorkOSSecret)})
	if err != nil {
		t.Fatal(err)
	}
	return revocationAPI{public: public, admin: ginhttp.NewAdminRouter(app, nil, ginhttp.AdminOptions{Token: []byte(testAdminToken)}), idKey: idKey}
}

// stubEvictor answers e, or fails with err.
type stubEvictor struct {
	t   domain.Transport
	e   domain.Eviction
	err error
}

func (s stubEvictor) Transport() domain.Transport { return s.t }

func (s stubEvictor) Evict(context.Context, domain.Revocation) (domain.Eviction, error) {
	return s.e, s.err
}

// bearer is an identity token of user_1 in org_1 issued a minute ago.
func (a revocationAPI) bearer(t *testing.T) string {
	t.Helper()
	tok, err := devidentity.Mint(a.idKey, devidentity.Identity{UserID: "user_1", OrgID: "org_1", Role: "member"}, time.Now().Add(-time.Minute), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func workosSignature(body string, at time.Time, secret, sep string) string {
	ts := fmt.Sprint(at.UnixMilli())
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + body))
	return "t=" + ts + "," + sep + "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// TestRevocationAnswersMatchTheOpenAPIDocument sends the admin API, the
// webhook and a revoked caller's requests to the real handlers and
// validates every answer against openapi.json.
func TestRevocationAnswersMatchTheOpenAPIDocument(t *testing.T) {
	a := newRevocationAPI(t)
	_, router := loadDocument(t)
	member := a.bearer(t)
	event := `{"id":"event_1","event":"user.deleted","data":{"object":"user","id":"user_9"}}`
	var id string
	tests := []struct {
		name                    string
		admin                   bool
		method, path            string
		auth, contentType, body string
		header                  [2]string
		status                  int
		check                   func(t *testing.T, rec *httptest.ResponseRecorder)
	}{
		{name: "granted before", method: "POST", path: "/api/v1/cloudflare/request-access", auth: "Bearer " + member, status: 200},
		{name: "revoke", admin: true, method: "POST", path: "/admin/v1/revocations", auth: "Bearer " + testAdminToken,
			contentType: "application/json", body: `{"user_id":"user_1","org_id":"org_1","reason":"left"}`, status: 202,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				var out struct {
					ID     string                    `json:"id"`
					Fanout map[string]map[string]any `json:"fanout"`
				}
				_ = json.Unmarshal(rec.Body.Bytes(), &out)
				id = out.ID
				want := map[string]map[string]any{
					"centrifugo":        {"status": "done", "count": 2.0},
					"livekit":           {"status": "not_configured"},
					"office_router":     {"status": "failed"},
					"supabase_realtime": {"status": "expires"},
				}
				if len(out.Fanout) != len(want) {
					t.Fatalf("fanout %v, want the keys of %v", out.Fanout, want)
				}
				for tr, w := range want {
					for k, v := range w {
						if out.Fanout[tr][k] != v {
							t.Fatalf("fanout[%s] = %v, want %s %v", tr, out.Fanout[tr], k, v)
						}
					}
				}
				if _, err := time.Parse(time.RFC3339, fmt.Sprint(out.Fanout["supabase_realtime"]["expires_at"])); err != nil {
					t.Fatalf("supabase_realtime expires_at: %v", out.Fanout["supabase_realtime"])
				}
			}},
		{name: "revoke a session", admin: true, method: "POST", path: "/admin/v1/revocations", auth: "Bearer " + testAdminToken,
			contentType: "application/json", body: `{"user_id":"user_2","org_id":"org_1","session_id":"sess_1"}`, status: 202,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				var out struct {
					Fanout map[string]map[string]any `json:"fanout"`
				}
				_ = json.Unmarshal(rec.Body.Bytes(), &out)
				if len(out.Fanout) != 4 {
					t.Fatalf("fanout %v, want 4 transports", out.Fanout)
				}
				for tr, e := range out.Fanout {
					if e["status"] != "not_applicable" {
						t.Fatalf("fanout[%s] = %v, want not_applicable", tr, e)
					}
				}
			}},
		{name: "refused as revoked", method: "POST", path: "/api/v1/cloudflare/request-access", auth: "Bearer " + member, status: 401,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if !strings.Contains(rec.Body.String(), `"code":"revoked"`) || !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Fatalf("%s %v", rec.Body, rec.Header())
				}
			}},
		{name: "exchange refused as invalid_grant", method: "POST", path: "/oauth2/token", contentType: "application/x-www-form-urlencoded",
			body: exchangeForm(member, "office-router"), status: 400, check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if !strings.Contains(rec.Body.String(), `"error":"invalid_grant"`) {
					t.Fatal(rec.Body)
				}
			}},
		{name: "list", admin: true, method: "GET", path: "/admin/v1/revocations?user_id=user_1", auth: "Bearer " + testAdminToken, status: 200},
		{name: "bad body", admin: true, method: "POST", path: "/admin/v1/revocations", auth: "Bearer " + testAdminToken,
			contentType: "application/json", body: `{"user_id":"user_1"}`, status: 400},
		{name: "no bearer", admin: true, method: "POST", path: "/admin/v1/revocations", contentType: "application/json", body: `{}`, status: 401},
		{name: "wrong bearer", admin: true, method: "GET", path: "/admin/v1/revocations", auth: "Bearer " + strings.Repeat("x", 40), status: 401},
		{name: "unknown id", admin: true, method: "GET", path: "/admin/v1/revocations/nope", auth: "Bearer " + testAdminToken, status: 404},
		{name: "signed event", method: "POST", path: "/webhooks/workos", contentType: "application/json", body: event,
			header: [2]string{"WorkOS-Signature", workosSignature(event, time.Now(), testWorkOSSecret, " ")}, status: 200},
		{name: "signed without the space", method: "POST", path: "/webhooks/workos", contentType: "application/json", body: event,
			header: [2]string{"WorkOS-Signature", workosSignature(event, time.Now(), testWorkOSSecret, "")}, status: 200},
		{name: "forged event", method: "POST", path: "/webhooks/workos", contentType: "application/json", body: event,
			header: [2]string{"WorkOS-Signature", workosSignature(event, time.Now(), "another", " ")}, status: 401},
		{name: "stale event", method: "POST", path: "/webhooks/workos", contentType: "application/json", body: event,
			header: [2]string{"WorkOS-Signature", workosSignature(event, time.Now().Add(-181*time.Second), testWorkOSSecret, " ")}, status: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://gatepass.test"+tt.path, strings.NewReader(tt.body))
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.header[0] != "" {
				req.Header.Set(tt.header[0], tt.header[1])
			}
			rec := httptest.NewRecorder()
			h := a.public
			if tt.admin {
				h = a.admin
			}
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.check != nil {
				tt.check(t, rec)
			}
			validate(t, router, req, rec)
		})
	}
	t.Run("get by id", func(t *testing.T) {
		req := httptest.NewRequest("GET", "http://gatepass.test/admin/v1/revocations/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		rec := httptest.NewRecorder()
		a.admin.ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"user_id":"user_1"`) ||
			!strings.Contains(rec.Body.String(), `"centrifugo":{"status":"done","count":2}`) || !strings.Contains(rec.Body.String(), `"office_router":{"status":"failed"}`) {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		validate(t, router, req, rec)
	})
}
