package jwtsigner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jsonappend"
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
	hs     *hs256
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
	hs, err := newHS256(secret)
	if err != nil {
		return nil, err
	}
	return &LiveKitSigner{apiKey: apiKey, hs: hs}, nil
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
		Attributes: liveKitAttributesJWT(c.Attributes),
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
	b := getBuffer()
	defer putBuffer(b)
	var err error
	if b.claims, err = claims.appendJSON(b.claims[:0]); err != nil {
		return "", fmt.Errorf("sign livekit HS256: %w", err)
	}
	return s.hs.sign(b), nil
}

// liveKitJWT is the wire form of a LiveKit access token (LiveKit's
// ClaimGrants with the registered claims). It has no aud.
type liveKitJWT struct {
	Iss        string               `json:"iss"`
	Sub        string               `json:"sub"`
	Iat        int64                `json:"iat"`
	Nbf        int64                `json:"nbf"`
	Exp        int64                `json:"exp"`
	Jti        string               `json:"jti"`
	Name       string               `json:"name"`
	Metadata   string               `json:"metadata"`
	Attributes liveKitAttributesJWT `json:"attributes"`
	Video      liveKitVideoJWT      `json:"video"`
	RoomConfig json.RawMessage      `json:"roomConfig,omitempty"`
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

// appendJSON writes the claims as json.Marshal does: attributes sorted by
// key, the room configuration compacted and HTML-escaped, and an error
// when it is not JSON.
func (l *liveKitJWT) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"iss":`...)
	b = jsonappend.String(b, l.Iss)
	b = append(b, `,"sub":`...)
	b = jsonappend.String(b, l.Sub)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, l.Iat, 10)
	b = append(b, `,"nbf":`...)
	b = strconv.AppendInt(b, l.Nbf, 10)
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, l.Exp, 10)
	b = append(b, `,"jti":`...)
	b = jsonappend.String(b, l.Jti)
	b = append(b, `,"name":`...)
	b = jsonappend.String(b, l.Name)
	b = append(b, `,"metadata":`...)
	b = jsonappend.String(b, l.Metadata)
	b = append(b, `,"attributes":`...)
	b = l.Attributes.appendJSON(b, l.Iat)
	v := l.Video
	b = append(b, `,"video":{"room":`...)
	b = jsonappend.String(b, v.Room)
	b = strconv.AppendBool(append(b, `,"roomJoin":`...), v.RoomJoin)
	b = strconv.AppendBool(append(b, `,"canPublish":`...), v.CanPublish)
	b = strconv.AppendBool(append(b, `,"canSubscribe":`...), v.CanSubscribe)
	b = strconv.AppendBool(append(b, `,"canPublishData":`...), v.CanPublishData)
	b = strconv.AppendBool(append(b, `,"canUpdateOwnMetadata":`...), v.CanUpdateOwnMetadata)
	b = strconv.AppendBool(append(b, `,"roomAdmin":`...), v.RoomAdmin)
	if v.RoomCreate {
		b = append(b, `,"roomCreate":true`...)
	}
	b = append(b, '}')
	if len(l.RoomConfig) > 0 {
		// Rare and bounded (domain.MaxRoomConfigBytes): encoding/json's own
		// compaction and escaping.
		raw, err := json.Marshal(l.RoomConfig)
		if err != nil {
			return nil, fmt.Errorf("room configuration: %w", err)
		}
		b = append(b, `,"roomConfig":`...)
		b = append(b, raw...)
	}
	return append(b, '}'), nil
}

// liveKitAttributesJWT is the "attributes" claim: one JSON object of the
// verified attributes and the caller's others.
type liveKitAttributesJWT domain.LiveKitAttributes

// appendJSON writes the attributes as json.Marshal writes them as one map
// (keys sorted), without building the map, with iat, the grant's issue
// time, under domain.AttributeIssuedAt.
func (a liveKitAttributesJWT) appendJSON(b []byte, iat int64) []byte {
	// Sorted already: "gatepass.iat" < "orgId" < "role" < "userId".
	var stack [domain.MaxAttributes + 4]string
	keys := append(stack[:0], domain.AttributeIssuedAt, domain.AttributeOrgID, domain.AttributeRole, domain.AttributeUserID)
	for k := range a.Others {
		if !domain.ReservedAttribute(k) && k != domain.AttributeIssuedAt {
			keys = append(keys, k)
		}
	}
	if len(keys) > 4 {
		slices.Sort(keys)
	}
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonappend.Key(b, k)
		if k == domain.AttributeIssuedAt {
			b = append(b, '"')
			b = append(strconv.AppendInt(b, iat, 10), '"')
			continue
		}
		b = jsonappend.String(b, a.value(k))
	}
	return append(b, '}')
}

func (a liveKitAttributesJWT) value(key string) string {
	switch key {
	case domain.AttributeUserID:
		return a.UserID
	case domain.AttributeOrgID:
		return a.OrgID
	case domain.AttributeRole:
		return a.Role
	}
	return a.Others[key]
}
