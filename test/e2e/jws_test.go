package e2e_test

// A JWS verifier written from RFC 7515/7518 with the standard library only,
// so the tokens gatepass signs (with golang-jwt) are checked by code that
// shares nothing with the signer.

import (
	"bytes"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

type jws struct {
	Header map[string]any
	Claims map[string]any
}

func splitJWS(token string) (header, payload, sig []byte, signingInput string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, nil, "", errors.New("not three segments")
	}
	dec := base64.RawURLEncoding
	if header, err = dec.DecodeString(parts[0]); err != nil {
		return
	}
	if payload, err = dec.DecodeString(parts[1]); err != nil {
		return
	}
	if sig, err = dec.DecodeString(parts[2]); err != nil {
		return
	}
	return header, payload, sig, parts[0] + "." + parts[1], nil
}

func decodeJSON(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// verifyRS256 is verifyAsymmetric for RS256 tokens only.
func verifyRS256(token string, pub *rsa.PublicKey) (jws, error) {
	got, err := verifyAsymmetric(token, pub)
	if err == nil && got.Header["alg"] != "RS256" {
		return jws{}, fmt.Errorf("alg %v", got.Header["alg"])
	}
	return got, err
}

func verifyHS256(token string, secret []byte) (jws, error) {
	h, p, sig, input, err := splitJWS(token)
	if err != nil {
		return jws{}, err
	}
	header, err := decodeJSON(h)
	if err != nil {
		return jws{}, err
	}
	if header["alg"] != "HS256" {
		return jws{}, fmt.Errorf("alg %v", header["alg"])
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	if !hmac.Equal(mac.Sum(nil), sig) {
		return jws{}, errors.New("bad HMAC")
	}
	claims, err := decodeJSON(p)
	return jws{Header: header, Claims: claims}, err
}

func intClaim(c map[string]any, name string) (int64, error) {
	n, ok := c[name].(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s is %T, not a number", name, c[name])
	}
	if strings.ContainsAny(n.String(), ".eE") {
		return 0, fmt.Errorf("%s = %s is not an integer NumericDate", name, n)
	}
	return n.Int64()
}
