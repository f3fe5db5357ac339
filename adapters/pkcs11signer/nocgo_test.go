//go:build !cgo

package pkcs11signer_test

import (
	"errors"
	"testing"

	"github.com/gatepass/gatepass/adapters/pkcs11signer"
)

func TestUnavailableWithoutCgo(t *testing.T) {
	cfg := pkcs11signer.Config{Module: "m.so", TokenLabel: "t", PIN: "p", KeyLabel: "k"}
	if _, err := pkcs11signer.Open(cfg); !errors.Is(err, pkcs11signer.ErrUnavailable) {
		t.Errorf("Open() err = %v, want %v", err, pkcs11signer.ErrUnavailable)
	}
}
