package jwtsigner

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"sync"
)

// The HS256 fast path: an HMAC costs little next to the encoding, so the
// HS256 kinds build their compact JWS here rather than through golang-jwt's
// Token.SignedString, which per token marshals the header map, marshals
// the claims by reflection, base64-encodes each into a new string, joins
// them, and keys a new HMAC. Here the header is encoded once per signer,
// the claims are appended by hand into a pooled buffer, encoded into the
// same buffer, and HMACs come from a pool. golang-jwt stays the reference:
// reference_test.go holds every token to the one SignedString makes.

var b64 = base64.RawURLEncoding

// encodedHeader is the protected header as golang-jwt writes it (the JSON
// of its header map, keys sorted), base64url-encoded, and the dot that
// follows it.
func encodedHeader(alg string) (string, error) {
	raw, err := json.Marshal(map[string]any{"alg": alg, "typ": "JWT"})
	if err != nil {
		return "", fmt.Errorf("encode %s header: %w", alg, err)
	}
	return b64.EncodeToString(raw) + ".", nil
}

// jwsBuffer is the scratch space of one signature: the claims JSON, the
// token being assembled and the MAC.
type jwsBuffer struct {
	claims []byte
	out    []byte
	sum    []byte
}

// maxPooledBytes keeps a rare large token (one carrying a room configuration)
// from pinning its buffers in the pool.
const maxPooledBytes = 16 << 10

var jwsBuffers = sync.Pool{New: func() any {
	return &jwsBuffer{claims: make([]byte, 0, 512), out: make([]byte, 0, 1024), sum: make([]byte, 0, 64)}
}}

func getBuffer() *jwsBuffer { return jwsBuffers.Get().(*jwsBuffer) }

func putBuffer(b *jwsBuffer) {
	if cap(b.claims) > maxPooledBytes || cap(b.out) > maxPooledBytes {
		return
	}
	b.claims, b.out, b.sum = b.claims[:0], b.out[:0], b.sum[:0]
	jwsBuffers.Put(b)
}

// signingInput writes header.base64url(claims) into b.out.
func (b *jwsBuffer) signingInput(header string) {
	b.out = append(b.out[:0], header...)
	b.out = b64.AppendEncode(b.out, b.claims)
}

// finish appends the signature and returns the token.
func (b *jwsBuffer) finish(sig []byte) string {
	b.out = append(b.out, '.')
	b.out = b64.AppendEncode(b.out, sig)
	return string(b.out)
}

// hs256 signs with one HMAC-SHA256 secret; keyed HMACs are pooled, since
// keying one hashes the secret twice and allocates.
type hs256 struct {
	header string
	macs   sync.Pool
}

func newHS256(secret []byte) (*hs256, error) {
	header, err := encodedHeader("HS256")
	if err != nil {
		return nil, err
	}
	key := append([]byte(nil), secret...)
	return &hs256{header: header, macs: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}, nil
}

// sign signs the claims held in b.claims.
func (h *hs256) sign(b *jwsBuffer) string {
	b.signingInput(h.header)
	mac := h.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(b.out)
	b.sum = mac.Sum(b.sum[:0])
	h.macs.Put(mac)
	return b.finish(b.sum)
}
