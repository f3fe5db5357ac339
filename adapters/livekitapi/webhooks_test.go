package livekitapi_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/livekit/protocol/auth"

	"github.com/gatepass/gatepass/adapters/livekitapi"
	"github.com/gatepass/gatepass/domain"
)

const (
	hookKey    = "APIhook"
	hookSecret = "a-webhook-secret-of-at-least-32-bytes"
)

// signed is the Authorization LiveKit's notifier sends with body, signed
// with key and secret.
func signed(t *testing.T, key, secret string, body []byte, validFor time.Duration) string {
	t.Helper()
	sum := sha256.Sum256(body)
	tok, err := auth.NewAccessToken(key, secret).SetValidFor(validFor).SetSha256(base64.StdEncoding.EncodeToString(sum[:])).ToJWT()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// expired is a webhook token for body that expired two minutes ago,
// past LiveKit's minute of leeway.
func expired(t *testing.T, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(body)
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": hookKey, "nbf": now.Add(-7 * time.Minute).Unix(), "exp": now.Add(-2 * time.Minute).Unix(),
		"sha256": base64.StdEncoding.EncodeToString(sum[:]),
	}).SignedString([]byte(hookSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	w, err := livekitapi.NewWebhooks(hookKey, []byte(hookSecret))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"event":"participant_joined","room":{"name":"org_1/standup"},"participant":{"identity":"user_a#phone","attributes":{"gatepass.iat":"1800000000"}},"newerField":1}`)
	got, err := w.VerifyWebhook(signed(t, hookKey, hookSecret, body, 5*time.Minute), body)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.Participant{Room: "org_1/standup", Identity: "user_a#phone", Granted: true,
		Principal: domain.Principal{UserID: "user_a", OrgID: "org_1", IssuedAt: time.Unix(1800000000, 0).UTC()}}
	if got.Name != domain.LiveKitParticipantJoined || !got.Joined || !reflect.DeepEqual(got.Participant, want) {
		t.Fatalf("event %+v, want participant_joined by %+v", got, want)
	}
	left := []byte(`{"event":"participant_left","room":{"name":"org_1/standup"},"participant":{"identity":"user_a"}}`)
	if got, err := w.VerifyWebhook(signed(t, hookKey, hookSecret, left, time.Minute), left); err != nil || got.Name != "participant_left" || got.Joined {
		t.Fatalf("participant_left: %+v, %v; want an event that is no join", got, err)
	}
	if _, err := w.VerifyWebhook("Bearer "+signed(t, hookKey, hookSecret, body, time.Minute), body); err != nil {
		t.Errorf("with Bearer: %v", err)
	}

	other := []byte(`{"event":"participant_joined","room":{"name":"org_1/standup"},"participant":{"identity":"user_b"}}`)
	tests := []struct {
		name          string
		authorization string
		body          []byte
		wantErr       error
	}{
		{name: "unsigned", body: body, wantErr: domain.ErrInvalidWebhook},
		{name: "not a JWT", authorization: "token", body: body, wantErr: domain.ErrInvalidWebhook},
		{name: "another secret", authorization: signed(t, hookKey, "another-secret-of-at-least-32-bytes!", body, time.Minute), body: body, wantErr: domain.ErrInvalidWebhook},
		{name: "another key", authorization: signed(t, "APIother", hookSecret, body, time.Minute), body: body, wantErr: domain.ErrInvalidWebhook},
		{name: "another body", authorization: signed(t, hookKey, hookSecret, body, time.Minute), body: other, wantErr: domain.ErrInvalidWebhook},
		{name: "expired", authorization: expired(t, body), body: body, wantErr: domain.ErrInvalidWebhook},
		{name: "signed, not an event", authorization: signed(t, hookKey, hookSecret, []byte("[]"), time.Minute), body: []byte("[]"), wantErr: domain.ErrMalformedWebhook},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := w.VerifyWebhook(tt.authorization, tt.body); !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := (livekitapi.Webhooks{}).VerifyWebhook(signed(t, hookKey, hookSecret, body, time.Minute), body); !errors.Is(err, domain.ErrInvalidWebhook) {
		t.Errorf("the zero value verified: %v", err)
	}
}
