// Package jwtinspect decodes and verifies tokens for operators: the
// `gatepass token inspect` and `gatepass token verify` commands. It uses
// golang-jwt and keyfunc, as the service's own verifier does, with the same
// strict rules (algorithm allow-list, required exp, exact issuer).
package jwtinspect

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/pemkey"
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

// Options are the verification rules.
type Options struct {
	// Keys returns the verification key for a token.
	Keys       jwt.Keyfunc
	Algorithms []string
	Issuer     string // checked exactly when set
	Audience   string // checked when set
	Now        func() time.Time
}

// Verify checks token's signature and claims, then returns its parts.
func Verify(token string, o Options) (Parts, error) {
	if len(o.Algorithms) == 0 {
		return Parts{}, errors.New("no algorithms allowed")
	}
	popts := []jwt.ParserOption{jwt.WithValidMethods(o.Algorithms), jwt.WithExpirationRequired(), jwt.WithIssuedAt()}
	if o.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(o.Issuer))
	}
	if o.Audience != "" {
		popts = append(popts, jwt.WithAudience(o.Audience))
	}
	if o.Now != nil {
		popts = append(popts, jwt.WithTimeFunc(o.Now))
	}
	token = strings.TrimSpace(token)
	if _, err := jwt.NewParser(popts...).Parse(token, o.Keys); err != nil {
		return Parts{}, err
	}
	return Decode(token)
}

// AsymmetricAlgorithms are the algorithms a public key may verify.
var AsymmetricAlgorithms = []string{"RS256", "PS256", "ES256", "EdDSA"}

// KeysFromPEMFile returns a key function for the public key in path (SPKI
// PEM, or the public half of a private key PEM): RSA, P-256 or Ed25519,
// every key type gatepass signs with.
func KeysFromPEMFile(path string) (jwt.Keyfunc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pub crypto.PublicKey
	if pubs, err := pemkey.ParsePublicKeys(string(b)); err == nil {
		pub = pubs[0]
	} else if key, perr := pemkey.ParsePrivate(string(b)); perr == nil {
		pub = key.Public()
	} else {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return func(*jwt.Token) (any, error) { return pub, nil }, nil
}

// KeysFromJWKS returns a key function over the JWK Set at url, fetched once.
func KeysFromJWKS(ctx context.Context, url string) (jwt.Keyfunc, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS: status %d", resp.StatusCode)
	}
	var raw json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&raw); err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	kf, err := keyfunc.NewJWKSetJSON(raw)
	if err != nil {
		return nil, err
	}
	return kf.Keyfunc, nil
}

// KeysFromSecretFile returns a key function for an HMAC secret kept in path.
func KeysFromSecretFile(path string) (jwt.Keyfunc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	secret := bytes.TrimSpace(b)
	if len(secret) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return func(*jwt.Token) (any, error) { return secret, nil }, nil
}
