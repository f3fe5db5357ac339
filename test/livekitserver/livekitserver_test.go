package livekitserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/test/livekitserver"
)

// videoGrant is the part of LiveKit's video grant these tests set.
type videoGrant struct {
	Room                 string `json:"room,omitempty"`
	RoomJoin             bool   `json:"roomJoin,omitempty"`
	RoomAdmin            bool   `json:"roomAdmin,omitempty"`
	CanPublish           *bool  `json:"canPublish,omitempty"`
	CanSubscribe         *bool  `json:"canSubscribe,omitempty"`
	CanPublishData       *bool  `json:"canPublishData,omitempty"`
	CanUpdateOwnMetadata *bool  `json:"canUpdateOwnMetadata,omitempty"`
}

func ptr(b bool) *bool { return &b }

// token signs a LiveKit access token the way a LiveKit server SDK does:
// HS256 with the API secret, iss the API key, sub the identity.
func token(t *testing.T, key, secret, identity string, grant videoGrant, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{
		"iss":   key,
		"sub":   identity,
		"name":  "Name of " + identity,
		"nbf":   now.Add(-time.Minute).Unix(),
		"exp":   now.Add(ttl).Unix(),
		"video": grant,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJoin(t *testing.T) {
	t.Parallel()
	srv := livekitserver.Start(t, livekitserver.Config{})
	ctx := t.Context()

	tests := []struct {
		name  string
		room  string
		ident string
		grant videoGrant
	}{
		{
			name:  "subscribe only",
			room:  "office-1",
			ident: "user-sub",
			grant: videoGrant{CanPublish: ptr(false), CanSubscribe: ptr(true), CanPublishData: ptr(false), CanUpdateOwnMetadata: ptr(false)},
		},
		{
			name:  "publisher",
			room:  "office-2",
			ident: "user-pub",
			grant: videoGrant{CanPublish: ptr(true), CanSubscribe: ptr(false), CanPublishData: ptr(true), CanUpdateOwnMetadata: ptr(true)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grant := tt.grant
			grant.Room, grant.RoomJoin = tt.room, true
			res, err := livekitserver.Join(ctx, srv.URL(), token(t, srv.APIKey, srv.APISecret, tt.ident, grant, time.Minute))
			if err != nil {
				t.Fatalf("Join: %v", err)
			}
			if res.Room != tt.room || res.RoomSID == "" {
				t.Errorf("room = %q (sid %q), want %q with a sid", res.Room, res.RoomSID, tt.room)
			}
			if res.Identity != tt.ident || res.SID == "" || res.Name != "Name of "+tt.ident {
				t.Errorf("participant = %q %q (sid %q), want %q", res.Identity, res.Name, res.SID, tt.ident)
			}
			p := res.Permission
			if p == nil {
				t.Fatal("JoinResponse has no permission")
			}
			got := []bool{p.GetCanPublish(), p.GetCanSubscribe(), p.GetCanPublishData(), p.GetCanUpdateMetadata()}
			want := []bool{*grant.CanPublish, *grant.CanSubscribe, *grant.CanPublishData, *grant.CanUpdateOwnMetadata}
			for i, name := range []string{"canPublish", "canSubscribe", "canPublishData", "canUpdateMetadata"} {
				if got[i] != want[i] {
					t.Errorf("%s = %v, want %v", name, got[i], want[i])
				}
			}
			if res.ServerVersion != "1.13.5" {
				t.Errorf("server version = %q, want 1.13.5", res.ServerVersion)
			}
		})
	}

	// The same works given the HTTP URL, as some configurations carry it.
	grant := videoGrant{Room: "office-3", RoomJoin: true}
	if _, err := livekitserver.Join(ctx, srv.HTTPURL(), token(t, srv.APIKey, srv.APISecret, "user-http", grant, time.Minute)); err != nil {
		t.Fatalf("Join with the http URL: %v", err)
	}
}

func TestJoinRefused(t *testing.T) {
	t.Parallel()
	srv := livekitserver.Start(t, livekitserver.Config{
		APIKey:    "APIgatepassTest",
		APISecret: "a-secret-of-at-least-thirty-two-bytes-for-tests",
	})
	ctx := t.Context()
	good := videoGrant{Room: "office-1", RoomJoin: true, CanPublish: ptr(false)}

	tampered := func() string {
		// Same signature, another room in the payload.
		parts := strings.Split(token(t, srv.APIKey, srv.APISecret, "user-1", good, time.Minute), ".")
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			t.Fatal(err)
		}
		claims["video"].(map[string]any)["room"] = "office-2"
		if payload, err = json.Marshal(claims); err != nil {
			t.Fatal(err)
		}
		parts[1] = base64.RawURLEncoding.EncodeToString(payload)
		return strings.Join(parts, ".")
	}

	tests := []struct {
		name       string
		token      string
		wantStatus int
		wantReason string
	}{
		{"other secret", token(t, srv.APIKey, "another-secret-of-thirty-two-bytes-or-more", "user-1", good, time.Minute), http.StatusUnauthorized, "invalid token"},
		{"tampered payload", tampered(), http.StatusUnauthorized, "invalid token"},
		{"unknown API key", token(t, "APIunknown", srv.APISecret, "user-1", good, time.Minute), http.StatusUnauthorized, "invalid API key"},
		{"expired", token(t, srv.APIKey, srv.APISecret, "user-1", good, -time.Hour), http.StatusUnauthorized, "invalid token"},
		{"no roomJoin", token(t, srv.APIKey, srv.APISecret, "user-1", videoGrant{Room: "office-1"}, time.Minute), http.StatusUnauthorized, "permissions denied"},
		{"not a JWT", "not-a-token", http.StatusUnauthorized, "invalid authorization token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := livekitserver.Join(ctx, srv.URL(), tt.token)
			if err == nil {
				t.Fatalf("Join succeeded (room %q, identity %q), want a refusal", res.Room, res.Identity)
			}
			if !errors.Is(err, livekitserver.ErrRefused) {
				t.Fatalf("err = %v, want ErrRefused", err)
			}
			var refused *livekitserver.RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("err = %T, want *RefusedError", err)
			}
			if refused.Status != tt.wantStatus || !strings.Contains(refused.Reason, tt.wantReason) {
				t.Errorf("refused with %d %q, want %d and a reason with %q", refused.Status, refused.Reason, tt.wantStatus, tt.wantReason)
			}
			if strings.Contains(err.Error(), tt.token) {
				t.Error("the error quotes the token")
			}
		})
	}
}

func TestJoinNoServer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// Port 1 on loopback has no LiveKit server.
	_, err := livekitserver.Join(ctx, "ws://127.0.0.1:1", "x.y.z")
	if err == nil || errors.Is(err, livekitserver.ErrRefused) {
		t.Fatalf("err = %v, want a connection error that is not a refusal", err)
	}
}
