//go:build !cgo

package softhsmtest

import "testing"

// Generate fails t: making a key in the token goes through crypto11, which
// needs cgo.
func (tok *Token) Generate(t testing.TB, alg, label string) {
	t.Helper()
	t.Fatalf("softhsmtest: generating a %s key in SoftHSM2 needs a cgo build", alg)
}
