package jwtsigner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/domain"
)

// Errors of the LiveKit signer.
var (
	// ErrInvalidAPIKey means a LiveKit API key is empty or holds white space
	// or control characters.
	ErrInvalidAPIKey = errors.New("invalid livekit api key")
	// ErrIssuerMismatch means claims name another issuer than the signer's
	// API key, which LiveKit would look the secret up by.
	ErrIssuerMismatch = errors.New("claims issuer is not the signer's api key")
)

var _ domain.LiveKitSigner = (*LiveKitSigner)(nil)

// LiveKitSigner signs LiveKit access tokens with HS256 and the API secret;
// the API key is their issuer.
type LiveKitSigner struct {
	apiKey string
	secret []byte
}

// NewLiveKitSigner returns a signer for the API key and secret (at least
// MinSecretBytes bytes).
func NewLiveKitSigner(apiKey string, secret []byte) (*LiveKitSigner, error) {
	if apiKey == "" || strings.ContainsFunc(apiKey, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, fmt.Errorf("%w: empty, or holds white space or control characters", ErrInvalidAPIKey)
	}
	if len(secret) < MinSecretBytes {
		return nil, fmt.Errorf("%w: %d bytes, need at least %d", ErrWeakSecret, len(secret), MinSecretBytes)
	}
	return &LiveKitSigner{apiKey: apiKey, secret: append([]byte(nil), secret...)}, nil
}

// APIKey is the issuer of the signer's tokens.
func (s *LiveKitSigner) APIKey() string { return s.apiKey }

// SignLiveKit signs c as a LiveKit access token. The issuer of c must be
// the signer's API key.
func (s *LiveKitSigner) SignLiveKit(_ context.Context, c domain.LiveKitClaims) (string, error) {
	if c.Issuer != s.apiKey {
		return "", ErrIssuerMismatch
	}
	r := c.Video.Rights
	claims := liveKitJWT{
		Iss:        c.Issuer,
		Sub:        c.Subject,
		Iat:        c.IssuedAt.Unix(),
		Nbf:        c.NotBefore.Unix(),
		Exp:        c.ExpiresAt.Unix(),
		Jti:        c.ID,
		Name:       c.Name,
		Metadata:   c.Metadata,
		Attributes: c.Attributes,
		Video: liveKitVideoJWT{
			Room:                 c.Video.Room,
			RoomJoin:             true,
			CanPublish:           r.CanPublish,
			CanSubscribe:         r.CanSubscribe,
			CanPublishData:       r.CanPublishData,
			CanUpdateOwnMetadata: r.CanUpdateOwnMetadata,
			RoomAdmin:            r.RoomAdmin,
			RoomCreate:           r.RoomCreate,
		},
		RoomConfig: c.RoomConfig,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.secret)
	if err != nil {
		return "", fmt.Errorf("sign livekit HS256: %w", err)
	}
	return signed, nil
}

// liveKitJWT is the wire form of a LiveKit access token (LiveKit's
// ClaimGrants with the registered claims). It has no aud.
type liveKitJWT struct {
	Iss        string            `json:"iss"`
	Sub        string            `json:"sub"`
	Iat        int64             `json:"iat"`
	Nbf        int64             `json:"nbf"`
	Exp        int64             `json:"exp"`
	Jti        string            `json:"jti"`
	Name       string            `json:"name"`
	Metadata   string            `json:"metadata"`
	Attributes map[string]string `json:"attributes"`
	Video      liveKitVideoJWT   `json:"video"`
	RoomConfig json.RawMessage   `json:"roomConfig,omitempty"`
}

// liveKitVideoJWT writes every right explicitly, false too: LiveKit reads
// a missing canPublish or canSubscribe as granted.
type liveKitVideoJWT struct {
	Room                 string `json:"room"`
	RoomJoin             bool   `json:"roomJoin"`
	CanPublish           bool   `json:"canPublish"`
	CanSubscribe         bool   `json:"canSubscribe"`
	CanPublishData       bool   `json:"canPublishData"`
	CanUpdateOwnMetadata bool   `json:"canUpdateOwnMetadata"`
	RoomAdmin            bool   `json:"roomAdmin"`
	RoomCreate           bool   `json:"roomCreate,omitempty"`
}

func (l liveKitJWT) GetExpirationTime() (*jwt.NumericDate, error) { return numeric(l.Exp), nil }
func (l liveKitJWT) GetIssuedAt() (*jwt.NumericDate, error)       { return numeric(l.Iat), nil }
func (l liveKitJWT) GetNotBefore() (*jwt.NumericDate, error)      { return numeric(l.Nbf), nil }
func (l liveKitJWT) GetIssuer() (string, error)                   { return l.Iss, nil }
func (l liveKitJWT) GetSubject() (string, error)                  { return l.Sub, nil }
func (l liveKitJWT) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }
