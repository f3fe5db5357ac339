package pemkey_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/gatepass/gatepass/adapters/pemkey"
)

// TestParsePrivateRSAStaysRSAOnly pins that the RSA-only parser the
// identity and development code use did not widen with ParsePrivate.
func TestParsePrivateRSAStaysRSAOnly(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []crypto.Signer{ec, ed} {
		text, err := pemkey.EncodePKCS8(key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pemkey.ParsePrivateRSA(string(text)); !errors.Is(err, pemkey.ErrNotRSA) {
			t.Errorf("ParsePrivateRSA(%T) err = %v, want %v", key, err, pemkey.ErrNotRSA)
		}
		if _, err := pemkey.ParsePrivate(string(text)); err != nil {
			t.Errorf("ParsePrivate(%T): %v", key, err)
		}
	}
}

func TestEncodePKCS8RoundTrip(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	text, err := pemkey.EncodePKCS8(key)
	if err != nil {
		t.Fatal(err)
	}
	// An RSA key is written as PKCS#8 too, not as PKCS#1.
	if block, _ := pem.Decode(text); block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("EncodePKCS8 wrote %q", text)
	}
	got, err := pemkey.ParsePrivate(string(text))
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(got) {
		t.Error("round trip returned another key")
	}
}
