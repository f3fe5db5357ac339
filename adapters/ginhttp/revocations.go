package ginhttp

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// Routes of the admin API, on the admin listener only.
const (
	RouteRevocations = "/admin/v1/revocations"
	RouteRevocation  = "/admin/v1/revocations/:id"
)

// adminBodyBytes bounds an admin API body.
const adminBodyBytes = 4 << 10

// AdminOptions tune the admin listener's router.
type AdminOptions struct {
	Logger *slog.Logger
	// Token is the admin API's bearer token; empty leaves the admin API
	// unrouted (404).
	Token []byte
}

// revocationRequest is the admin API's body of a new revocation.
type revocationRequest struct {
	UserID           string `json:"user_id"`
	OrgID            string `json:"org_id"`
	AllOrganizations bool   `json:"all_organizations"`
	SessionID        string `json:"session_id"`
	Reason           string `json:"reason"`
}

// revocationRecorded is the admin API's answer to a new revocation.
// Fanout is each transport's eviction of live connections, by transport.
type revocationRecorded struct {
	ID        string                  `json:"id"`
	NotBefore string                  `json:"not_before"`
	Fanout    map[string]evictionView `json:"fanout"`
}

// evictionView is one transport's eviction as the admin API shows it:
// count with done when the transport tells it, expires_at with expires.
type evictionView struct {
	Status    string `json:"status"`
	Count     *int   `json:"count,omitempty"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

func fromFanout(f domain.Fanout) map[string]evictionView {
	out := make(map[string]evictionView, len(f))
	for t, e := range f {
		v := evictionView{Status: string(e.Status)}
		switch e.Status {
		case domain.EvictionDone:
			if e.Count != domain.CountUnknown {
				v.Count = &e.Count
			}
		case domain.EvictionExpires:
			v.ExpiresAt = e.ExpiresAt.UTC().Format(time.RFC3339)
		}
		out[string(t)] = v
	}
	return out
}

// revocationView is one revocation as the admin API shows it.
type revocationView struct {
	ID               string `json:"id"`
	UserID           string `json:"user_id"`
	OrgID            string `json:"org_id,omitempty"`
	AllOrganizations bool   `json:"all_organizations"`
	SessionID        string `json:"session_id,omitempty"`
	Reason           string `json:"reason,omitempty"`
	Source           string `json:"source"`
	NotBefore        string `json:"not_before"`
	ExpiresAt        string `json:"expires_at"`
	// Fanout is shown for one revocation, not in lists.
	Fanout map[string]evictionView `json:"fanout,omitempty"`
}

type revocationList struct {
	Revocations []revocationView `json:"revocations"`
}

func fromRevocation(r domain.Revocation) revocationView {
	return revocationView{ID: r.ID, UserID: r.UserID, OrgID: r.OrgID, AllOrganizations: r.AllOrganizations, SessionID: r.SessionID,
		Reason: r.Reason, Source: string(r.Source), NotBefore: r.NotBefore.UTC().Format(time.RFC3339), ExpiresAt: r.ExpiresAt.UTC().Format(time.RFC3339)}
}

// adminAPI serves the admin API.
type adminAPI struct {
	app *application.Application
	log *slog.Logger
	// digest is the token's SHA-256: every bearer is hashed and compared
	// with it in constant time, whatever its length.
	digest [sha256.Size]byte
}

// routeAdminAPI routes the admin API on r when a token is set and the
// application keeps revocations.
func routeAdminAPI(r *gin.Engine, app *application.Application, o AdminOptions) {
	if len(o.Token) == 0 || app.Revocations == nil {
		return
	}
	a := &adminAPI{app: app, log: o.Logger, digest: sha256.Sum256(o.Token)}
	g := r.Group("", a.authorize)
	g.POST(RouteRevocations, a.revoke)
	g.GET(RouteRevocations, a.list)
	g.GET(RouteRevocation, a.get)
}

// authorize lets through a request whose one Authorization header is the
// admin token as a bearer.
func (a *adminAPI) authorize(c *gin.Context) {
	values := c.Request.Header["Authorization"]
	if len(values) == 0 {
		writeProblem(c, problemMissingCredentials)
		return
	}
	token, err := bearerToken(values[0], DefaultMaxBearerBytes)
	if len(values) > 1 || err != nil {
		writeProblem(c, problemInvalidToken)
		return
	}
	got := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(got[:], a.digest[:]) != 1 {
		a.log.WarnContext(c, "admin API: wrong token", "route", c.FullPath())
		writeProblem(c, problemInvalidToken)
		return
	}
	c.Next()
}

func (a *adminAPI) revoke(c *gin.Context) {
	var body revocationRequest
	if err := decodeStrict(c, adminBodyBytes, &body, "a revocation"); err != nil {
		writeFieldProblem(c, err)
		return
	}
	rev, err := a.app.RevokeAccess.Handle(c.Request.Context(), application.RevokeAccess{
		UserID: body.UserID, OrgID: body.OrgID, AllOrganizations: body.AllOrganizations,
		SessionID: body.SessionID, Reason: body.Reason, Source: domain.RevocationSourceAdmin,
	})
	if err != nil {
		a.refuse(c, err)
		return
	}
	logRevocation(c, a.log, rev)
	fanout := domain.Fanout{}
	if a.app.EvictRevoked != nil {
		// Waits for the transports, up to the fan-out's bound.
		fanout = a.app.EvictRevoked.Handle(c.Request.Context(), application.EvictRevoked{Revocation: rev})
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Location", strings.TrimSuffix(RouteRevocations, "/")+"/"+rev.ID)
	c.JSON(http.StatusAccepted, revocationRecorded{ID: rev.ID, NotBefore: rev.NotBefore.UTC().Format(time.RFC3339), Fanout: fromFanout(fanout)})
}

func (a *adminAPI) list(c *gin.Context) {
	user := c.Query("user_id")
	revs, err := a.app.Revocations.Active(user)
	if err != nil {
		a.refuse(c, err)
		return
	}
	out := revocationList{Revocations: make([]revocationView, 0, len(revs))}
	for _, r := range revs {
		out.Revocations = append(out.Revocations, fromRevocation(r))
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

func (a *adminAPI) get(c *gin.Context) {
	rev, err := a.app.Revocations.Get(c.Param("id"))
	if err != nil {
		a.refuse(c, err)
		return
	}
	view := fromRevocation(rev)
	view.Fanout = map[string]evictionView{}
	if a.app.EvictRevoked != nil {
		f, err := a.app.EvictRevoked.Fanout(c.Request.Context(), rev)
		if err != nil {
			a.refuse(c, err)
			return
		}
		view.Fanout = fromFanout(f)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, view)
}

// refuse answers an admin API error.
func (a *adminAPI) refuse(c *gin.Context, err error) {
	var fe *domain.RevocationFieldError
	switch {
	case errors.As(err, &fe):
		writeFieldProblem(c, err)
	case errors.Is(err, domain.ErrRevocationNotFound):
		writeProblem(c, problemNotFound)
	case errors.Is(err, domain.ErrRevocationsUnavailable):
		a.log.WarnContext(c, "admin API: revocation store unavailable", "error", err)
		c.Header("Retry-After", "1")
		writeProblem(c, problemRevocationsUnavailable)
	default:
		a.log.ErrorContext(c, "admin API failed", "error", err)
		writeProblem(c, problemInternal)
	}
}

// logRevocation writes the audit line of a recorded revocation: who and
// what was revoked, never a token.
func logRevocation(c *gin.Context, log *slog.Logger, r domain.Revocation) {
	log.InfoContext(c, "revocation recorded", "revocation_id", r.ID, "user_id", r.UserID, "org_id", r.OrgID,
		"all_organizations", r.AllOrganizations, "session_id", r.SessionID, "source", string(r.Source),
		"reason", r.Reason, "not_before", r.NotBefore.UTC().Format(time.RFC3339))
}

// fieldError is a body refused for one field, named as the API spells it.
type fieldError struct {
	field  string
	reason string
	// empty marks a body that is not there at all.
	empty bool
}

func (e *fieldError) Error() string { return e.field + " " + e.reason }

// decodeStrict reads a JSON object of at most maxBytes into v, refusing
// unknown fields (not fields of what) and values of the wrong type, naming
// the field.
func decodeStrict(c *gin.Context, maxBytes int64, v any, what string) error {
	raw, err := readBody(c, maxBytes)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errBodyTooLarge
		}
		return &fieldError{field: "body", reason: "could not be read"}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return &fieldError{field: "body", reason: "must be a JSON object", empty: true}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return &fieldError{field: typeErr.Field, reason: "must be a JSON " + typeErr.Type.Kind().String()}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return &fieldError{field: strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), reason: "is not a field of " + what}
		}
		return &fieldError{field: "body", reason: "must be a JSON object"}
	}
	if dec.More() {
		return &fieldError{field: "body", reason: "must be one JSON object"}
	}
	return nil
}

// writeFieldProblem answers 400 invalid_revocation naming the field at
// fault (413 for a body too large).
func writeFieldProblem(c *gin.Context, err error) {
	if errors.Is(err, errBodyTooLarge) {
		writeProblem(c, problemBodyTooLarge)
		return
	}
	p := problemInvalidRevocation
	var fe *fieldError
	var de *domain.RevocationFieldError
	switch {
	case errors.As(err, &fe):
		p.Field, p.Detail = fe.field, fmt.Sprintf("%s %s.", fe.field, fe.reason)
	case errors.As(err, &de):
		p.Field, p.Detail = de.Field, fmt.Sprintf("%s %s.", de.Field, de.Reason)
	}
	writeProblem(c, p)
}
