//go:build cgo

package softhsmtest

import (
	"crypto/elliptic"
	"errors"
	"testing"

	"github.com/ThalesGroup/crypto11"

	"github.com/gatepass/gatepass/foundation/jwa"
)

// Generate makes a key pair for alg inside the token, labelled label: RSA
// 2048 for RS256 and PS256, ECDSA P-256 for ES256. The private key is
// created non-extractable, as a production key would be.
func (tok *Token) Generate(t testing.TB, alg, label string) {
	t.Helper()
	ctx, err := crypto11.Configure(&crypto11.Config{Path: Module, TokenLabel: TokenLabel, Pin: PIN})
	if err != nil {
		t.Fatalf("open SoftHSM2 token: %v", err)
	}
	defer func() {
		if err := ctx.Close(); err != nil {
			t.Errorf("close SoftHSM2 token: %v", err)
		}
	}()
	id := []byte(label) // crypto11 pairs the private and public object by CKA_ID.
	switch alg {
	case jwa.RS256, jwa.PS256:
		_, err = ctx.GenerateRSAKeyPairWithLabel(id, []byte(label), 2048)
	case jwa.ES256:
		_, err = ctx.GenerateECDSAKeyPairWithLabel(id, []byte(label), elliptic.P256())
	default:
		err = errors.New("SoftHSM2 through crypto11 makes no key for " + alg)
	}
	if err != nil {
		t.Fatalf("generate %s key %q in SoftHSM2: %v", alg, label, err)
	}
}
