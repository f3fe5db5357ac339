package statickeys_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/gatepass/gatepass/adapters/statickeys"
	"github.com/gatepass/gatepass/test/kit"
)

func TestKeySet(t *testing.T) {
	var pubs []crypto.PublicKey
	for range 3 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, &k.PublicKey)
	}
	set, err := statickeys.New(pubs[0], "RS256", pubs[1:])
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := set.VerificationKeys(context.Background())
	if len(keys) != 3 || !keys[0].Signing || keys[1].Signing || keys[2].Signing {
		t.Fatalf("keys %+v", keys)
	}
	for i, k := range keys {
		if kid := kit.Thumbprint(pubs[i].(*rsa.PublicKey)); k.KID != kid || k.Algorithm != "RS256" {
			t.Errorf("key %d: kid %s alg %s", i, k.KID, k.Algorithm)
		}
	}
	tests := []struct {
		name    string
		extra   []crypto.PublicKey
		wantErr error
	}{
		{name: "signing key published again", extra: []crypto.PublicKey{pubs[0]}, wantErr: statickeys.ErrSigningKeyListed},
		{name: "verification key twice", extra: []crypto.PublicKey{pubs[1], pubs[1]}, wantErr: statickeys.ErrDuplicateKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := statickeys.New(pubs[0], "RS256", tt.extra); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestKeySetKeepsThePreviousAlgorithmsKeyPublished(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set, err := statickeys.New(&ecKey.PublicKey, "ES256", []crypto.PublicKey{&rsaKey.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := set.VerificationKeys(context.Background())
	if keys[0].Algorithm != "ES256" || keys[1].Algorithm != "RS256" {
		t.Fatalf("algorithms %s, %s", keys[0].Algorithm, keys[1].Algorithm)
	}
	// An RSA key published beside a PS256 signing key is announced as PS256.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	set, _ = statickeys.New(&rsaKey.PublicKey, "PS256", []crypto.PublicKey{&other.PublicKey})
	keys, _ = set.VerificationKeys(context.Background())
	if keys[1].Algorithm != "PS256" {
		t.Fatalf("algorithm %s", keys[1].Algorithm)
	}
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := statickeys.New(&rsaKey.PublicKey, "RS256", []crypto.PublicKey{&weak.PublicKey}); err == nil {
		t.Fatal("a 1024-bit verification key was published")
	}
}
