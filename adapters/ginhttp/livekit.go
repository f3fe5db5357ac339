package ginhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jsonappend"
)

// RouteLiveKitToken is the LiveKit grant endpoint.
const RouteLiveKitToken = "/api/v1/livekit/token"

// AudienceLiveKit names LiveKit in the token exchange; its scope is
// room:<room_name>.
const AudienceLiveKit = "livekit"

// liveKitBodyBytes bounds a LiveKit request's body: metadata, attributes
// and a room configuration fit in it whatever HTTP_MAX_BODY_BYTES says.
const liveKitBodyBytes = 16 << 10

// LiveKit's problems.
var (
	problemIdentityMismatch = newProblem(http.StatusForbidden, "identity_mismatch", "Forbidden",
		"participant_identity must be the caller's user id, optionally followed by # and a device label.")
	problemInvalidRoom = newProblem(http.StatusBadRequest, "invalid_room", "Bad Request",
		"room_name is required: 1 to 64 characters of A-Z a-z 0-9 _ -; a room_config must be a valid room configuration without egress credentials or stream keys.")
	problemInvalidParticipant = newProblem(http.StatusBadRequest, "invalid_participant", "Bad Request",
		"A participant name, metadata or attributes exceed their limits, or an attribute name is reserved (userId, orgId, role in another letter case; the lk., sip. and gatepass. namespaces in any letter case) or holds invisible characters.")
)

// LiveKit's endpoint, audience and problems.
var _ = registerGrants(grantRegistration{
	routes: []grantRoute{{path: RouteLiveKitToken, kind: domain.GrantLiveKit,
		handle: issueRegistered(domain.GrantLiveKit, liveKitBodyBytes, toLiveKitRequest, http.StatusCreated,
			func(g domain.LiveKitGrant) (domain.Grant, string) { return g.Grant, g.Room }, appendLiveKitGrant)}},
	audience: AudienceLiveKit,
	exchange: liveKitScope,
	problems: []kindProblem{
		{err: domain.ErrIdentityMismatch, problem: problemIdentityMismatch},
		{err: domain.ErrInvalidRoom, problem: problemInvalidRoom},
		{err: domain.ErrInvalidParticipant, problem: problemInvalidParticipant},
	},
})

// liveKitScope reads the exchange's scope room:<room_name>.
func liveKitScope(scope []string) (exchangeTarget, *oauthError) {
	room, ok := scopeValue(scope, "room:")
	if !ok {
		return exchangeTarget{}, badRequest("invalid_scope", "The audience livekit takes the scope room:<room_name>.")
	}
	if err := domain.ValidateRoomName(room); err != nil {
		return exchangeTarget{}, badRequest("invalid_scope", "The room name must be 1 to 64 characters of A-Z a-z 0-9 _ -.")
	}
	t := exchangeRegistered(domain.GrantLiveKit, domain.LiveKitRequest{Room: room}, func(g domain.LiveKitGrant) exchanged {
		return exchanged{grant: g.Grant, serverURL: g.ServerURL, target: g.Room}
	})
	t.target = room
	return t, nil
}

type liveKitTokenRequest struct {
	RoomName              string            `json:"room_name"`
	ParticipantName       string            `json:"participant_name"`
	ParticipantMetadata   string            `json:"participant_metadata"`
	ParticipantAttributes map[string]string `json:"participant_attributes"`
	ParticipantIdentity   string            `json:"participant_identity"`
	RoomConfig            json.RawMessage   `json:"room_config"`
}

// decodeFlat reads the usual body, plain strings for the room and the
// participant, without reflection; attributes and a room configuration
// go through encoding/json.
func (b *liveKitTokenRequest) decodeFlat(raw []byte) bool {
	return decodeFlat(raw, []flatString{
		{"room_name", &b.RoomName},
		{"participant_name", &b.ParticipantName},
		{"participant_metadata", &b.ParticipantMetadata},
		{"participant_identity", &b.ParticipantIdentity},
	})
}

// checkLimits stops a body with too many or too large attributes, or
// nested too deeply, before it is decoded (scanLiveKitBody).
func (b *liveKitTokenRequest) checkLimits(raw []byte) error { return scanLiveKitBody(raw) }

func toLiveKitRequest(b liveKitTokenRequest) domain.LiveKitRequest {
	config := b.RoomConfig
	if string(config) == "null" {
		config = nil
	}
	return domain.LiveKitRequest{
		Room: b.RoomName, Identity: b.ParticipantIdentity, Name: b.ParticipantName,
		Metadata: b.ParticipantMetadata, Attributes: b.ParticipantAttributes, RoomConfig: config,
	}
}

func appendLiveKitGrant(b []byte, g domain.LiveKitGrant) []byte {
	b = append(b, `{"server_url":`...)
	b = jsonappend.String(b, g.ServerURL)
	b = append(b, `,"participant_token":`...)
	b = jsonappend.String(b, g.Token)
	return appendGrantTail(b, g.Grant)
}

// A LiveKit body may hold participant attributes and unknown members,
// which encoding/json decodes in full before anything can count them: a
// 16 KiB body holds some two thousand attributes, decoded into a map only
// to be refused. scanLiveKitBody walks the body first, without building
// anything, and stops at the first limit passed; encoding/json then
// decodes only bodies within the limits, and stays the reference for
// everything else (names matched case-insensitively, duplicates, types,
// the wording of errors).

// Limits of a LiveKit body checked before it is decoded.
const (
	// maxBodyDepth bounds how deeply a body nests objects and arrays, the
	// body's own object being depth 1. The deepest member of a LiveKit
	// room configuration (an egress output's proxy) sits at depth 8.
	maxBodyDepth = 8
	// maxAttributeMembers bounds the members of participant_attributes:
	// the attributes a caller may set and the three verified keys, whose
	// values are dropped.
	maxAttributeMembers = domain.MaxAttributes + 3
)

// liveKitAttributesMember is the member that holds the attributes;
// encoding/json matches member names to it without regard to case.
const liveKitAttributesMember = "participant_attributes"

// errNotScanned stops a scan at a byte it does not expect: the body is not
// JSON as far as the scan can tell, and encoding/json says why.
var errNotScanned = errors.New("not scanned")

// scanLiveKitBody checks raw, a JSON object, against the limits of a
// LiveKit body and reads nothing past the first one it passes: nesting
// deeper than maxBodyDepth (errMalformedBody); in the participant
// attributes (every member of that name, since encoding/json merges
// them), more than maxAttributeMembers members, a name of more than
// domain.MaxAttributeNameBytes bytes, or more than
// domain.MaxAttributesBytes of names and values besides the verified keys,
// each member counted as sent (domain.ErrInvalidParticipant). Lengths are
// those of the strings encoding/json decodes. Malformed JSON passes: the
// decoder refuses it.
func scanLiveKitBody(raw []byte) error {
	s := bodyScanner{raw: raw}
	err := s.topObject()
	if errors.Is(err, errNotScanned) {
		return nil
	}
	return err
}

// bodyScanner is one scan of a body: the bytes, the position, and what the
// attributes have spent so far.
type bodyScanner struct {
	raw []byte
	i   int
	// members and size count the attributes' members, and the bytes of
	// their names and values (the verified keys' aside).
	members, size int
}

func (s *bodyScanner) skipSpace() { s.i = skipSpace(s.raw, s.i) }

// next is the next byte that is not white space, 0 at the end.
func (s *bodyScanner) next() byte {
	s.skipSpace()
	if s.i >= len(s.raw) {
		return 0
	}
	return s.raw[s.i]
}

func (s *bodyScanner) topObject() error {
	return s.members0('{', '}', 1, func() error {
		start, end, plain, err := s.string()
		if err != nil {
			return err
		}
		if err := s.colon(); err != nil {
			return err
		}
		if s.next() == '{' && s.isAttributes(start, end, plain) {
			return s.attributes()
		}
		return s.value(2)
	})
}

// isAttributes says whether the member name in raw[start:end] is the
// attributes', as encoding/json matches names (bytes.EqualFold).
func (s *bodyScanner) isAttributes(start, end int, plain bool) bool {
	name := s.raw[start:end]
	if !plain {
		var buf [2 * len(liveKitAttributesMember)]byte
		if unquotedLen(name) > len(buf) {
			return false
		}
		name = appendUnquoted(buf[:0], name)
	}
	return bytes.EqualFold(name, []byte(liveKitAttributesMember))
}

func (s *bodyScanner) attributes() error {
	return s.members0('{', '}', 2, func() error {
		start, end, plain, err := s.string()
		if err != nil {
			return err
		}
		if s.members++; s.members > maxAttributeMembers {
			return fmt.Errorf("%w: more than %d attribute members", domain.ErrInvalidParticipant, maxAttributeMembers)
		}
		name := s.raw[start:end]
		nameLen := unquotedLen(name)
		if nameLen > domain.MaxAttributeNameBytes {
			return fmt.Errorf("%w: an attribute name of %d bytes, at most %d", domain.ErrInvalidParticipant, nameLen, domain.MaxAttributeNameBytes)
		}
		if err := s.colon(); err != nil {
			return err
		}
		valueLen := 0
		if s.next() == '"' {
			vs, ve, _, err := s.string()
			if err != nil {
				return err
			}
			valueLen = unquotedLen(s.raw[vs:ve])
		} else if err := s.value(3); err != nil {
			// Not a string: encoding/json refuses it, unless it is null.
			return err
		}
		if reservedName(name, nameLen, plain) {
			return nil
		}
		if s.size += nameLen + valueLen; s.size > domain.MaxAttributesBytes {
			return fmt.Errorf("%w: attributes of more than %d bytes", domain.ErrInvalidParticipant, domain.MaxAttributesBytes)
		}
		return nil
	})
}

// reservedName says whether an attribute's name, the contents of a JSON
// string of n bytes decoded, decodes to one of the verified keys.
func reservedName(name []byte, n int, plain bool) bool {
	var buf [8]byte
	switch {
	case n > len(buf):
		return false
	case !plain:
		name = appendUnquoted(buf[:0], name)
	}
	return domain.ReservedAttribute(string(name))
}

// members0 walks an object or array that opens with open at depth,
// calling member for each member or element with the position on it.
func (s *bodyScanner) members0(open, close byte, depth int, member func() error) error {
	if s.next() != open {
		return errNotScanned
	}
	if depth > maxBodyDepth {
		return fmt.Errorf("%w: nested deeper than %d", errMalformedBody, maxBodyDepth)
	}
	s.i++
	if s.next() == close {
		s.i++
		return nil
	}
	for {
		if err := member(); err != nil {
			return err
		}
		switch s.next() {
		case ',':
			s.i++
		case close:
			s.i++
			return nil
		default:
			return errNotScanned
		}
	}
}

func (s *bodyScanner) colon() error {
	if s.next() != ':' {
		return errNotScanned
	}
	s.i++
	return nil
}

// value skips one value at depth.
func (s *bodyScanner) value(depth int) error {
	switch c := s.next(); {
	case c == '{':
		return s.members0('{', '}', depth, func() error {
			if _, _, _, err := s.string(); err != nil {
				return err
			}
			if err := s.colon(); err != nil {
				return err
			}
			return s.value(depth + 1)
		})
	case c == '[':
		return s.members0('[', ']', depth, func() error { return s.value(depth + 1) })
	case c == '"':
		_, _, _, err := s.string()
		return err
	default:
		// A number, true, false or null: its bytes, checked by the decoder.
		start := s.i
		for s.i < len(s.raw) && isLiteralByte(s.raw[s.i]) {
			s.i++
		}
		if s.i == start {
			return errNotScanned
		}
		return nil
	}
}

func isLiteralByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'E'
}

// string reads the string at the position: its contents are
// raw[start:end], plain when they hold no escape.
func (s *bodyScanner) string() (start, end int, plain bool, err error) {
	if s.next() != '"' {
		return 0, 0, false, errNotScanned
	}
	start, plain = s.i+1, true
	for i := start; i < len(s.raw); i++ {
		switch c := s.raw[i]; {
		case c == '"':
			s.i = i + 1
			return start, i, plain, nil
		case c == '\\':
			plain = false
			i++ // the escaped byte; \u's digits are plain bytes
		case c < 0x20:
			return 0, 0, false, errNotScanned
		}
	}
	return 0, 0, false, errNotScanned
}

// nextRune decodes the rune at s[i] of a JSON string's contents as
// encoding/json does: an escape, or a UTF-8 sequence, with U+FFFD for an
// invalid byte, a bad escape or a lone surrogate. size is how many bytes
// of s it takes.
func nextRune(s []byte, i int) (r rune, size int) {
	if s[i] != '\\' {
		if s[i] < utf8.RuneSelf {
			return rune(s[i]), 1
		}
		return utf8.DecodeRune(s[i:])
	}
	if i+1 >= len(s) {
		return utf8.RuneError, 1
	}
	switch s[i+1] {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r := hex4(s, i+2)
		if r < 0 {
			return utf8.RuneError, 2
		}
		if utf16.IsSurrogate(r) {
			if i+7 < len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
				if dec := utf16.DecodeRune(r, hex4(s, i+8)); dec != utf8.RuneError {
					return dec, 12
				}
			}
			return utf8.RuneError, 6
		}
		return r, 6
	default:
		// \" \\ \/ stand for themselves.
		return rune(s[i+1]), 2
	}
}

// hex4 is the value of the four hex digits at s[i], -1 if there are none.
func hex4(s []byte, i int) rune {
	if i+4 > len(s) {
		return -1
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// unquotedLen is the length of the string encoding/json decodes from s, a
// JSON string's contents.
func unquotedLen(s []byte) int {
	n := 0
	for i := 0; i < len(s); {
		r, size := nextRune(s, i)
		if size == 1 && r < utf8.RuneSelf {
			n++
		} else {
			n += utf8.RuneLen(r)
		}
		i += size
	}
	return n
}

// appendUnquoted appends the string encoding/json decodes from s.
func appendUnquoted(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		r, size := nextRune(s, i)
		dst = utf8.AppendRune(dst, r)
		i += size
	}
	return dst
}

// RouteLiveKitWebhook receives livekit-server's webhook calls, on the
// public listener, while LiveKit is enabled.
const RouteLiveKitWebhook = "/webhooks/livekit"

// Bounds of the LiveKit webhook.
const (
	liveKitWebhookBytes = 64 << 10
	// liveKitWebhookType is the media type livekit-server sends its
	// events with, so that a receiver verifies before it parses.
	liveKitWebhookType = "application/webhook+json"
)

// receiveLiveKitWebhook answers livekit-server's webhook calls: 200 once
// the event is handled (a participant that joined although revoked is
// removed), 401 for a call not signed with the API key's secret over its
// body, 413 past 64 KiB; nothing is done for either.
func receiveLiveKitWebhook(h *handlers, w application.WebhookReceiver) gin.HandlerFunc {
	return func(c *gin.Context) {
		noStore(c)
		if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != liveKitWebhookType {
			writeProblem(c, problemUnsupportedWebhookMedia)
			return
		}
		raw, err := readBody(c, liveKitWebhookBytes)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) || c.Request.ContentLength > liveKitWebhookBytes {
				writeProblem(c, problemBodyTooLarge)
				return
			}
			writeProblem(c, problemMalformedBody)
			return
		}
		authorization := c.GetHeader("Authorization")
		if len(c.Request.Header["Authorization"]) > 1 {
			authorization = "" // which one would LiveKit mean?
		}
		out, err := w.Receive(c.Request.Context(), application.ReceiveWebhook{Authorization: authorization, Body: raw})
		switch {
		case err == nil:
			// A joining participant is what the webhook is for; the other
			// events (tracks, rooms) are many and tell nothing.
			level := slog.LevelDebug
			if out.Event == domain.LiveKitParticipantJoined {
				level = slog.LevelInfo
			}
			h.log.Log(c, level, "livekit webhook", "event", out.Event, "removed", out.Removed)
			c.JSON(http.StatusOK, gin.H{"status": "ok"})
		case errors.Is(err, domain.ErrInvalidWebhook):
			h.log.WarnContext(c, "livekit webhook refused", "error", err)
			writeProblem(c, problemInvalidSignature)
		case errors.Is(err, domain.ErrMalformedWebhook):
			writeProblem(c, problemMalformedBody)
		default:
			h.fail(c, err)
		}
	}
}

// LiveKit's webhook.
var _ = registerWebhook(domain.GrantLiveKit, RouteLiveKitWebhook, receiveLiveKitWebhook)
