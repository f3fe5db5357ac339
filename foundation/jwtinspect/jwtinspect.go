// Package jwtinspect decodes tokens and reads verification keys for
// operators: the `gatepass token inspect` and `gatepass token verify`
// commands. Verification itself is jwksidentity's, so that `token verify`
// applies exactly the service's rules.
package jwtinspect

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/foundation/pemkey"
)

// ErrMalformed means the text is not a compact JWS.
var ErrMalformed = errors.New("not a compact JWS (header.payload.signature)")

// Parts are a token's decoded header and claims.
type Parts struct {
	Header map[string]any `json:"header"`
	Claims map[string]any `json:"claims"`
}

// Decode returns the header and claims of token without verifying it.
func Decode(token string) (Parts, error) {
	segs := strings.Split(strings.TrimSpace(token), ".")
	if len(segs) != 3 {
		return Parts{}, ErrMalformed
	}
	var p Parts
	for i, dst := range []*map[string]any{&p.Header, &p.Claims} {
		raw, err := base64.RawURLEncoding.DecodeString(segs[i])
		if err != nil {
			return Parts{}, fmt.Errorf("%w: segment %d is not base64url", ErrMalformed, i+1)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil {
			return Parts{}, fmt.Errorf("%w: segment %d is not a JSON object", ErrMalformed, i+1)
		}
	}
	return p, nil
}

// AsymmetricAlgorithms are the algorithms a public key may verify.
var AsymmetricAlgorithms = []string{"RS256", "PS256", "ES256", "EdDSA"}

// FixedKey is a key source of one public key, whatever the token's kid.
type FixedKey struct{ Key crypto.PublicKey }

// KeyfuncCtx returns the key.
func (k FixedKey) KeyfuncCtx(context.Context) jwt.Keyfunc {
	return func(*jwt.Token) (any, error) { return k.Key, nil }
}

// KeyFromPEMFile returns the public key in path (SPKI PEM, or the public
// half of a private key PEM): RSA, P-256 or Ed25519, every key type
// gatepass signs with.
func KeyFromPEMFile(path string) (FixedKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return FixedKey{}, err
	}
	if pubs, err := pemkey.ParsePublicKeys(string(b)); err == nil {
		return FixedKey{Key: pubs[0]}, nil
	} else if key, perr := pemkey.ParsePrivate(string(b)); perr == nil {
		return FixedKey{Key: key.Public()}, nil
	} else {
		return FixedKey{}, fmt.Errorf("%s: %w", path, err)
	}
}

// SecretFromFile returns the HMAC secret kept in path, without the white
// space around it.
func SecretFromFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	secret := bytes.TrimSpace(b)
	if len(secret) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return secret, nil
}
