package gosigner_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/adapters/gosigner"
	"github.com/gatepass/gatepass/adapters/signertest"
	"github.com/gatepass/gatepass/foundation/jwa"
	"github.com/gatepass/gatepass/foundation/pemkey"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/signerkinds"
)

func TestConformance(t *testing.T) {
	signertest.RunConformanceTests(t, func(t *testing.T, alg string) crypto.Signer {
		key, err := gosigner.Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		// Through PEM and back, as the service loads it.
		text, err := pemkey.EncodePKCS8(key)
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := gosigner.Load(string(text))
		if err != nil {
			t.Fatal(err)
		}
		return loaded
	}, jwa.Algorithms(), signerkinds.Centrifugo)
}

func TestLoad(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey := kit.NewECKey(t)
	edKey := kit.NewEd25519Key(t)
	weakRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := func(key any) string {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	sec1 := func(key *ecdsa.PrivateKey) string {
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	}
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}))
	escaped := strings.ReplaceAll(pkcs8(ecKey), "\n", `\n`)

	tests := []struct {
		name    string
		pem     string
		want    crypto.Signer
		wantErr error
	}{
		{name: "RSA PKCS#1", pem: pkcs1, want: rsaKey},
		{name: "RSA PKCS#8", pem: pkcs8(rsaKey), want: rsaKey},
		{name: "EC P-256 SEC 1", pem: sec1(ecKey), want: ecKey},
		{name: "EC P-256 PKCS#8", pem: pkcs8(ecKey), want: ecKey},
		{name: "Ed25519 PKCS#8", pem: pkcs8(edKey), want: edKey},
		{name: "literal backslash-n", pem: escaped, want: ecKey},
		{name: "RSA under 2048 bits", pem: pkcs8(weakRSA), wantErr: pemkey.ErrWeakKey},
		{name: "EC P-384", pem: sec1(p384), wantErr: pemkey.ErrUnsupportedKey},
		{name: "public key", pem: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}})), wantErr: pemkey.ErrPublicKey},
		{name: "garbage in a PEM block", pem: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})), wantErr: pemkey.ErrUnparsable},
		{name: "no PEM", pem: "not a key", wantErr: pemkey.ErrNoPEM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gosigner.Load(tt.pem)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Load() err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			type equaler interface{ Equal(crypto.PrivateKey) bool }
			if !got.(equaler).Equal(tt.want) {
				t.Errorf("Load() returned another key (%T)", got)
			}
		})
	}
}

func TestGenerateUnknownAlgorithm(t *testing.T) {
	if _, err := gosigner.Generate("HS256"); !errors.Is(err, jwa.ErrUnsupportedAlgorithm) {
		t.Errorf("Generate(HS256) err = %v, want %v", err, jwa.ErrUnsupportedAlgorithm)
	}
}

func BenchmarkSign(b *testing.B) {
	for _, alg := range jwa.Algorithms() {
		key, err := gosigner.Generate(alg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(alg, func(b *testing.B) { signertest.BenchmarkSign(b, key, alg) })
	}
}
