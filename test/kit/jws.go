package kit

// Hand-rolled JWS building with the standard library, so a token can hold
// what no JWT library would produce: any header or payload text, any
// algorithm, any signature bytes.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
)

// B64 is unpadded base64url, the encoding of every JWS segment.
func B64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Signer makes the signature of a JWS signing input.
type Signer func(t testing.TB, input string) []byte

// JWS builds a compact JWS of the given header and payload texts.
func JWS(t testing.TB, header, payload string, sign Signer) string {
	t.Helper()
	input := B64([]byte(header)) + "." + B64([]byte(payload))
	return input + "." + B64(sign(t, input))
}

// MustJSON marshals v or fails the test.
func MustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// RS256 signs with RSASSA-PKCS1-v1_5 and SHA-256.
func RS256(key *rsa.PrivateKey) Signer { return pkcs1v15(key, crypto.SHA256) }

// RS512 signs with RSASSA-PKCS1-v1_5 and SHA-512.
func RS512(key *rsa.PrivateKey) Signer { return pkcs1v15(key, crypto.SHA512) }

func pkcs1v15(key *rsa.PrivateKey, h crypto.Hash) Signer {
	return func(t testing.TB, input string) []byte {
		t.Helper()
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, digest(h, input))
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

func digest(h crypto.Hash, input string) []byte {
	if h == crypto.SHA512 {
		d := sha512.Sum512([]byte(input))
		return d[:]
	}
	d := sha256.Sum256([]byte(input))
	return d[:]
}

// PS256 signs with RSASSA-PSS and SHA-256.
func PS256(key *rsa.PrivateKey) Signer {
	return func(t testing.TB, input string) []byte {
		t.Helper()
		sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest(crypto.SHA256, input),
			&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

// ES256 signs as RFC 7518 section 3.4 says: R and S, 32 bytes each.
func ES256(key *ecdsa.PrivateKey) Signer {
	return func(t testing.TB, input string) []byte {
		t.Helper()
		r, s, err := ecdsa.Sign(rand.Reader, key, digest(crypto.SHA256, input))
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig
	}
}

// HS256 signs with HMAC SHA-256 under secret.
func HS256(secret []byte) Signer {
	return func(_ testing.TB, input string) []byte {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(input))
		return mac.Sum(nil)
	}
}

// Unsigned makes an empty signature, as alg "none" has.
func Unsigned(testing.TB, string) []byte { return nil }

// Segments splits a compact JWS into its three segments.
func Segments(t testing.TB, token string) (header, payload, sig string) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("%d segments", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

// PayloadOf decodes the claims of a compact JWS without verifying it.
func PayloadOf(t testing.TB, token string) map[string]any {
	t.Helper()
	_, p, _ := Segments(t, token)
	var m map[string]any
	if err := json.Unmarshal(MustDecode(t, p), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// MustDecode decodes a base64url segment or fails the test.
func MustDecode(t testing.TB, segment string) []byte {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// FlipBit flips one bit of the byte at i of a base64url segment's decoding.
func FlipBit(t testing.TB, segment string, i int) string {
	t.Helper()
	raw := MustDecode(t, segment)
	raw[i] ^= 0x01
	return B64(raw)
}

// OtherTrailingBits respells a 256-byte signature segment: its last
// character carries two bits of data and four unused bits, and this sets
// one of the unused ones.
func OtherTrailingBits(segment string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, segment[len(segment)-1])
	return segment[:len(segment)-1] + string(alphabet[last^1])
}

// RSAJWK is the public JWK of an RSA key.
func RSAJWK(kid, alg string, pub *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "use": "sig", "alg": alg, "kid": kid,
		"n": B64(pub.N.Bytes()), "e": B64(big.NewInt(int64(pub.E)).Bytes())}
}

// KeySet is the JWK Set of keys.
func KeySet(keys ...map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}

// Thumbprint is the RFC 7638 JWK thumbprint of an RSA key, computed here by
// hand.
func Thumbprint(pub *rsa.PublicKey) string {
	canonical := `{"e":"` + B64(big.NewInt(int64(pub.E)).Bytes()) + `","kty":"RSA","n":"` + B64(pub.N.Bytes()) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return B64(sum[:])
}

// NewRSAKey returns a fresh RSA key of bits and its PKCS#8 PEM.
func NewRSAKey(t testing.TB, bits int) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return key, PrivatePEM(t, key)
}

// NewECKey returns a fresh P-256 key, as ES256 signs with.
func NewECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// NewEd25519Key returns a fresh Ed25519 key, as EdDSA signs with.
func NewEd25519Key(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// PrivatePEM is the PKCS#8 PEM ("PRIVATE KEY") of key.
func PrivatePEM(t testing.TB, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// PublicPEM is the SPKI PEM ("PUBLIC KEY") of pub.
func PublicPEM(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}
