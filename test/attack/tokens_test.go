package attack_test

// Hand-rolled JWS building with the standard library, so a case can hold
// what no JWT library would produce: any header or payload text, any
// algorithm, any signature bytes.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signer makes the signature of a signing input.
type signer func(t testing.TB, input string) []byte

// jws builds a compact JWS of the given header and payload texts.
func jws(t testing.TB, header, payload string, sign signer) string {
	t.Helper()
	input := b64([]byte(header)) + "." + b64([]byte(payload))
	return input + "." + b64(sign(t, input))
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func rs256(key *rsa.PrivateKey) signer {
	return func(t testing.TB, input string) []byte {
		d := sha256.Sum256([]byte(input))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

func rs512(key *rsa.PrivateKey) signer {
	return func(t testing.TB, input string) []byte {
		d := sha512.Sum512([]byte(input))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA512, d[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

func ps256(key *rsa.PrivateKey) signer {
	return func(t testing.TB, input string) []byte {
		d := sha256.Sum256([]byte(input))
		sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

// es256 signs as RFC 7518 section 3.4 says: R and S, 32 bytes each.
func es256(key *ecdsa.PrivateKey) signer {
	return func(t testing.TB, input string) []byte {
		d := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig
	}
}

func hs256(secret []byte) signer {
	return func(_ testing.TB, input string) []byte {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(input))
		return mac.Sum(nil)
	}
}

func unsigned(testing.TB, string) []byte { return nil }

// segments splits a compact JWS.
func segments(t testing.TB, token string) (header, payload, sig string) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("%d segments", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

// payloadOf decodes the claims of a compact JWS without verifying it.
func payloadOf(t testing.TB, token string) map[string]any {
	t.Helper()
	_, p, _ := segments(t, token)
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// flipBit flips one bit of the byte at i of a base64url segment's decoding.
func flipBit(t testing.TB, segment string, i int) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		t.Fatal(err)
	}
	raw[i] ^= 0x01
	return b64(raw)
}

// otherTrailingBits respells a 256-byte signature segment: its last
// character carries two bits of data and four unused bits, and this sets
// one of the unused ones.
func otherTrailingBits(segment string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, segment[len(segment)-1])
	return segment[:len(segment)-1] + string(alphabet[last^1])
}

func mustDecode(t testing.TB, segment string) []byte {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
