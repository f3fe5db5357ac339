package jwksidentity

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/MicahParks/jwkset"
)

// SkipReason says why a key of a JWK Set is left out.
type SkipReason string

// Why keys are left out of a JWK Set.
const (
	// SkipPrivateKey: the entry carries private members (d, p, q, dp, dq,
	// qi, oth, or k of a symmetric key). A provider publishing them is
	// broken or compromised, and a shared secret verifies nothing here.
	SkipPrivateKey SkipReason = "private_key"
	// SkipNotForSignatures: use is not "sig", or key_ops lacks "verify".
	SkipNotForSignatures SkipReason = "not_for_signatures"
	// SkipWeakKey: an RSA key under 2048 bits.
	SkipWeakKey SkipReason = "weak_key"
	// SkipUnsupported: a key type or curve this verifier does not use.
	SkipUnsupported SkipReason = "unsupported"
	// SkipInvalid: the entry is not a valid JWK.
	SkipInvalid SkipReason = "invalid"
	// SkipDuplicateKID: an earlier key of the set has the same kid.
	SkipDuplicateKID SkipReason = "duplicate_kid"
)

// privateMembers are the JWK members that hold private or secret key
// material (RFC 7518 section 6).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// parseSet parses a JWK Set and returns the keys fit to verify signatures,
// telling skip of every other one. It fails when the set is not JSON or no
// key remains.
func parseSet(body []byte, skip func(kid string, reason SkipReason, cause error)) ([]jwkset.JWK, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJWKSMalformed, err)
	}
	var out []jwkset.JWK
	seen := map[string]bool{}
	for _, raw := range set.Keys {
		jwk, kid, reason, err := parseKey(raw)
		if err == nil && seen[kid] {
			reason, err = SkipDuplicateKID, fmt.Errorf("kid %q appears twice", kid)
		}
		if err != nil {
			skip(kid, reason, err)
			continue
		}
		seen[kid] = true
		out = append(out, jwk)
	}
	if len(out) == 0 {
		return nil, ErrEmptyKeySet
	}
	return out, nil
}

// parseKey parses one JWK and checks that it is a public key fit to verify
// signatures.
func parseKey(raw json.RawMessage) (jwk jwkset.JWK, kid string, reason SkipReason, err error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return jwkset.JWK{}, "", SkipInvalid, err
	}
	var m jwkset.JWKMarshal
	if err := json.Unmarshal(raw, &m); err != nil {
		return jwkset.JWK{}, "", SkipInvalid, err
	}
	kid = m.KID
	for _, name := range privateMembers {
		if _, present := members[name]; present {
			return jwkset.JWK{}, kid, SkipPrivateKey, fmt.Errorf("member %q holds private key material", name)
		}
	}
	if _, present := members["use"]; present && m.USE != jwkset.UseSig {
		return jwkset.JWK{}, kid, SkipNotForSignatures, fmt.Errorf("use is %q", m.USE)
	}
	if _, present := members["key_ops"]; present && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify) {
		return jwkset.JWK{}, kid, SkipNotForSignatures, fmt.Errorf("key_ops %q lack verify", m.KEYOPS)
	}
	jwk, err = jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return jwkset.JWK{}, kid, SkipInvalid, err
	}
	if err := checkPublicKey(jwk.Key()); err != nil {
		if errors.Is(err, ErrWeakKey) {
			return jwkset.JWK{}, kid, SkipWeakKey, err
		}
		return jwkset.JWK{}, kid, SkipUnsupported, err
	}
	return jwk, kid, "", nil
}
