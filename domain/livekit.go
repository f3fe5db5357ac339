package domain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// GrantLiveKit is a LiveKit participant token.
const GrantLiveKit GrantKind = "livekit"

// TransportLiveKit is LiveKit in a revocation's fan-out.
const TransportLiveKit Transport = "livekit"

// The LiveKit transport's kind and its section of the policy.
var _ = registerTransport(10, LiveKitRules(nil), GrantLiveKit)

// Sentinel errors of LiveKit requests.
var (
	// ErrInvalidRoom means a room name or room configuration is malformed.
	ErrInvalidRoom = errors.New("invalid room")
	// ErrInvalidParticipant means a participant's name, metadata or
	// attributes are malformed or over their limits.
	ErrInvalidParticipant = errors.New("invalid participant")
	// ErrIdentityMismatch means a requested participant identity is not the
	// caller's user id, alone or with a device label.
	ErrIdentityMismatch = errors.New("identity does not match the caller")
)

//go:generate go tool mockgen -typed -destination=mocks/livekit.go -package=mocks . LiveKitSigner,RoomConfigChecker

// LiveKitSigner signs LiveKit claims into a compact JWS with the LiveKit
// API secret.
type LiveKitSigner interface {
	SignLiveKit(ctx context.Context, c LiveKitClaims) (string, error)
}

// RoomConfigChecker checks a LiveKit room configuration, a compact JSON
// object, as LiveKit's own token builder does (its schema; no egress
// credentials or stream keys), so no grant carries one LiveKit would
// refuse. Errors wrap ErrInvalidRoom.
type RoomConfigChecker interface {
	CheckRoomConfig(config json.RawMessage) error
}

// LiveKitGrant is a LiveKit participant token with the server to join,
// the room and the participant identity it admits.
type LiveKitGrant struct {
	Grant
	ServerURL string
	Room      string
	Identity  string
}

// Limits of what a caller may put into a LiveKit grant.
const (
	MaxRoomNameBytes        = 64
	MaxDeviceLabelBytes     = 32
	MaxParticipantNameBytes = 128
	MaxMetadataBytes        = 1024
	MaxAttributes           = 16
	MaxAttributeNameBytes   = 64
	MaxAttributesBytes      = 1024
	MaxRoomConfigBytes      = 4096
)

// IdentitySeparator joins a user id and a device label in a participant
// identity: "user_01H#laptop".
const IdentitySeparator = "#"

// The participant attributes that always carry verified values; a caller's
// values for them are dropped.
const (
	AttributeUserID = "userId"
	AttributeOrgID  = "orgId"
	AttributeRole   = "role"
	// AttributeIssuedAt carries the grant's issue time in Unix seconds, so
	// that a participant joining with a token livekit-server refreshed
	// (it copies the attributes) is still known by when gatepass issued
	// its grant.
	AttributeIssuedAt = "gatepass.iat"
)

// gatepassNamespace is the attribute key prefix gatepass keeps for the
// attributes it sets itself.
const gatepassNamespace = "gatepass."

// LiveKitRequest is what a caller asks of its LiveKit grant. Every field
// but Room is optional.
type LiveKitRequest struct {
	// Room is the room's name inside the caller's organization: 1 to 64
	// characters of A-Z a-z 0-9 _ -.
	Room string
	// Identity is the participant identity: empty or the caller's user id,
	// or the user id, "#" and a device label of 1 to 32 characters of
	// A-Z a-z 0-9 _ -, so one user may join from several devices.
	Identity string
	// Name is the participant's display name; the user id when empty.
	Name string
	// Metadata is the participant's opaque metadata.
	Metadata string
	// Attributes are the participant's attributes; see NewLiveKitClaims.
	Attributes map[string]string
	// RoomConfig is a LiveKit room configuration, a JSON object passed
	// through as it is; it needs the RoomCreate right.
	RoomConfig json.RawMessage
}

// LiveKitAttributes are a participant's attributes: the verified user id,
// organization id and role (under AttributeUserID, AttributeOrgID and
// AttributeRole) and the caller's others. The signer adds the grant's
// issue time under AttributeIssuedAt.
type LiveKitAttributes struct {
	UserID string
	OrgID  string
	Role   string
	// Others are the caller's attributes without the reserved keys; nil
	// when there are none.
	Others map[string]string
}

// ReservedAttribute says whether key is one of the attributes that always
// carry verified values.
func ReservedAttribute(key string) bool {
	return key == AttributeUserID || key == AttributeOrgID || key == AttributeRole
}

// reservedNamespaces are the attribute key prefixes LiveKit (lk.) and its
// SIP service (sip.) keep for the attributes they set themselves.
var reservedNamespaces = []string{"lk.", "sip."}

// ValidateAttributeName checks the key of one of a caller's attributes
// other than the reserved ones: 1 to MaxAttributeNameBytes bytes of UTF-8,
// outside LiveKit's, its SIP service's and gatepass's namespaces (lk.,
// sip. and gatepass., in any letter case), without white space, control or format (Unicode Cf)
// characters, and not userId, orgId or role in another letter case, so no
// key reads like one LiveKit or gatepass sets. Errors wrap
// ErrInvalidParticipant.
func ValidateAttributeName(key string) error {
	switch {
	case key == "" || !utf8.ValidString(key):
		return fmt.Errorf("%w: an attribute key is empty or not valid UTF-8", ErrInvalidParticipant)
	case len(key) > MaxAttributeNameBytes:
		return fmt.Errorf("%w: an attribute key is %d bytes, at most %d", ErrInvalidParticipant, len(key), MaxAttributeNameBytes)
	case strings.ContainsFunc(key, invisible):
		return fmt.Errorf("%w: attribute key %q holds white space, control or format characters", ErrInvalidParticipant, key)
	}
	for _, prefix := range reservedNamespaces {
		if hasPrefixFold(key, prefix) {
			return fmt.Errorf("%w: attribute key %q is in LiveKit's reserved namespace %s", ErrInvalidParticipant, key, prefix)
		}
	}
	if hasPrefixFold(key, gatepassNamespace) {
		return fmt.Errorf("%w: attribute key %q is in gatepass's reserved namespace %s", ErrInvalidParticipant, key, gatepassNamespace)
	}
	for _, reserved := range []string{AttributeUserID, AttributeOrgID, AttributeRole} {
		if strings.EqualFold(key, reserved) {
			return fmt.Errorf("%w: attribute key %q is %s in another letter case", ErrInvalidParticipant, key, reserved)
		}
	}
	return nil
}

// invisible reports whether r is white space, a control character or a
// format character (Unicode Cf: zero-width, bidirectional and the like).
func invisible(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// hasPrefixFold reports whether s begins with prefix under Unicode case
// folding, as strings.EqualFold compares (so the Kelvin sign matches k).
func hasPrefixFold(s, prefix string) bool {
	for _, p := range prefix {
		r, size := utf8.DecodeRuneInString(s)
		if size == 0 || !strings.EqualFold(string(r), string(p)) {
			return false
		}
		s = s[size:]
	}
	return true
}

// LiveKitVideoGrant is the "video" claim of a LiveKit token. Joining is
// always granted.
type LiveKitVideoGrant struct {
	// Room is "<orgId>/<room name>".
	Room   string
	Rights LiveKitRights
}

// LiveKitClaims are the claims of a LiveKit access token. Its issuer is
// the LiveKit API key; its subject the participant identity. It has no
// audience.
type LiveKitClaims struct {
	Registered
	Name       string
	Metadata   string
	Attributes LiveKitAttributes
	Video      LiveKitVideoGrant
	// RoomConfig is the configuration of the room when this participant
	// creates it: a compact JSON object, or nil. Only with RoomCreate.
	RoomConfig json.RawMessage
}

// LiveKitRoom is the LiveKit room of an organization's room name: the
// organization id, "/", the name. Errors wrap ErrNoOrganization,
// ErrUnsupportedIdentifier or ErrInvalidRoom.
func LiveKitRoom(orgID, name string) (string, error) {
	switch {
	case orgID == "":
		return "", ErrNoOrganization
	case !SafeIdentifier(orgID):
		return "", fmt.Errorf("%w: organization id", ErrUnsupportedIdentifier)
	}
	if err := ValidateRoomName(name); err != nil {
		return "", err
	}
	return orgID + "/" + name, nil
}

// ValidateRoomName checks a room name as a caller gives it: 1 to
// MaxRoomNameBytes characters of A-Z a-z 0-9 _ -. Errors wrap
// ErrInvalidRoom.
func ValidateRoomName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: room name is empty", ErrInvalidRoom)
	case len(name) > MaxRoomNameBytes:
		return fmt.Errorf("%w: room name is %d bytes, at most %d", ErrInvalidRoom, len(name), MaxRoomNameBytes)
	case !safeChars(name):
		return fmt.Errorf("%w: room name holds characters other than A-Z a-z 0-9 _ -", ErrInvalidRoom)
	}
	return nil
}

// liveKitIdentity checks a requested identity against the caller's user id.
func liveKitIdentity(userID, identity string) (string, error) {
	if !SafeIdentifier(userID) {
		return "", fmt.Errorf("%w: user id", ErrUnsupportedIdentifier)
	}
	if identity == "" || identity == userID {
		return userID, nil
	}
	device, ok := strings.CutPrefix(identity, userID+IdentitySeparator)
	if !ok || device == "" || len(device) > MaxDeviceLabelBytes || !safeChars(device) {
		return "", fmt.Errorf("%w: want the user id, or the user id, %q and a device label of 1 to %d characters of A-Z a-z 0-9 _ -",
			ErrIdentityMismatch, IdentitySeparator, MaxDeviceLabelBytes)
	}
	return identity, nil
}

// liveKitAttributes drops the caller's values for the reserved keys,
// checks the keys and the limits on what is left, and adds the verified
// values.
func liveKitAttributes(p Principal, given map[string]string) (LiveKitAttributes, error) {
	out := LiveKitAttributes{UserID: p.UserID, OrgID: p.OrgID, Role: p.EffectiveRole()}
	size := 0
	for k, v := range given {
		if ReservedAttribute(k) {
			continue
		}
		if err := ValidateAttributeName(k); err != nil {
			return LiveKitAttributes{}, err
		}
		if !utf8.ValidString(v) {
			return LiveKitAttributes{}, fmt.Errorf("%w: the value of attribute %q is not valid UTF-8", ErrInvalidParticipant, k)
		}
		if out.Others == nil {
			out.Others = make(map[string]string, len(given))
		}
		size += len(k) + len(v)
		out.Others[k] = v
	}
	if len(out.Others) > MaxAttributes {
		return LiveKitAttributes{}, fmt.Errorf("%w: %d attributes, at most %d", ErrInvalidParticipant, len(out.Others), MaxAttributes)
	}
	if size > MaxAttributesBytes {
		return LiveKitAttributes{}, fmt.Errorf("%w: attributes are %d bytes, at most %d", ErrInvalidParticipant, size, MaxAttributesBytes)
	}
	return out, nil
}

// NewLiveKitClaims builds the claims of a LiveKit token for a caller of an
// organization with the rights the policy gave it. The issuance's issuer is
// the LiveKit API key; its audience is ignored.
//
// The attributes userId, orgId and role always carry the verified values;
// the caller's values for them are dropped. gatepass.iat carries the
// grant's issue time; a caller's key in the gatepass. namespace is
// refused. Of the caller's other
// attributes there may be at most MaxAttributes, of at most
// MaxAttributesBytes of keys and values in all, each key as
// ValidateAttributeName allows.
func NewLiveKitClaims(p Principal, rights LiveKitRights, req LiveKitRequest, in Issuance) (LiveKitClaims, error) {
	room, err := LiveKitRoom(p.OrgID, req.Room)
	if err != nil {
		return LiveKitClaims{}, err
	}
	identity, err := liveKitIdentity(p.UserID, req.Identity)
	if err != nil {
		return LiveKitClaims{}, err
	}
	name := req.Name
	if name == "" {
		name = p.UserID
	}
	switch {
	case len(name) > MaxParticipantNameBytes || !utf8.ValidString(name):
		return LiveKitClaims{}, fmt.Errorf("%w: name must be valid UTF-8 of at most %d bytes", ErrInvalidParticipant, MaxParticipantNameBytes)
	case len(req.Metadata) > MaxMetadataBytes || !utf8.ValidString(req.Metadata):
		return LiveKitClaims{}, fmt.Errorf("%w: metadata must be valid UTF-8 of at most %d bytes", ErrInvalidParticipant, MaxMetadataBytes)
	}
	attrs, err := liveKitAttributes(p, req.Attributes)
	if err != nil {
		return LiveKitClaims{}, err
	}
	var config json.RawMessage
	if len(req.RoomConfig) > 0 {
		if !rights.RoomCreate {
			return LiveKitClaims{}, fmt.Errorf("%w: a room configuration needs the %s right", ErrForbiddenField, RoomCreate)
		}
		if config, err = compactObject(req.RoomConfig); err != nil {
			return LiveKitClaims{}, err
		}
	}
	in.Audience = "" // LiveKit tokens carry none.
	reg, err := newRegisteredAnyAudience(identity, in)
	if err != nil {
		return LiveKitClaims{}, err
	}
	return LiveKitClaims{
		Registered: reg,
		Name:       name,
		Metadata:   req.Metadata,
		Attributes: attrs,
		Video:      LiveKitVideoGrant{Room: room, Rights: rights},
		RoomConfig: config,
	}, nil
}

func compactObject(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) > MaxRoomConfigBytes {
		return nil, fmt.Errorf("%w: room configuration is %d bytes, at most %d", ErrInvalidRoom, len(raw), MaxRoomConfigBytes)
	}
	var obj map[string]json.RawMessage
	if !utf8.Valid(raw) {
		return nil, fmt.Errorf("%w: room configuration is not valid UTF-8", ErrInvalidRoom)
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("%w: room configuration is not a JSON object", ErrInvalidRoom)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("%w: room configuration is not a JSON object", ErrInvalidRoom)
	}
	return b.Bytes(), nil
}

// LiveKitRight is one right of LiveKit's video grant that a policy may
// give, spelled as LiveKit spells it. Joining the room is not among them: a
// LiveKit grant always joins.
type LiveKitRight string

// The LiveKit rights.
const (
	CanPublish           LiveKitRight = "canPublish"
	CanSubscribe         LiveKitRight = "canSubscribe"
	CanPublishData       LiveKitRight = "canPublishData"
	CanUpdateOwnMetadata LiveKitRight = "canUpdateOwnMetadata"
	RoomAdmin            LiveKitRight = "roomAdmin"
	RoomCreate           LiveKitRight = "roomCreate"
)

// LiveKitRightNames lists every LiveKitRight, in the order LiveKit's
// documentation gives them.
func LiveKitRightNames() []LiveKitRight {
	return []LiveKitRight{CanPublish, CanSubscribe, CanPublishData, CanUpdateOwnMetadata, RoomAdmin, RoomCreate}
}

// Valid reports whether r is a known right.
func (r LiveKitRight) Valid() bool { return slices.Contains(LiveKitRightNames(), r) }

// LiveKitRights are what a caller may do in its LiveKit room, besides
// joining it (always granted).
type LiveKitRights struct {
	CanPublish           bool
	CanSubscribe         bool
	CanPublishData       bool
	CanUpdateOwnMetadata bool
	RoomAdmin            bool
	RoomCreate           bool
}

// With returns r with right added; an unknown right adds nothing.
func (r LiveKitRights) With(right LiveKitRight) LiveKitRights {
	switch right {
	case CanPublish:
		r.CanPublish = true
	case CanSubscribe:
		r.CanSubscribe = true
	case CanPublishData:
		r.CanPublishData = true
	case CanUpdateOwnMetadata:
		r.CanUpdateOwnMetadata = true
	case RoomAdmin:
		r.RoomAdmin = true
	case RoomCreate:
		r.RoomCreate = true
	}
	return r
}

// Permission names LiveKit's default policy section knows.
const (
	// PermissionLiveKitPublish lets any role publish media and data in
	// LiveKit.
	PermissionLiveKitPublish = "livekit:publish"
	// PermissionLiveKitRoomAdmin gives LiveKit's roomAdmin right, which
	// lets its holder, through LiveKit's RoomService API, remove, mute and
	// rewrite the name, metadata and attributes (userId, orgId and role
	// among them) of every other participant of the room.
	PermissionLiveKitRoomAdmin = "livekit:room_admin"
)

// LiveKitRule gives Rights to its Subjects. A caller's rights are the union
// of the rights of every rule that applies to it.
type LiveKitRule struct {
	Subjects `yaml:",inline"`
	Rights   []LiveKitRight `yaml:"rights,flow"`
}

// LiveKitRules are LiveKit's section of the policy ("livekit"): the rights
// of callers in their organization's rooms.
type LiveKitRules []LiveKitRule

var _ PolicySection = LiveKitRules(nil)

// PolicyKey is "livekit".
func (LiveKitRules) PolicyKey() string { return "livekit" }

// PolicyTitle is "LiveKit".
func (LiveKitRules) PolicyTitle() string { return "LiveKit" }

// PolicyComments document the rights.
func (LiveKitRules) PolicyComments() []PolicyComment {
	return []PolicyComment{{Text: `LiveKit: rights in the caller's organization's rooms; joining is always
granted. Rights: canPublish, canSubscribe, canPublishData,
canUpdateOwnMetadata (lets a participant rewrite its own attributes),
roomAdmin (lets a participant, through LiveKit's RoomService API, remove,
mute and rewrite the attributes of every other participant of the room),
roomCreate (also allows a room configuration).`}}
}

// PolicySummary counts the rules.
func (r LiveKitRules) PolicySummary() string { return fmt.Sprintf("%d LiveKit rule(s)", len(r)) }

// DefaultSection: admins and members (the role of an identity that names
// none) publish, subscribe and publish data; every other role (viewer
// among them) joins and subscribes only; the livekit:publish permission
// adds publishing and data to any role, and the livekit:room_admin
// permission adds roomAdmin. No role updates its own metadata or
// administers its room (LiveKit lets either right rewrite the verified
// attributes, roomAdmin everyone's) or creates rooms.
func (LiveKitRules) DefaultSection() PolicySection {
	return LiveKitRules{
		{
			Subjects: Subjects{Roles: []string{"admin"}},
			Rights:   []LiveKitRight{CanPublish, CanSubscribe, CanPublishData},
		},
		{
			Subjects: Subjects{Roles: []string{DefaultRole}},
			Rights:   []LiveKitRight{CanPublish, CanSubscribe, CanPublishData},
		},
		{
			Subjects: Subjects{Roles: []string{AnyRole}},
			Rights:   []LiveKitRight{CanSubscribe},
		},
		{
			Subjects: Subjects{Permissions: []string{PermissionLiveKitPublish}},
			Rights:   []LiveKitRight{CanPublish, CanPublishData},
		},
		{
			Subjects: Subjects{Permissions: []string{PermissionLiveKitRoomAdmin}},
			Rights:   []LiveKitRight{RoomAdmin},
		},
	}
}

// SectionProblems checks every rule: its subjects, and rights that are
// known and given once.
func (r LiveKitRules) SectionProblems(at PolicyPath) []PolicyProblem {
	var v validator
	for i, rule := range r {
		path := at.index(i)
		v.subjects(path, rule.Subjects)
		if len(rule.Rights) == 0 {
			v.add(path.field("rights"), "the rule grants no right")
		}
		seen := map[LiveKitRight]bool{}
		for j, right := range rule.Rights {
			p := path.field("rights").index(j)
			if !right.Valid() {
				v.add(p, "unknown right %q (known: %s, and joining is always granted)", right, joinRights(LiveKitRightNames()))
				continue
			}
			if seen[right] {
				v.add(p, "duplicate right %q", right)
			}
			seen[right] = true
		}
	}
	return v.problems
}

func joinRights(rights []LiveKitRight) string {
	s := make([]string, len(rights))
	for i, r := range rights {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// Prepared copies every list.
func (r LiveKitRules) Prepared() PolicySection {
	if r == nil {
		return LiveKitRules(nil)
	}
	out := make(LiveKitRules, len(r))
	for i, rule := range r {
		out[i] = LiveKitRule{Subjects: rule.Subjects.clone(), Rights: slices.Clone(rule.Rights)}
	}
	return out
}

// Rights are the caller's rights in its organization's LiveKit rooms: the
// union of the rights of every rule that applies to it. Errors:
// ErrNoOrganization, ErrUnsupportedIdentifier (its organization or user id
// would go into a room name or identity), ErrTransportNotAllowed (no rule
// applies).
func (r LiveKitRules) Rights(caller Principal) (LiveKitRights, error) {
	if err := roomIdentifiers(caller); err != nil {
		return LiveKitRights{}, err
	}
	var rights LiveKitRights
	matched := false
	for _, rule := range r {
		if !rule.Matches(caller) {
			continue
		}
		matched = true
		for _, right := range rule.Rights {
			rights = rights.With(right)
		}
	}
	if !matched {
		return LiveKitRights{}, fmt.Errorf("%w: livekit", ErrTransportNotAllowed)
	}
	return rights, nil
}

func roomIdentifiers(caller Principal) error {
	switch {
	case !caller.HasOrganization():
		return ErrNoOrganization
	case !SafeIdentifier(caller.OrgID):
		return fmt.Errorf("%w: organization id", ErrUnsupportedIdentifier)
	case !SafeIdentifier(caller.UserID):
		return fmt.Errorf("%w: user id", ErrUnsupportedIdentifier)
	}
	return nil
}

// Bounds of a LiveKit token's lifetime.
const (
	MinLiveKitTTL = time.Minute
	MaxLiveKitTTL = 6 * time.Hour
)

// LiveKitSettings are how LiveKit participant tokens are minted.
type LiveKitSettings struct {
	// APIKey is the token's issuer: LiveKit looks up its secret by it.
	APIKey string
	TTL    time.Duration
	// URL is the LiveKit server the client joins, returned with each token.
	URL string
}

// NewLiveKitSettings checks LiveKit token settings: their lifetime within
// MinLiveKitTTL and MaxLiveKitTTL. Errors are *SettingError.
func NewLiveKitSettings(s LiveKitSettings) (LiveKitSettings, error) {
	if err := TTLWithin("TTL", s.TTL, MinLiveKitTTL, MaxLiveKitTTL); err != nil {
		return LiveKitSettings{}, err
	}
	return s, nil
}

// LiveKitDefinition is the LiveKit grant kind: the rights the policy
// gives the caller in its organization's room, and a room configuration
// checked as LiveKit does. Without roomConfigs every room configuration
// is refused. It refuses the settings NewLiveKitSettings refuses, with
// the same *SettingError.
func LiveKitDefinition(s LiveKitSettings, roomConfigs RoomConfigChecker) (GrantDefinition[LiveKitRequest, LiveKitRights, LiveKitClaims, LiveKitGrant], error) {
	s, err := NewLiveKitSettings(s)
	if err != nil {
		return GrantDefinition[LiveKitRequest, LiveKitRights, LiveKitClaims, LiveKitGrant]{}, fmt.Errorf("%s settings: %w", GrantLiveKit, err)
	}
	return GrantDefinition[LiveKitRequest, LiveKitRights, LiveKitClaims, LiveKitGrant]{
		kind:   GrantLiveKit,
		issuer: s.APIKey,
		ttl:    s.TTL,
		authorize: func(rules PolicyRules, caller Principal, _ LiveKitRequest) (LiveKitRights, error) {
			return PolicySectionOf[LiveKitRules](rules).Rights(caller)
		},
		claims: func(caller Principal, req LiveKitRequest, rights LiveKitRights, in Issuance) (LiveKitClaims, error) {
			claims, err := NewLiveKitClaims(caller, rights, req, in)
			if err != nil || claims.RoomConfig == nil {
				return claims, err
			}
			if roomConfigs == nil {
				return claims, fmt.Errorf("%w: room configurations cannot be checked here", ErrInvalidRoom)
			}
			if err := roomConfigs.CheckRoomConfig(claims.RoomConfig); err != nil {
				return claims, fmt.Errorf("room configuration: %w", err)
			}
			return claims, nil
		},
		result: func(g Grant, c LiveKitClaims) LiveKitGrant {
			return LiveKitGrant{Grant: g, ServerURL: s.URL, Room: c.Video.Room, Identity: c.Subject}
		},
	}, nil
}

// LiveKitParticipantJoined is the kind of LiveKit's webhook event for a
// participant that joined a room (LiveKit sends it once the participant
// is connected).
const LiveKitParticipantJoined = "participant_joined"

// LiveKitParticipant is a participant of a LiveKit room, as LiveKit
// reports it.
type LiveKitParticipant struct {
	// Room is the room's full name, "<orgId>/<room name>" for the rooms
	// gatepass grants.
	Room     string
	Identity string
	// Attributes are the participant's attributes as they are now: a room
	// administrator may have rewritten them.
	Attributes map[string]string
}

// Participant is p as the transport-neutral webhook use case reads it:
// its room, its identity and, through Principal, who it is.
func (p LiveKitParticipant) Participant() Participant {
	principal, granted := p.Principal()
	return Participant{Room: p.Room, Identity: p.Identity, Principal: principal, Granted: granted}
}

// Principal is who the participant is as far as revocations go: the user
// of its identity (the user id, or the user id, "#" and a device label),
// the organization of its room, and the issue time of the grant it joined
// with, read from AttributeIssuedAt. The issue time is zero when the
// attribute is missing or not a time, which a revocation of that user
// matches: a room administrator can rewrite attributes. ok is false for a
// room or identity gatepass does not grant.
func (p LiveKitParticipant) Principal() (Principal, bool) {
	org, _, ok := strings.Cut(p.Room, "/")
	if !ok || !SafeIdentifier(org) {
		return Principal{}, false
	}
	user, _, _ := strings.Cut(p.Identity, IdentitySeparator)
	if !SafeIdentifier(user) {
		return Principal{}, false
	}
	return Principal{UserID: user, OrgID: org, IssuedAt: LiveKitIssuedAt(p.Attributes)}, true
}

// LiveKitIssuedAt is the issue time attributes carry under
// AttributeIssuedAt: positive Unix seconds in decimal, as gatepass writes
// them; zero otherwise.
func LiveKitIssuedAt(attributes map[string]string) time.Time {
	v := attributes[AttributeIssuedAt]
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return time.Time{}
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// MatchesLiveKitUser reports whether identity is one of userID's
// participants: the user id itself, or the user id followed by "#".
func MatchesLiveKitUser(identity, userID string) bool {
	return identity == userID || strings.HasPrefix(identity, userID+IdentitySeparator)
}

// InLiveKitOrganization reports whether room is one of orgID's rooms
// ("<orgId>/...").
func InLiveKitOrganization(room, orgID string) bool {
	return strings.HasPrefix(room, orgID+"/")
}
