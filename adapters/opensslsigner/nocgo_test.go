//go:build !cgo

package opensslsigner_test

import (
	"errors"
	"testing"

	"github.com/gatepass/gatepass/adapters/opensslsigner"
)

func TestUnavailableWithoutCgo(t *testing.T) {
	if err := opensslsigner.Available(); !errors.Is(err, opensslsigner.ErrUnavailable) {
		t.Errorf("Available() = %v, want %v", err, opensslsigner.ErrUnavailable)
	}
	if _, err := opensslsigner.New(nil); !errors.Is(err, opensslsigner.ErrUnavailable) {
		t.Errorf("New() err = %v, want %v", err, opensslsigner.ErrUnavailable)
	}
}
