package centrifugoserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/test/centrifugoserver"
	"github.com/gatepass/gatepass/test/kit"
)

const (
	issuer   = "gatepass-test"
	audience = "centrifugo-test"
)

// tokens signs Centrifugo connection and subscription tokens with the
// identity provider's RSA key (RS256, its kid), which the server reads from
// the provider's JWKS.
type tokens struct {
	t   *testing.T
	idp *kit.IdentityProvider
}

func (k tokens) sign(claims jwt.MapClaims) string { return k.idp.Sign(k.t, claims, nil) }

func (k tokens) connection(user string, edit func(jwt.MapClaims)) string {
	now := time.Now()
	c := jwt.MapClaims{
		"sub": user, "iss": issuer, "aud": audience,
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		"info": map[string]any{"name": "Name of " + user},
	}
	if edit != nil {
		edit(c)
	}
	return k.sign(c)
}

func (k tokens) subscription(user, channel string, edit func(jwt.MapClaims)) string {
	now := time.Now()
	c := jwt.MapClaims{
		"sub": user, "channel": channel, "iss": issuer, "aud": audience,
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		"info": map[string]any{"role": "member"},
	}
	if edit != nil {
		edit(c)
	}
	return k.sign(c)
}

func start(t *testing.T) (*centrifugoserver.Server, tokens) {
	idp := kit.NewIdentityProvider(t)
	srv := centrifugoserver.Start(t, centrifugoserver.Config{JWKSURL: idp.JWKSURL(), Issuer: issuer, Audience: audience})
	return srv, tokens{t: t, idp: idp}
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestConnectAndSubscribe(t *testing.T) {
	t.Parallel()
	srv, tok := start(t)
	ctx := timeout(t)

	c, err := centrifugoserver.Connect(ctx, srv.WebSocketURL(), tok.connection("user-1", nil))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer c.Close()
	if c.ClientID == "" {
		t.Error("the server gave the connection no client id")
	}

	sub, err := c.Subscribe(ctx, "org:42", tok.subscription("user-1", "org:42", nil))
	if err != nil {
		t.Fatalf("Subscribe org:42 with its token: %v", err)
	}
	if err := srv.Publish(ctx, "org:42", map[string]string{"hello": "org 42"}); err != nil {
		t.Fatal(err)
	}
	data, err := sub.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(data, &got); err != nil || got["hello"] != "org 42" {
		t.Errorf("publication = %s (%v), want {\"hello\":\"org 42\"}", data, err)
	}
}

func TestSubscribeRefused(t *testing.T) {
	t.Parallel()
	srv, tok := start(t)
	other := tokens{t: t, idp: kit.NewIdentityProvider(t)} // same kid, another key

	// Centrifugo answers a token it cannot verify (signature, aud, iss)
	// with error 103, an expired one with 109, and a verified token for
	// another channel or user with the disconnect 3500 of the client.
	tests := []struct {
		name     string
		channel  string
		token    string
		wantCode uint32
	}{
		{"no token", "org:1", "", 103},
		{"token for another channel", "org:2", tok.subscription("user-1", "org:3", nil), 3500},
		{"token for another user", "org:4", tok.subscription("user-2", "org:4", nil), 3500},
		{"wrong audience", "org:5", tok.subscription("user-1", "org:5", func(c jwt.MapClaims) { c["aud"] = "someone-else" }), 103},
		{"wrong issuer", "org:6", tok.subscription("user-1", "org:6", func(c jwt.MapClaims) { c["iss"] = "someone-else" }), 103},
		{"other key", "org:7", other.subscription("user-1", "org:7", nil), 103},
		{"expired", "org:8", tok.subscription("user-1", "org:8", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), 109},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := timeout(t)
			// A refused token can cost the whole connection: one each.
			c, err := centrifugoserver.Connect(ctx, srv.WebSocketURL(), tok.connection("user-1", nil))
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			defer c.Close()
			_, err = c.Subscribe(ctx, tt.channel, tt.token)
			var refused *centrifugoserver.RefusedError
			if !errors.As(err, &refused) || !errors.Is(err, centrifugoserver.ErrRefused) {
				t.Fatalf("Subscribe %s: err = %v, want a refusal", tt.channel, err)
			}
			if refused.Code != tt.wantCode {
				t.Errorf("refused with %v, want code %d", refused, tt.wantCode)
			}
		})
	}
}

func TestConnectRefused(t *testing.T) {
	t.Parallel()
	srv, tok := start(t)
	other := tokens{t: t, idp: kit.NewIdentityProvider(t)} // same kid, another key

	tests := []struct {
		name     string
		token    string
		wantCode uint32
	}{
		{"wrong audience", tok.connection("user-1", func(c jwt.MapClaims) { c["aud"] = "someone-else" }), 3500},
		{"wrong issuer", tok.connection("user-1", func(c jwt.MapClaims) { c["iss"] = "someone-else" }), 3500},
		{"other key", other.connection("user-1", nil), 3500},
		{"not a JWT", "not-a-token", 3500},
		// Anonymous connection tokens are turned off.
		{"no user", tok.connection("", nil), 3507},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := centrifugoserver.Connect(timeout(t), srv.WebSocketURL(), tt.token)
			if err == nil {
				c.Close()
				t.Fatal("Connect succeeded, want a refusal")
			}
			var refused *centrifugoserver.RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("err = %v, want a *RefusedError", err)
			}
			if refused.Code != tt.wantCode {
				t.Errorf("refused with %v, want code %d", refused, tt.wantCode)
			}
		})
	}
}
