package ginhttp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/gatepass/gatepass/adapters/cryptorand"
	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/memorylimit"
	"github.com/gatepass/gatepass/adapters/redislimit"
	"github.com/gatepass/gatepass/adapters/statickeys"
	"github.com/gatepass/gatepass/adapters/systemclock"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// api is the real router over real adapters, with identity tokens from a
// development identity key.
type api struct {
	handler http.Handler
	idKey   *rsa.PrivateKey
}

func newAPI(t *testing.T) api {
	return newAPIWith(t, application.RateLimitPolicy{}, nil, ginhttp.Options{})
}

func newAPIWith(t *testing.T, limits application.RateLimitPolicy, limiter domain.RateLimiter, opts ginhttp.Options) api {
	t.Helper()
	officeKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	idKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
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
	app := newApp(t, application.Ports{
		Identity: verifier, Clock: systemclock.Clock{}, IDs: cryptorand.IDs{}, Keys: keys, Limiter: limiter,
	}, application.Grants{
		Kinds: builtIn(t, office.SignOffice, realtime.SignRealtime),
	}, limits,
		[]application.ReadinessCheck{{Name: "signer", Probe: func(context.Context) (string, error) { return "go RS256", nil }}})
	h, err := ginhttp.NewRouter(app, opts)
	if err != nil {
		t.Fatal(err)
	}
	return api{handler: h, idKey: idKey}
}

func (a api) bearer(t *testing.T, org string) string {
	t.Helper()
	tok, err := devidentity.Mint(a.idKey, devidentity.Identity{UserID: "user_1", OrgID: org, Role: "member"}, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func loadDocument(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(ginhttp.OpenAPI)
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	doc.Servers = nil // match requests whatever their host
	for _, item := range doc.Paths.Map() {
		item.Servers = nil // the admin API's too
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

// TestResponsesMatchTheOpenAPIDocument sends real requests to the real
// handlers and validates every answer against openapi.json, so the
// document cannot drift from the code.
func TestResponsesMatchTheOpenAPIDocument(t *testing.T) {
	a := newAPI(t)
	_, router := loadDocument(t)
	member, loner := a.bearer(t, "org_1"), a.bearer(t, "")
	tests := []struct {
		name        string
		method      string
		path        string
		bearer      string
		contentType string
		body        string
		status      int
	}{
		{name: "office grant", method: "POST", path: "/api/v1/cloudflare/request-access", bearer: member, status: 200},
		{name: "office grant with orgId", method: "POST", path: "/api/v1/cloudflare/request-access", bearer: member,
			contentType: "application/json", body: `{"orgId":"org_1"}`, status: 200},
		{name: "office missing bearer", method: "POST", path: "/api/v1/cloudflare/request-access", status: 401},
		{name: "office bad bearer", method: "POST", path: "/api/v1/cloudflare/request-access", bearer: "x.y.z", status: 401},
		{name: "office no org", method: "POST", path: "/api/v1/cloudflare/request-access", bearer: loner, status: 403},
		{name: "office org mismatch", method: "POST", path: "/api/v1/cloudflare/request-access", bearer: member,
			contentType: "application/json", body: `{"orgId":"org_2"}`, status: 403},
		{name: "office malformed", method: "POST", path: "/api/v1/cloudflare/request-access", bearer: member,
			contentType: "application/json", body: `{`, status: 400},
		{name: "office too large", method: "POST", path: "/api/v1/cloudflare/request-access", bearer: member,
			contentType: "application/json", body: `{"orgId":"` + strings.Repeat("a", 8<<10) + `"}`, status: 413},
		{name: "office not JSON", method: "POST", path: "/api/v1/cloudflare/request-access", bearer: member,
			contentType: "text/plain", body: `hello`, status: 415},
		{name: "realtime token", method: "POST", path: "/api/v1/realtime/token", bearer: member, status: 200},
		{name: "realtime token without org", method: "POST", path: "/api/v1/realtime/token", bearer: loner, status: 200},
		{name: "realtime missing bearer", method: "POST", path: "/api/v1/realtime/token", status: 401},
		{name: "jwks", method: "GET", path: "/.well-known/jwks.json", status: 200},
		{name: "health", method: "GET", path: "/healthz", status: 200},
		{name: "openapi", method: "GET", path: "/openapi.json", status: 200},
		{name: "ready", method: "GET", path: "/readyz", status: 200},
		{name: "token exchange", method: "POST", path: "/oauth2/token", contentType: "application/x-www-form-urlencoded",
			body: exchangeForm(member, "office-router"), status: 200},
		{name: "token exchange, bad subject token", method: "POST", path: "/oauth2/token", contentType: "application/x-www-form-urlencoded",
			body: exchangeForm("x.y.z", "office-router"), status: 400},
		{name: "token exchange, unknown audience", method: "POST", path: "/oauth2/token", contentType: "application/x-www-form-urlencoded",
			body: exchangeForm(member, "billing"), status: 400},
		{name: "metadata without a base URL", method: "GET", path: "/.well-known/oauth-authorization-server", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://gatepass.test"+tt.path, strings.NewReader(tt.body))
			if tt.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			rec := httptest.NewRecorder()
			a.handler.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			validate(t, router, req, rec)
		})
	}
}

func exchangeForm(subject, audience string) string {
	return url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {subject},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "audience": {audience},
	}.Encode()
}

func validate(t *testing.T, router routers.Router, req *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s is not in the document: %v", req.Method, req.URL.Path, err)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  rec.Code,
		Header:  rec.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	input.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		t.Fatalf("response does not match the document: %v\nbody: %s", err, rec.Body)
	}
}

// TestLimitAnswersMatchTheDocument drives 429 and 503 through real limiters:
// memory with a budget of one, and Redis on a port where nothing listens.
func TestLimitAnswersMatchTheDocument(t *testing.T) {
	_, router := loadDocument(t)
	one := domain.Limit{Rate: 1, Period: time.Hour, Burst: 1}
	limits := application.RateLimitPolicy{Enabled: true, FailureMode: application.FailClosed, AuthFailures: one, Grants: map[domain.GrantKind]domain.Limit{domain.GrantOffice: one, domain.GrantRealtime: one}}
	deadRedis, closeRedis, err := redislimit.NewFromURL("redis://127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeRedis() })
	tests := []struct {
		name    string
		limiter domain.RateLimiter
		path    string
		want    []int
	}{
		{name: "office budget", limiter: memorylimit.New(nil, 0), path: "/api/v1/cloudflare/request-access", want: []int{200, 429}},
		{name: "realtime budget", limiter: memorylimit.New(nil, 0), path: "/api/v1/realtime/token", want: []int{200, 429}},
		{name: "store down, closed", limiter: deadRedis, path: "/api/v1/realtime/token", want: []int{503}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPIWith(t, limits, tt.limiter, ginhttp.Options{})
			bearer := a.bearer(t, "org_1")
			for _, want := range tt.want {
				req := httptest.NewRequest("POST", "http://gatepass.test"+tt.path, nil)
				req.Header.Set("Authorization", "Bearer "+bearer)
				rec := httptest.NewRecorder()
				a.handler.ServeHTTP(rec, req)
				if rec.Code != want {
					t.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body)
				}
				if want == 429 && rec.Header().Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
				validate(t, router, req, rec)
			}
		})
	}
}

// TestDocumentRejectsWhatTheCodeMustNotSend proves the validation above
// can fail: a response with a field the document does not allow.
func TestDocumentRejectsWhatTheCodeMustNotSend(t *testing.T) {
	_, router := loadDocument(t)
	req := httptest.NewRequest("POST", "http://gatepass.test/api/v1/realtime/token", nil)
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 200,
		Header:                 http.Header{"Content-Type": {"application/json"}},
		Body:                   io.NopCloser(bytes.NewReader([]byte(`{"token":"a.b.c","tokenType":"Bearer","expiresIn":3600}`))),
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err == nil {
		t.Fatal("a response without expiresAt passed validation")
	}
}

// TestDocumentRejectsAFanoutItDoesNotDescribe proves the fan-out's schema
// can fail: a status outside the closed set, or a member it does not name.
func TestDocumentRejectsAFanoutItDoesNotDescribe(t *testing.T) {
	_, router := loadDocument(t)
	req := httptest.NewRequest("POST", "http://gatepass.test/admin/v1/revocations", nil)
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	for fanout, valid := range map[string]bool{
		`{"centrifugo":{"status":"done"},"supabase_realtime":{"status":"expires","expires_at":"2026-05-04T11:21:08Z"}}`: true,
		`{"centrifugo":{"status":"evicted"}}`:              false,
		`{"centrifugo":{"status":"done","connections":2}}`: false,
		`{"centrifugo":{}}`:                                false,
	} {
		input := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
			Status: 202,
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   io.NopCloser(bytes.NewReader([]byte(`{"id":"r1","not_before":"2026-05-04T10:21:08Z","fanout":` + fanout + `}`))),
		}
		if err := openapi3filter.ValidateResponse(context.Background(), input); (err == nil) != valid {
			t.Errorf("fanout %s: validation %v, want valid %v", fanout, err, valid)
		}
	}
}
