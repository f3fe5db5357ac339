package jwtsigner

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatepass/gatepass/domain"
)

// MinSecretBytes is the shortest HMAC secret accepted: HS256 needs a key
// of at least the hash size (RFC 7518 section 3.2).
const MinSecretBytes = 32

// ErrWeakSecret means the HMAC secret is shorter than MinSecretBytes.
var ErrWeakSecret = errors.New("hmac secret is too short")

var _ domain.RealtimeSigner = (*RealtimeSigner)(nil)

// RealtimeSigner signs Supabase Realtime tokens with HS256.
type RealtimeSigner struct {
	hs *hs256
}

// NewRealtimeSigner returns an HS256 signer with secret.
func NewRealtimeSigner(secret []byte) (*RealtimeSigner, error) {
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("%w: %d bytes, need at least %d", ErrWeakSecret, len(secret), MinSecretBytes)
	}
	hs, err := newHS256(secret)
	if err != nil {
		return nil, err
	}
	return &RealtimeSigner{hs: hs}, nil
}

// SignRealtime signs c as a JWT with Supabase's claim names.
func (s *RealtimeSigner) SignRealtime(_ context.Context, c domain.RealtimeClaims) (string, error) {
	claims := realtimeJWT{registeredJWT: fromRegistered(c.Registered), Role: c.Role}
	// Supabase tokens carry no nbf.
	claims.Nbf = 0
	if c.App != nil {
		claims.App = &appMetadataJWT{OrgID: c.App.OrgID, OrgRole: c.App.OrgRole}
	}
	b := getBuffer()
	defer putBuffer(b)
	b.claims = claims.appendJSON(b.claims[:0])
	return s.hs.sign(b), nil
}
