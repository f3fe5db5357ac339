package ginhttp_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/adapters/prom"
	"github.com/gatepass/gatepass/application"
)

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{name: "untrusted peer, header ignored", peer: "198.51.100.1:4000", xff: []string{"203.0.113.9"}, want: "198.51.100.1"},
		{name: "mapped peer is IPv4", peer: "[::ffff:198.51.100.1]:4000", want: "198.51.100.1"},
		{name: "trusted peer, one hop", peer: "10.0.0.2:4000", xff: []string{"203.0.113.9"}, want: "203.0.113.9"},
		{name: "rightmost untrusted hop wins over what the client wrote", peer: "10.0.0.2:4000",
			xff: []string{"1.1.1.1, 2.2.2.2, 203.0.113.9, 10.0.0.7"}, want: "203.0.113.9"},
		{name: "several header lines are one list", peer: "10.0.0.2:4000",
			xff: []string{"1.1.1.1", "203.0.113.9", "10.0.0.7"}, want: "203.0.113.9"},
		{name: "mapped hop is IPv4", peer: "10.0.0.2:4000", xff: []string{"::ffff:cb00:7109"}, want: "203.0.113.9"},
		{name: "hop with a port", peer: "10.0.0.2:4000", xff: []string{"[2001:db8::1]:443"}, want: "2001:db8::1"},
		{name: "garbage stops at the proxy that passed it", peer: "10.0.0.2:4000", xff: []string{"203.0.113.9, bogus"}, want: "10.0.0.2"},
		{name: "trusted peer, no header", peer: "10.0.0.2:4000", want: "10.0.0.2"},
		{name: "all hops trusted", peer: "[fd00::1]:4000", xff: []string{"10.1.1.1, fd00::2"}, want: "10.1.1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "http://gatepass.test/", nil)
			req.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			req.Header.Set("X-Real-IP", "192.0.2.99")
			if got := ginhttp.ClientAddr(req, proxies); got != netip.MustParseAddr(tt.want) {
				t.Fatalf("client %s, want %s", got, tt.want)
			}
		})
	}
}

// TestMethodLabelIsAClosedSet: a method the router does not route is
// counted as "other", an unknown path as "unmatched".
func TestMethodLabelIsAClosedSet(t *testing.T) {
	m := prom.New()
	a := newAPIWith(t, application.RateLimitPolicy{}, nil, ginhttp.Options{Observer: m})
	for _, method := range []string{"FOO", "BAR", "PROPFIND", "DELETE"} {
		serve(a.handler, method, "/api/v1/realtime/token", nil)
		serve(a.handler, method, "/random/"+method, nil)
	}
	serve(a.handler, "GET", "/healthz", nil)
	body := scrape(t, m)
	for _, want := range []string{`method="other",route="unmatched"`, `method="GET",route="/healthz"`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, bad := range []string{"FOO", "PROPFIND", "DELETE", "/random"} {
		if strings.Contains(body, bad) {
			t.Errorf("a client-chosen value %q became a label", bad)
		}
	}
}

func scrape(t *testing.T, m *prom.Metrics) string {
	t.Helper()
	admin := ginhttp.NewAdminRouter(adminApp(t, application.Ports{}, nil), m.Handler(), ginhttp.AdminOptions{})
	return serve(admin, "GET", "/metrics", nil).Body.String()
}

func TestDuplicateAuthorizationIsRefused(t *testing.T) {
	a := newAPI(t)
	_, router := loadDocument(t)
	req := httptest.NewRequest("POST", "http://gatepass.test/api/v1/realtime/token", nil)
	req.Header.Add("Authorization", "Bearer "+a.bearer(t, "org_1"))
	req.Header.Add("Authorization", "Bearer x.y.z")
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"code":"duplicate_header"`) {
		t.Fatalf("two Authorization headers: %d %s", rec.Code, rec.Body)
	}
	validate(t, router, req, rec)
}

// TestPublicReadinessSaysOnlyWhether: the public /readyz names no signer,
// key id or store; the admin one does.
func TestPublicReadinessSaysOnlyWhether(t *testing.T) {
	a := newAPI(t)
	rec := serve(a.handler, "GET", "/readyz", nil)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if len(body) != 1 || body["status"] != "ready" {
		t.Fatalf("public readiness %s, want only the status", rec.Body)
	}
	app := adminApp(t, application.Ports{},
		[]application.ReadinessCheck{{Name: "signer", Probe: func(ctx context.Context) (string, error) { return "go RS256 kid=k1", nil }}})
	admin := serve(ginhttp.NewAdminRouter(app, nil, ginhttp.AdminOptions{}), "GET", "/readyz", nil)
	if !strings.Contains(admin.Body.String(), "kid=k1") || !strings.Contains(admin.Body.String(), "rate_limiter") {
		t.Fatalf("admin readiness %s", admin.Body)
	}
}

func TestChunkedRequestsCloseTheConnection(t *testing.T) {
	a := newAPI(t)
	req := httptest.NewRequest("POST", "http://gatepass.test/api/v1/realtime/token", strings.NewReader("{}"))
	req.TransferEncoding = []string{"chunked"}
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	if rec.Header().Get("Connection") != "close" {
		t.Fatalf("chunked request: Connection %q", rec.Header().Get("Connection"))
	}
	if rec := serve(a.handler, "GET", "/healthz", nil); rec.Header().Get("Connection") != "" {
		t.Fatalf("plain request: Connection %q", rec.Header().Get("Connection"))
	}
}
