package ginhttp

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jsonappend"
)

// Routes of the transports' grant endpoints.
const (
	RouteLiveKitToken                = "/api/v1/livekit/token"
	RouteCentrifugoConnectionToken   = "/api/v1/centrifugo/connection-token"
	RouteCentrifugoSubscriptionToken = "/api/v1/centrifugo/subscription-token"
)

// liveKitBodyBytes bounds a LiveKit request's body: metadata, attributes
// and a room configuration fit in it whatever HTTP_MAX_BODY_BYTES says.
const liveKitBodyBytes = 16 << 10

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

type centrifugoSubscriptionRequest struct {
	Channel string `json:"channel"`
}

func toIssueLiveKitToken(p domain.Principal, identityExpiresAt time.Time, b liveKitTokenRequest) application.IssueLiveKitToken {
	config := b.RoomConfig
	if string(config) == "null" {
		config = nil
	}
	return application.IssueLiveKitToken{Caller: p, IdentityExpiresAt: identityExpiresAt, Request: domain.LiveKitRequest{
		Room: b.RoomName, Identity: b.ParticipantIdentity, Name: b.ParticipantName,
		Metadata: b.ParticipantMetadata, Attributes: b.ParticipantAttributes, RoomConfig: config,
	}}
}

// transportDisabled answers the routes of a transport that is not
// configured, before any authentication.
func transportDisabled(c *gin.Context) { writeProblem(c, problemTransportDisabled) }

func (h *handlers) issueLiveKitToken(c *gin.Context) {
	var body liveKitTokenRequest
	if err := decodeBody(c, max(h.maxBody, liveKitBodyBytes), &body); err != nil {
		// The caller is authenticated: a body it sent unreadable, or past
		// a limit, spends its budget as any other request (every kind).
		h.refuse(c, domain.GrantLiveKit, h.app.IssueLiveKitToken.RefuseUnreadable(c, principal(c), err))
		return
	}
	grant, err := h.app.IssueLiveKitToken.Handle(c, toIssueLiveKitToken(principal(c), identityExpiry(c), body))
	if err != nil {
		h.refuse(c, domain.GrantLiveKit, err)
		return
	}
	h.issued(c, domain.GrantLiveKit, grant.Grant, grant.Room)
	writeJSON(c, http.StatusCreated, grant, appendLiveKitGrant)
}

func (h *handlers) issueCentrifugoConnectionToken(c *gin.Context) {
	var body struct{}
	if err := decodeBody(c, h.maxBody, &body); err != nil {
		h.refuse(c, domain.GrantCentrifugoConnection, h.app.IssueCentrifugoConnectionToken.RefuseUnreadable(c, principal(c), err))
		return
	}
	grant, err := h.app.IssueCentrifugoConnectionToken.Handle(c, application.IssueCentrifugoConnectionToken{Caller: principal(c), IdentityExpiresAt: identityExpiry(c)})
	if err != nil {
		h.refuse(c, domain.GrantCentrifugoConnection, err)
		return
	}
	h.issued(c, domain.GrantCentrifugoConnection, grant.Grant, "")
	writeJSON(c, http.StatusOK, grant, appendCentrifugoGrant)
}

func (h *handlers) issueCentrifugoSubscriptionToken(c *gin.Context) {
	var body centrifugoSubscriptionRequest
	if err := decodeBody(c, h.maxBody, &body); err != nil {
		h.refuse(c, domain.GrantCentrifugoSubscription, h.app.IssueCentrifugoSubscription.RefuseUnreadable(c, principal(c), err))
		return
	}
	grant, err := h.app.IssueCentrifugoSubscription.Handle(c, application.IssueCentrifugoSubscriptionToken{
		Caller: principal(c), Request: application.CentrifugoSubscriptionRequest{Channel: body.Channel}, IdentityExpiresAt: identityExpiry(c),
	})
	if err != nil {
		h.refuse(c, domain.GrantCentrifugoSubscription, err)
		return
	}
	h.issued(c, domain.GrantCentrifugoSubscription, grant.Grant, grant.Channel)
	writeJSON(c, http.StatusOK, grant, appendCentrifugoGrant)
}

// refuse counts a refused grant and answers it.
func (h *handlers) refuse(c *gin.Context, kind domain.GrantKind, err error) {
	h.obs.GrantIssued(kind, grantResult(err))
	h.fail(c, err)
}

// issued counts an issued grant, remembers its id and target (a room or a
// channel) for the request log, and marks the answer uncacheable.
func (h *handlers) issued(c *gin.Context, kind domain.GrantKind, g domain.Grant, target string) {
	h.obs.GrantIssued(kind, grantResult(nil))
	s := stateOf(c)
	s.grantID, s.target = g.ID, target
	noStore(c)
}

func appendLiveKitGrant(b []byte, g domain.LiveKitGrant) []byte {
	b = append(b, `{"server_url":`...)
	b = jsonappend.String(b, g.ServerURL)
	b = append(b, `,"participant_token":`...)
	b = jsonappend.String(b, g.Token)
	return appendGrantTail(b, g.Grant)
}

func appendCentrifugoGrant(b []byte, g domain.CentrifugoGrant) []byte {
	b = append(b, '{')
	if g.URL != "" {
		b = append(b, `"url":`...)
		b = jsonappend.String(b, g.URL)
		b = append(b, ',')
	}
	b = append(b, `"token":`...)
	b = jsonappend.String(b, g.Token)
	b = append(b, `,"tokenType":"Bearer"`...)
	return appendGrantTail(b, g.Grant)
}
