// Package livekitapi is gatepass's side of a LiveKit server, on
// livekit/protocol (the library LiveKit's server and SDKs share): it
// evicts a revoked user's participants through the RoomService API
// (Twirp), with short-lived tokens it signs for the API key, removes one
// participant when the webhook says a revoked one joined again, verifies
// LiveKit's webhook calls as LiveKit signs them, and checks the room
// configurations a grant carries against LiveKit's schema, so gatepass
// refuses what LiveKit's own tooling would.
package livekitapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/gatepass/gatepass/domain"
)

var (
	_ domain.Evictor           = (*RoomService)(nil)
	_ domain.Participants      = (*RoomService)(nil)
	_ domain.PeerWebhooks      = Webhooks{}
	_ domain.RoomConfigChecker = RoomConfigs{}
)

// Defaults of Config.
const (
	// DefaultTokenTTL is how long each API token lives: one call's worth.
	DefaultTokenTTL = time.Minute
	// DefaultTimeout bounds each API call without a deadline of its own.
	DefaultTimeout = 5 * time.Second
)

// ErrInvalidConfig means the API's address or credentials are missing or
// unusable.
var ErrInvalidConfig = errors.New("invalid LiveKit API configuration")

// Config is where the API is and the key pair its tokens are signed with.
type Config struct {
	// URL is the server's HTTP(S) base URL; the RoomService is under
	// /twirp.
	URL       string
	APIKey    string
	APISecret []byte
	// TokenTTL is each API token's lifetime; zero means DefaultTokenTTL.
	TokenTTL time.Duration
	// Client makes the calls; nil means one with DefaultTimeout.
	Client *http.Client
}

// RoomService evicts and removes LiveKit participants through the
// server's RoomService API. Safe for concurrent use.
type RoomService struct {
	api    livekit.RoomService
	key    string
	secret string
	ttl    time.Duration
}

// New builds the client of the API at c.URL.
func New(c Config) (*RoomService, error) {
	u, err := url.Parse(c.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, fmt.Errorf("%w: the API URL must be an http or https URL", ErrInvalidConfig)
	case c.APIKey == "" || len(c.APISecret) == 0:
		return nil, fmt.Errorf("%w: an API key and secret are required", ErrInvalidConfig)
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = DefaultTokenTTL
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: DefaultTimeout}
	}
	return &RoomService{
		api: livekit.NewRoomServiceProtobufClient(strings.TrimSuffix(c.URL, "/"), c.Client),
		key: c.APIKey, secret: string(c.APISecret), ttl: c.TokenTTL,
	}, nil
}

// Transport is domain.TransportLiveKit.
func (*RoomService) Transport() domain.Transport { return domain.TransportLiveKit }

// Evict removes every participant of r's user from the rooms of r's
// organization (of every organization with AllOrganizations): each
// participant whose identity is the user id, or the user id followed by
// "#". A session revocation is not applicable: LiveKit does not know
// sessions. Count is how many participants were removed.
func (s *RoomService) Evict(ctx context.Context, r domain.Revocation) (domain.Eviction, error) {
	if r.SessionID != "" {
		return domain.Eviction{Status: domain.EvictionNotApplicable}, nil
	}
	rooms, err := s.listRooms(ctx)
	if err != nil {
		return domain.Eviction{}, err
	}
	removed := 0
	for _, room := range rooms {
		if !r.AllOrganizations && !domain.InLiveKitOrganization(room, r.OrgID) {
			continue
		}
		n, err := s.evictFrom(ctx, room, r.UserID)
		removed += n
		if err != nil {
			return domain.Eviction{Count: removed}, err
		}
	}
	return domain.Eviction{Status: domain.EvictionDone, Count: removed}, nil
}

func (s *RoomService) listRooms(ctx context.Context) ([]string, error) {
	ctx, err := s.authorized(ctx, &auth.VideoGrant{RoomList: true})
	if err != nil {
		return nil, err
	}
	res, err := s.api.ListRooms(ctx, &livekit.ListRoomsRequest{})
	if err != nil {
		return nil, fmt.Errorf("livekit list rooms: %w", err)
	}
	names := make([]string, 0, len(res.GetRooms()))
	for _, room := range res.GetRooms() {
		names = append(names, room.GetName())
	}
	return names, nil
}

// evictFrom removes user's participants from room, with one token for
// the room.
func (s *RoomService) evictFrom(ctx context.Context, room, user string) (int, error) {
	ctx, err := s.authorized(ctx, &auth.VideoGrant{RoomAdmin: true, Room: room})
	if err != nil {
		return 0, err
	}
	// A room that closed meanwhile lists no participants.
	res, err := s.api.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
	if err != nil {
		return 0, fmt.Errorf("livekit list participants of %q: %w", room, err)
	}
	removed := 0
	for _, p := range res.GetParticipants() {
		if !domain.MatchesLiveKitUser(p.GetIdentity(), user) {
			continue
		}
		gone, err := s.remove(ctx, room, p.GetIdentity())
		if err != nil {
			return removed, err
		}
		if !gone {
			removed++
		}
	}
	return removed, nil
}

// RemoveParticipant removes p's identity from p's room.
func (s *RoomService) RemoveParticipant(ctx context.Context, p domain.Participant) error {
	ctx, err := s.authorized(ctx, &auth.VideoGrant{RoomAdmin: true, Room: p.Room})
	if err != nil {
		return err
	}
	_, err = s.remove(ctx, p.Room, p.Identity)
	return err
}

// remove removes identity from room with the token ctx carries; gone
// says it had left already.
func (s *RoomService) remove(ctx context.Context, room, identity string) (gone bool, err error) {
	_, err = s.api.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: identity})
	var te twirp.Error
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &te) && te.Code() == twirp.NotFound:
		return true, nil
	default:
		return false, fmt.Errorf("livekit remove participant %q from %q: %w", identity, room, err)
	}
}

// authorized is ctx with the Authorization header of a token for grant,
// signed with the API secret and living TokenTTL.
func (s *RoomService) authorized(ctx context.Context, grant *auth.VideoGrant) (context.Context, error) {
	token, err := auth.NewAccessToken(s.key, s.secret).SetVideoGrant(grant).SetValidFor(s.ttl).ToJWT()
	if err != nil {
		return ctx, fmt.Errorf("livekit API token: %w", err)
	}
	h := make(http.Header, 1)
	h.Set("Authorization", "Bearer "+token)
	ctx, err = twirp.WithHTTPRequestHeaders(ctx, h)
	if err != nil {
		return ctx, fmt.Errorf("livekit API token: %w", err)
	}
	return ctx, nil
}

// Webhooks verifies LiveKit's webhook calls, signed with the API key's
// secret. The zero value verifies nothing.
type Webhooks struct {
	key    string
	secret string
}

// NewWebhooks verifies the calls signed with key and secret.
func NewWebhooks(key string, secret []byte) (Webhooks, error) {
	if key == "" || len(secret) == 0 {
		return Webhooks{}, fmt.Errorf("%w: an API key and secret are required", ErrInvalidConfig)
	}
	return Webhooks{key: key, secret: string(secret)}, nil
}

// read is how an event's body is read: as LiveKit's own receiver reads
// it, ignoring fields a newer server adds.
var read = protojson.UnmarshalOptions{DiscardUnknown: true, AllowPartial: true}

// VerifyWebhook checks a call as LiveKit's webhook receiver does:
// authorization is a JWT (optionally after "Bearer ") issued by the API
// key, signed with its secret (HS256) and current, whose sha256 claim is
// the base64 of the body's SHA-256. Then it reads the event: joined for
// participant_joined, and the participant as domain.LiveKitParticipant
// knows it (room, identity, and who it is by its attributes).
func (w Webhooks) VerifyWebhook(authorization string, body []byte) (domain.PeerEvent, error) {
	if w.secret == "" {
		return domain.PeerEvent{}, fmt.Errorf("%w: no secret to verify with", domain.ErrInvalidWebhook)
	}
	raw := strings.TrimPrefix(authorization, "Bearer ")
	if raw == "" {
		return domain.PeerEvent{}, fmt.Errorf("%w: no Authorization", domain.ErrInvalidWebhook)
	}
	v, err := auth.ParseAPIToken(raw)
	if err != nil {
		return domain.PeerEvent{}, fmt.Errorf("%w: malformed token", domain.ErrInvalidWebhook)
	}
	if subtle.ConstantTimeCompare([]byte(v.APIKey()), []byte(w.key)) != 1 {
		return domain.PeerEvent{}, fmt.Errorf("%w: another API key", domain.ErrInvalidWebhook)
	}
	_, claims, err := v.Verify(w.secret)
	if err != nil {
		return domain.PeerEvent{}, fmt.Errorf("%w: %w", domain.ErrInvalidWebhook, err)
	}
	sum := sha256.Sum256(body)
	if subtle.ConstantTimeCompare([]byte(claims.Sha256), []byte(base64.StdEncoding.EncodeToString(sum[:]))) != 1 {
		return domain.PeerEvent{}, fmt.Errorf("%w: the body's hash differs", domain.ErrInvalidWebhook)
	}
	var e livekit.WebhookEvent
	if err := read.Unmarshal(body, &e); err != nil {
		return domain.PeerEvent{}, fmt.Errorf("%w: %w", domain.ErrMalformedWebhook, err)
	}
	p := e.GetParticipant()
	return domain.PeerEvent{
		Name:   e.GetEvent(),
		Joined: e.GetEvent() == domain.LiveKitParticipantJoined,
		Participant: domain.LiveKitParticipant{
			Room: e.GetRoom().GetName(), Identity: p.GetIdentity(), Attributes: p.GetAttributes(),
		}.Participant(),
	}, nil
}

// RoomConfigs checks room configurations as LiveKit's token builder does.
// The zero value is ready to use and safe for concurrent use.
type RoomConfigs struct{}

// strict reads a room configuration as protojson does by default: a field
// the schema does not name is refused. LiveKit's server reads a token's
// configuration leniently, dropping such fields, but its token builder
// takes a typed RoomConfiguration and so never writes one; and a field
// this library does not know is one its credential check has not looked
// at.
var strict = protojson.UnmarshalOptions{}

// CheckRoomConfig refuses a configuration that is not a RoomConfiguration
// in protojson (an unknown field, a value of the wrong type or range, a
// field given twice, two members of one oneof), or that carries egress
// credentials or stream outputs (auth.RoomConfiguration.CheckCredentials:
// a token is readable by whoever holds it). Errors wrap
// domain.ErrInvalidRoom.
func (RoomConfigs) CheckRoomConfig(config json.RawMessage) error {
	var c livekit.RoomConfiguration
	if err := strict.Unmarshal(config, &c); err != nil {
		return fmt.Errorf("%w: room configuration is not a LiveKit RoomConfiguration: %w", domain.ErrInvalidRoom, err)
	}
	if err := (*auth.RoomConfiguration)(&c).CheckCredentials(); err != nil {
		return fmt.Errorf("%w: %w", domain.ErrInvalidRoom, err)
	}
	if err := checkImageOutputs(c.GetEgress().GetRoom().GetImageOutputs()); err != nil {
		return fmt.Errorf("%w: %w", domain.ErrInvalidRoom, err)
	}
	return nil
}

// checkImageOutputs refuses the credentials of a room's image outputs,
// which the library's check passes over (it asks their outputs for the
// file and segment types only): the same secrets as in a file output.
func checkImageOutputs(outputs []*livekit.ImageOutput) error {
	for _, o := range outputs {
		if o.GetS3().GetSecret() != "" || o.GetGcp().GetCredentials() != "" ||
			o.GetAzure().GetAccountKey() != "" || o.GetAliOSS().GetSecret() != "" {
			return auth.ErrSensitiveCredentials
		}
	}
	return nil
}
