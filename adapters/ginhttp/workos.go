package ginhttp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// RouteWorkOSWebhook receives WorkOS events, on the public listener.
const RouteWorkOSWebhook = "/webhooks/workos"

// Bounds of the WorkOS webhook.
const (
	workosBodyBytes = 64 << 10
	// WorkOSTolerance is how far a signature's time may be from now, as
	// WorkOS's own libraries check it.
	WorkOSTolerance = 3 * time.Minute
	maxEventIDBytes = 128
)

// The refusals of a WorkOS signature; each answers 401 and records
// nothing.
var (
	errNoSignature        = errors.New("workos signature missing")
	errMalformedSignature = errors.New("workos signature malformed")
	errWrongSignature     = errors.New("workos signature does not verify")
	errStaleSignature     = errors.New("workos signature outside the tolerance")
)

// workosWebhook verifies and handles WorkOS events.
type workosWebhook struct {
	app    *application.Application
	h      *handlers
	secret []byte
	now    func() time.Time
}

// workosEvent is what gatepass reads of a WorkOS event.
type workosEvent struct {
	ID    string `json:"id"`
	Event string `json:"event"`
	Data  struct {
		ID             string `json:"id"`
		UserID         string `json:"user_id"`
		OrganizationID string `json:"organization_id"`
	} `json:"data"`
}

// verify checks header (WorkOS-Signature: "t=<ms>, v1=<hex>", the space
// optional) against body at now: an HMAC-SHA256 with secret over
// "<t>.<body>", compared in constant time, t within WorkOSTolerance.
func verifyWorkOSSignature(header string, body, secret []byte, now time.Time) error {
	if header == "" {
		return errNoSignature
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimPrefix(part, " "), "=")
		if !ok {
			return errMalformedSignature
		}
		switch k {
		case "t":
			if ts != "" {
				return errMalformedSignature
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return errMalformedSignature
			}
			sigs = append(sigs, sig)
		}
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ms <= 0 || len(sigs) == 0 || strings.TrimLeft(ts, "0123456789") != "" {
		return errMalformedSignature
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	want := mac.Sum(nil)
	ok := false
	for _, sig := range sigs {
		ok = hmac.Equal(sig, want) || ok
	}
	if !ok {
		return errWrongSignature
	}
	if d := now.Sub(time.UnixMilli(ms)); d > WorkOSTolerance || d < -WorkOSTolerance {
		return errStaleSignature
	}
	return nil
}

// toHandleIdentityEvent is the revocation a WorkOS event calls for: a
// membership deleted or updated (a role changed) revokes the user in
// that organization, a user deleted revokes the user everywhere, a
// session revoked revokes that session. Other events call for none.
func toHandleIdentityEvent(e workosEvent) (application.HandleIdentityEvent, error) {
	cmd := application.HandleIdentityEvent{ID: e.ID}
	req := application.RevokeAccess{Source: domain.RevocationSourceWorkOS, Reason: e.Event}
	switch e.Event {
	case "organization_membership.deleted", "organization_membership.updated":
		req.UserID, req.OrgID = e.Data.UserID, e.Data.OrganizationID
	case "user.deleted":
		req.UserID, req.AllOrganizations = e.Data.ID, true
	case "session.revoked":
		req.UserID, req.SessionID, req.AllOrganizations = e.Data.UserID, e.Data.ID, true
		if req.SessionID == "" {
			return cmd, &domain.RevocationFieldError{Field: "data.id", Reason: "is required"}
		}
	default:
		return cmd, nil
	}
	cmd.Revoke = &req
	return cmd, nil
}

func (w *workosWebhook) receive(c *gin.Context) {
	noStore(c)
	raw, err := readBody(c, workosBodyBytes)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) || c.Request.ContentLength > workosBodyBytes {
			writeProblem(c, problemBodyTooLarge)
			return
		}
		writeProblem(c, problemMalformedBody)
		return
	}
	err = errMalformedSignature // more than one: which would WorkOS mean?
	if signatures := c.Request.Header["Workos-Signature"]; len(signatures) <= 1 {
		err = verifyWorkOSSignature(c.GetHeader("WorkOS-Signature"), raw, w.secret, w.now())
	}
	if err != nil {
		w.h.log.WarnContext(c, "workos webhook refused", "error", err)
		writeProblem(c, problemInvalidSignature)
		return
	}
	var e workosEvent
	if err := json.Unmarshal(raw, &e); err != nil || e.ID == "" || len(e.ID) > maxEventIDBytes || domain.CheckIdentifier(e.ID) != nil {
		writeProblem(c, problemMalformedBody)
		return
	}
	cmd, err := toHandleIdentityEvent(e)
	if err == nil {
		var handled bool
		handled, err = w.app.HandleIdentityEvent.Handle(c.Request.Context(), cmd)
		if err == nil {
			w.h.log.InfoContext(c, "workos event", "event_id", e.ID, "event", e.Event, "revokes", cmd.Revoke != nil, "handled", handled)
			c.JSON(http.StatusOK, gin.H{"status": "ok"})
			return
		}
	}
	var fe *domain.RevocationFieldError
	switch {
	case errors.As(err, &fe):
		w.h.log.WarnContext(c, "workos event refused", "event_id", e.ID, "event", e.Event, "error", err)
		writeFieldProblem(c, err)
	default:
		w.h.fail(c, err)
	}
}
