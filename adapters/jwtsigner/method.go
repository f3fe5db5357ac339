// Package jwtsigner signs as a compact JWS the grants whose verifier takes
// a JWT signed with gatepass's office key or with a shared secret: the
// grant kinds verified through gatepass's JWKS with the office key
// (JWT_ALGORITHM: RS256, PS256, ES256 or EdDSA) through any crypto.Signer,
// in memory, in OpenSSL or in an HSM (office.go, and a file for each other
// kind signed with it); the office-router's admin grants, which are no
// grant kind, with the same key (officerouter.go); and the kinds whose
// verifier holds a shared secret, with that secret (HS256, a file for
// each). Not every kind is signed here: a kind whose peer trusts keys of
// its own (an account signing key) has a signer adapter of its own, which
// the kind's registration in bootstrap names. claims.go, hs256.go and this
// file are shared by the kinds signed here.
//
// github.com/golang-jwt/jwt/v5 encodes the office-key grants
// (Token.SignedString over cryptoSignerMethod, a signing method whose key
// is a crypto.Signer). The HS256 kinds are appended by hand into pooled
// buffers with pooled HMACs (hs256.go). golang-jwt is the reference either
// way: the tests hold the token of every kind signed here to the one
// golang-jwt signs from claims of their own, byte for byte, and verify
// each with it.
package jwtsigner

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/foundation/jwa"
)

// ErrMalformedSignature means a crypto.Signer returned a signature that is
// not of the form its key type produces.
var ErrMalformedSignature = errors.New("signer returned a malformed signature")

// cryptoSignerMethod is a golang-jwt signing method whose key is a
// crypto.Signer, so the private key may live anywhere that implements it.
// Verification delegates to golang-jwt's own method.
type cryptoSignerMethod struct {
	verify jwt.SigningMethod
	// opts is what the crypto.Signer is asked for; its HashFunc is the
	// digest applied first, or 0 (EdDSA) to sign the message itself.
	opts crypto.SignerOpts
	// rawSize is the byte length of each of r and s in a JWS ECDSA
	// signature; 0 for the other key types, whose signatures pass as they are.
	rawSize int
}

var _ jwt.SigningMethod = (*cryptoSignerMethod)(nil)

// methodFor returns the crypto.Signer-based method for alg.
func methodFor(alg string) (*cryptoSignerMethod, error) {
	switch alg {
	case jwa.RS256:
		return &cryptoSignerMethod{verify: jwt.SigningMethodRS256, opts: crypto.SHA256}, nil
	case jwa.PS256:
		// Salt as long as the hash: what RFC 7518 section 3.5 asks for and
		// what jose and golang-jwt produce. crypto/rsa's default would be
		// the longest salt the key allows.
		return &cryptoSignerMethod{
			verify: jwt.SigningMethodPS256,
			opts:   &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256},
		}, nil
	case jwa.ES256:
		return &cryptoSignerMethod{verify: jwt.SigningMethodES256, opts: crypto.SHA256, rawSize: 32}, nil
	case jwa.EdDSA:
		return &cryptoSignerMethod{verify: jwt.SigningMethodEdDSA, opts: crypto.Hash(0)}, nil
	default:
		return nil, fmt.Errorf("%w %q", jwa.ErrUnsupportedAlgorithm, alg)
	}
}

func (m *cryptoSignerMethod) Alg() string { return m.verify.Alg() }

func (m *cryptoSignerMethod) Verify(signingString string, sig []byte, key any) error {
	return m.verify.Verify(signingString, sig, key)
}

func (m *cryptoSignerMethod) Sign(signingString string, key any) ([]byte, error) {
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, jwt.ErrInvalidKeyType
	}
	// A key of the wrong type would still sign, but under a false alg
	// header; refuse instead. This is a type switch, cheap next to signing.
	if err := jwa.KeyMatches(m.Alg(), signer.Public()); err != nil {
		return nil, err
	}
	msg := []byte(signingString)
	if h := m.opts.HashFunc(); h != 0 {
		d := h.New()
		d.Write(msg)
		msg = d.Sum(nil)
	}
	sig, err := signer.Sign(rand.Reader, msg, m.opts)
	if err != nil {
		return nil, err
	}
	if m.rawSize > 0 {
		return derToRaw(sig, m.rawSize)
	}
	return sig, nil
}

// derToRaw turns the ASN.1 DER ECDSA-Sig-Value that crypto.Signer returns
// into the fixed-width big-endian r||s of JWS (RFC 7518 section 3.4).
func derToRaw(der []byte, size int) ([]byte, error) {
	var v struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("%w: not an ECDSA DER signature", ErrMalformedSignature)
	}
	if v.R.Sign() <= 0 || v.S.Sign() <= 0 || v.R.BitLen() > 8*size || v.S.BitLen() > 8*size {
		return nil, fmt.Errorf("%w: ECDSA r or s out of range", ErrMalformedSignature)
	}
	raw := make([]byte, 2*size)
	v.R.FillBytes(raw[:size])
	v.S.FillBytes(raw[size:])
	return raw, nil
}
