// Package jwks builds JSON Web Keys and Key Sets of public keys with
// github.com/MicahParks/jwkset, and names keys by their RFC 7638 thumbprint.
package jwks

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/MicahParks/jwkset"

	"github.com/gatepass/gatepass/domain"
)

// ErrUnsupportedKey means a key is not an RSA, ECDSA or Ed25519 public key.
var ErrUnsupportedKey = errors.New("unsupported public key type")

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url without
// padding) of pub: the hash of the key's required members, in lexical order,
// with no white space.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	m, err := marshal(pub, jwkset.JWKMetadataOptions{})
	if err != nil {
		return "", err
	}
	var members any
	switch m.KTY {
	case jwkset.KtyRSA:
		members = struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{m.E, string(m.KTY), m.N}
	case jwkset.KtyEC:
		members = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{string(m.CRV), string(m.KTY), m.X, m.Y}
	case jwkset.KtyOKP:
		members = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{string(m.CRV), string(m.KTY), m.X}
	default:
		return "", ErrUnsupportedKey
	}
	canonical, err := json.Marshal(members)
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	sum := sha256.Sum256(canonical)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// Key is a public verification key as published: the key, its algorithm
// and its key id.
type Key struct {
	Public    crypto.PublicKey
	Algorithm string
	KID       string
}

// SetJSON returns the JWK Set of keys, public members only, each with
// "use": "sig".
func SetJSON(keys []Key) ([]byte, error) {
	set := jwkset.JWKSMarshal{Keys: make([]jwkset.JWKMarshal, 0, len(keys))}
	for _, k := range keys {
		m, err := marshal(k.Public, jwkset.JWKMetadataOptions{
			ALG: jwkset.ALG(k.Algorithm),
			KID: k.KID,
			USE: jwkset.UseSig,
		})
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.KID, err)
		}
		set.Keys = append(set.Keys, m)
	}
	return json.Marshal(set)
}

// VerificationSetJSON is the JWK Set of the office-router verification
// keys, in the order given: the one mapping from the domain's keys to what
// /.well-known/jwks.json and `gatepass keys jwks` print. Give it the keys
// as application.ListVerificationKeysHandler orders them, the signing key
// first.
func VerificationSetJSON(keys []domain.VerificationKey) ([]byte, error) {
	list := make([]Key, len(keys))
	for i, k := range keys {
		list[i] = Key{Public: k.Public, Algorithm: k.Algorithm, KID: k.KID}
	}
	return SetJSON(list)
}

func marshal(pub crypto.PublicKey, meta jwkset.JWKMetadataOptions) (jwkset.JWKMarshal, error) {
	if _, isPrivate := pub.(crypto.Signer); isPrivate {
		// A private key here is a programming error; never risk publishing one.
		return jwkset.JWKMarshal{}, ErrUnsupportedKey
	}
	jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{
		Metadata: meta,
		Marshal:  jwkset.JWKMarshalOptions{Private: false},
	})
	if err != nil {
		return jwkset.JWKMarshal{}, errors.Join(ErrUnsupportedKey, err)
	}
	return jwk.Marshal(), nil
}
