package jwtsigner_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/domain"
)

const liveKitKey = "APIgatepass1"

var liveKitSecret = []byte("livekit-api-secret-of-at-least-32-bytes!")

func liveKitClaims(t *testing.T, rights domain.LiveKitRights, req domain.LiveKitRequest) domain.LiveKitClaims {
	t.Helper()
	caller := domain.Principal{UserID: "user_01H", OrgID: "org_01", Role: "viewer"}
	c, err := domain.NewLiveKitClaims(caller, rights, req,
		domain.Issuance{Issuer: liveKitKey, ID: "jti-lk", Now: iat, TTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// verifyLiveKit checks the token with golang-jwt as LiveKit does (HS256,
// the secret of the issuer) and returns its claims.
func verifyLiveKit(t *testing.T, token string) map[string]any {
	t.Helper()
	claims := jwt.MapClaims{}
	parsed, err := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(liveKitKey), jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), jwt.WithTimeFunc(func() time.Time { return iat.Add(time.Second) }), jwt.WithJSONNumber()).
		ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return liveKitSecret, nil })
	if err != nil || !parsed.Valid {
		t.Fatalf("verify: %v", err)
	}
	if h := parsed.Header; h["alg"] != "HS256" || h["typ"] != "JWT" || len(h) != 2 {
		t.Fatalf("header %v", h)
	}
	if _, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return []byte("another-secret-of-at-least-32-bytes!!!"), nil },
		jwt.WithTimeFunc(func() time.Time { return iat })); err == nil {
		t.Fatal("verified with another secret")
	}
	return claims
}

func TestLiveKitSignerClaims(t *testing.T) {
	s, err := jwtsigner.NewLiveKitSigner(liveKitKey, liveKitSecret)
	if err != nil {
		t.Fatal(err)
	}
	if s.APIKey() != liveKitKey {
		t.Fatalf("APIKey %q", s.APIKey())
	}
	viewer := domain.LiveKitRights{CanSubscribe: true}
	token, err := s.SignLiveKit(context.Background(), liveKitClaims(t, viewer, domain.LiveKitRequest{
		Room: "standup", Identity: "user_01H#phone", Name: "Ada", Metadata: `{"seat":3}`,
		Attributes: map[string]string{"team": "blue", "role": "admin"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	claims := verifyLiveKit(t, token)
	wantKeys := []string{"iss", "sub", "iat", "nbf", "exp", "jti", "name", "metadata", "attributes", "video"}
	if got := slices.Sorted(maps.Keys(claims)); !slices.Equal(got, slices.Sorted(slices.Values(wantKeys))) {
		t.Fatalf("claims %v, want exactly %v (no aud, no roomConfig)", got, wantKeys)
	}
	for k, v := range map[string]string{"iss": liveKitKey, "sub": "user_01H#phone", "name": "Ada", "metadata": `{"seat":3}`,
		"jti": "jti-lk", "iat": "1800000000", "nbf": "1800000000", "exp": "1800000600"} {
		if toString(claims[k]) != v {
			t.Errorf("claim %s = %v, want %s", k, claims[k], v)
		}
	}
	attrs, _ := claims["attributes"].(map[string]any)
	if !maps.Equal(attrs, map[string]any{"team": "blue", "userId": "user_01H", "orgId": "org_01", "role": "viewer", "gatepass.iat": "1800000000"}) {
		t.Errorf("attributes %v", attrs)
	}
	video, _ := claims["video"].(map[string]any)
	want := map[string]any{"room": "org_01/standup", "roomJoin": true, "canPublish": false, "canSubscribe": true,
		"canPublishData": false, "canUpdateOwnMetadata": false, "roomAdmin": false}
	if !maps.Equal(video, want) {
		t.Errorf("video %v\nwant %v (every right explicit, no roomCreate)", video, want)
	}
}

func TestLiveKitSignerRoomCreate(t *testing.T) {
	s, err := jwtsigner.NewLiveKitSigner(liveKitKey, liveKitSecret)
	if err != nil {
		t.Fatal(err)
	}
	all := domain.LiveKitRights{CanPublish: true, CanSubscribe: true, CanPublishData: true, CanUpdateOwnMetadata: true, RoomAdmin: true, RoomCreate: true}
	token, err := s.SignLiveKit(context.Background(), liveKitClaims(t, all, domain.LiveKitRequest{
		Room: "r", RoomConfig: json.RawMessage(`{"emptyTimeout": 30, "agents": [{"agentName": "a"}]}`),
	}))
	if err != nil {
		t.Fatal(err)
	}
	claims := verifyLiveKit(t, token)
	video, _ := claims["video"].(map[string]any)
	for _, k := range []string{"roomJoin", "canPublish", "canSubscribe", "canPublishData", "canUpdateOwnMetadata", "roomAdmin", "roomCreate"} {
		if video[k] != true {
			t.Errorf("video.%s = %v, want true", k, video[k])
		}
	}
	config, _ := claims["roomConfig"].(map[string]any)
	if toString(config["emptyTimeout"]) != "30" || len(config) != 2 {
		t.Errorf("roomConfig %v", claims["roomConfig"])
	}
	if toString(claims["name"]) != "user_01H" || toString(claims["sub"]) != "user_01H" {
		t.Errorf("name %v sub %v: want the user id", claims["name"], claims["sub"])
	}
	if m, ok := claims["metadata"]; !ok || m != "" {
		t.Errorf("metadata %v, want an empty string", m)
	}
}

func TestLiveKitSignerRefuses(t *testing.T) {
	for name, key := range map[string]string{"empty": "", "space": "API key", "newline": "API\n"} {
		if _, err := jwtsigner.NewLiveKitSigner(key, liveKitSecret); !errors.Is(err, jwtsigner.ErrInvalidAPIKey) {
			t.Errorf("key %s: err = %v", name, err)
		}
	}
	if _, err := jwtsigner.NewLiveKitSigner(liveKitKey, make([]byte, jwtsigner.MinSecretBytes-1)); !errors.Is(err, jwtsigner.ErrWeakSecret) {
		t.Errorf("short secret: err = %v", err)
	}
	s, err := jwtsigner.NewLiveKitSigner("APIother", liveKitSecret)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.SignLiveKit(context.Background(), liveKitClaims(t, domain.LiveKitRights{}, domain.LiveKitRequest{Room: "r"}))
	if !errors.Is(err, jwtsigner.ErrIssuerMismatch) {
		t.Errorf("claims of another API key: err = %v", err)
	}
	if err != nil && strings.Contains(err.Error(), string(liveKitSecret)) {
		t.Error("the error carries the secret")
	}
}
