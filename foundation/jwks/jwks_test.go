package jwks_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jwks"
)

// The example key and thumbprint of RFC 7638 section 3.1.
const (
	rfcN   = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	rfcKID = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

func TestThumbprintRFC7638Example(t *testing.T) {
	n, err := base64.RawURLEncoding.DecodeString(rfcN)
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	got, err := jwks.Thumbprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	if got != rfcKID {
		t.Fatalf("thumbprint = %s, want %s", got, rfcKID)
	}
}

func TestThumbprintKeyTypes(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name    string
		key     any
		wantErr error
	}{
		{name: "ecdsa", key: &ec.PublicKey},
		{name: "ed25519", key: edPub},
		{name: "private key is refused", key: edPriv, wantErr: jwks.ErrUnsupportedKey},
		{name: "bytes are refused", key: []byte("secret"), wantErr: jwks.ErrUnsupportedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kid, err := jwks.Thumbprint(tt.key)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && len(kid) != 43 {
				t.Fatalf("kid %q is not a base64url SHA-256", kid)
			}
		})
	}
}

func TestSetJSONPublishesPublicMembersOnly(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := jwks.Thumbprint(&key.PublicKey)
	body, err := jwks.SetJSON([]jwks.Key{{Public: &key.PublicKey, Algorithm: "RS256", KID: kid}})
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("%d keys", len(set.Keys))
	}
	k := set.Keys[0]
	for member, want := range map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "e": "AQAB"} {
		if k[member] != want {
			t.Errorf("%s = %v, want %s", member, k[member], want)
		}
	}
	for member := range k {
		switch member {
		case "kty", "use", "alg", "kid", "n", "e":
		default:
			t.Errorf("unexpected member %q in %s", member, body)
		}
	}
	if strings.Contains(string(body), `"d"`) {
		t.Fatal("private exponent published")
	}
	if _, err := jwks.SetJSON([]jwks.Key{{Public: key, Algorithm: "RS256", KID: kid}}); err == nil {
		t.Fatal("a private key was serialised")
	}
}

func TestVerificationSetJSONKeepsTheOrderGiven(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKID, _ := jwks.Thumbprint(&rsaKey.PublicKey)
	ecKID, _ := jwks.Thumbprint(&ec.PublicKey)
	keys := []domain.VerificationKey{
		{KID: ecKID, Algorithm: "ES256", Public: &ec.PublicKey, Signing: true},
		{KID: rsaKID, Algorithm: "RS256", Public: &rsaKey.PublicKey},
	}
	body, err := jwks.VerificationSetJSON(keys)
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || set.Keys[0]["kid"] != ecKID || set.Keys[0]["alg"] != "ES256" ||
		set.Keys[1]["kid"] != rsaKID || set.Keys[1]["alg"] != "RS256" {
		t.Fatalf("set %s, want the EC key then the RSA key", body)
	}
	// The same mapping as SetJSON, byte for byte.
	same, err := jwks.SetJSON([]jwks.Key{
		{Public: &ec.PublicKey, Algorithm: "ES256", KID: ecKID},
		{Public: &rsaKey.PublicKey, Algorithm: "RS256", KID: rsaKID},
	})
	if err != nil || string(same) != string(body) {
		t.Fatalf("SetJSON gave %s (%v), VerificationSetJSON %s", same, err, body)
	}
	keys[1].Public = rsaKey
	if _, err := jwks.VerificationSetJSON(keys); !errors.Is(err, jwks.ErrUnsupportedKey) {
		t.Fatalf("a private key: err = %v, want ErrUnsupportedKey", err)
	}
}
