package natsserver_test

import (
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/test/natsserver"
)

// userJWT is a bearer user JWT for a fresh key, signed by signer for
// account, allowed to publish and subscribe to pub.
func userJWT(t *testing.T, signer nkeys.KeyPair, account string, pub string) string {
	t.Helper()
	user, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	upub, _ := user.PublicKey()
	uc := jwt.NewUserClaims(upub)
	uc.IssuerAccount = account
	uc.BearerToken = true
	uc.Expires = time.Now().Add(time.Minute).Unix()
	uc.Pub.Allow.Add(pub)
	uc.Sub.Allow.Add(pub)
	token, err := uc.Encode(signer)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// TestHarness: the server admits a JWT of the signing key the account
// lists, refuses one of a key it does not list, and enforces the JWT's
// permissions, which the tests built on the harness depend on.
func TestHarness(t *testing.T) {
	t.Parallel()
	s := natsserver.Start(t, natsserver.Config{WebSocket: true})
	if s.WebSocketURL() == "" || s.ClientPort == 0 {
		t.Fatalf("listeners %q %d", s.WebSocketURL(), s.ClientPort)
	}
	c, err := natsserver.Connect(t, s.URL(), userJWT(t, s.SigningKey, s.AccountPublic, "ok.>"), nil)
	if err != nil {
		t.Fatalf("a JWT of the listed signing key: %v", err)
	}
	sub, err := c.SubscribeSync("ok.x")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish("ok.x", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(10 * time.Second); err != nil || string(m.Data) != "hi" {
		t.Fatalf("message %v %v", m, err)
	}
	if err := c.Publish("not.ok", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Violation(10 * time.Second); err != nil {
		t.Fatalf("publish outside the JWT's permissions: %v", err)
	}

	stranger, _ := nkeys.CreateAccount()
	if _, err := natsserver.Connect(t, s.URL(), userJWT(t, stranger, s.AccountPublic, "ok.>"), nil); err == nil {
		t.Fatal("a JWT of a signing key the account does not list connected")
	}
}
