package ginhttp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/adapters/cryptorand"
	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/statickeys"
	"github.com/gatepass/gatepass/adapters/systemclock"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jwa"
)

// webhookStub answers a webhook call by its body: "forged" and
// "malformed" as the verifier refuses them, "unavailable" as revocations
// never loaded, anything else as handled.
type webhookStub struct{ calls *int }

func (w webhookStub) Receive(_ context.Context, cmd application.ReceiveWebhook) (application.WebhookOutcome, error) {
	*w.calls++
	switch string(cmd.Body) {
	case "forged":
		return application.WebhookOutcome{}, fmt.Errorf("%w: wrong", domain.ErrInvalidWebhook)
	case "malformed":
		return application.WebhookOutcome{}, domain.ErrMalformedWebhook
	case "unavailable":
		return application.WebhookOutcome{Event: "participant_joined"}, domain.ErrRevocationsUnavailable
	}
	return application.WebhookOutcome{Event: "participant_joined", Removed: 1}, nil
}

// liveKitWebhookRouter is the public router with LiveKit registered with
// its webhook, enabled (a signer) or not.
func liveKitWebhookRouter(t *testing.T, enabled bool, calls *int) http.Handler {
	t.Helper()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	office, err := jwtsigner.NewOfficeSigner(key, jwa.RS256)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := statickeys.New(&key.PublicKey, jwa.RS256, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := application.RegisterDisabled(domain.GrantLiveKit)
	if enabled {
		s, err := jwtsigner.NewLiveKitSigner("APIgatepass", []byte("a-livekit-secret-of-at-least-32-bytes"))
		if err != nil {
			t.Fatal(err)
		}
		def, err := domain.LiveKitDefinition(domain.LiveKitSettings{APIKey: "APIgatepass", TTL: time.Hour, URL: "wss://livekit.example"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		reg = application.RegisterGrant(def, application.ExpiryBoundNone, s.SignLiveKit)
	}
	app := newApp(t, application.Ports{
		Identity: staticIdentity{domain.Principal{UserID: "user_01", OrgID: "org_01", Role: "member"}},
		Clock:    systemclock.Clock{}, IDs: cryptorand.IDs{}, Keys: keys,
	}, application.Grants{
		Kinds: builtIn(t, office.SignOffice, func(context.Context, domain.RealtimeClaims) (string, error) { return "", errNotSigning },
			application.WithWebhook(reg, func(*application.Revocations) application.WebhookReceiver {
				return webhookStub{calls: calls}
			})),
	}, application.RateLimitPolicy{}, nil)
	h, err := ginhttp.NewRouter(app, ginhttp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestLiveKitWebhookAnswersMatchTheOpenAPIDocument: each answer of the
// webhook route is the documented one, and a call refused before the use
// case (media type, size) never reaches it.
func TestLiveKitWebhookAnswersMatchTheOpenAPIDocument(t *testing.T) {
	_, router := loadDocument(t)
	calls := 0
	h := liveKitWebhookRouter(t, true, &calls)
	tests := []struct {
		name, contentType, body string
		status                  int
		code                    string
		reaches                 bool
	}{
		{name: "handled", contentType: "application/webhook+json", body: "{}", status: 200, reaches: true},
		{name: "with a charset", contentType: "application/webhook+json; charset=utf-8", body: "{}", status: 200, reaches: true},
		{name: "forged", contentType: "application/webhook+json", body: "forged", status: 401, code: "invalid_signature", reaches: true},
		{name: "signed, not an event", contentType: "application/webhook+json", body: "malformed", status: 400, code: "malformed_body", reaches: true},
		{name: "revocations never loaded", contentType: "application/webhook+json", body: "unavailable", status: 503, code: "revocations_unavailable", reaches: true},
		{name: "oversized", contentType: "application/webhook+json", body: strings.Repeat("x", 64<<10+1), status: 413, code: "body_too_large"},
		{name: "plain JSON", contentType: "application/json", body: "{}", status: 415, code: "unsupported_media_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := calls
			req := httptest.NewRequest("POST", "http://gatepass.test"+ginhttp.RouteLiveKitWebhook, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.contentType)
			req.Header.Set("Authorization", "a.b.c")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || (tt.code != "" && !strings.Contains(rec.Body.String(), `"code":"`+tt.code+`"`)) {
				t.Fatalf("%d %s, want %d %s", rec.Code, rec.Body, tt.status, tt.code)
			}
			if reached := calls > before; reached != tt.reaches {
				t.Fatalf("reached the use case: %v, want %v", reached, tt.reaches)
			}
			validate(t, router, req, rec)
		})
	}
}

// TestLiveKitWebhookIsNotFoundWhileLiveKitIsDisabled: the route exists
// only with LiveKit on.
func TestLiveKitWebhookIsNotFoundWhileLiveKitIsDisabled(t *testing.T) {
	calls := 0
	h := liveKitWebhookRouter(t, false, &calls)
	req := httptest.NewRequest("POST", "http://gatepass.test"+ginhttp.RouteLiveKitWebhook, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/webhook+json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound || calls != 0 {
		t.Fatalf("%d %s, %d calls; want 404 and none", rec.Code, rec.Body, calls)
	}
}
