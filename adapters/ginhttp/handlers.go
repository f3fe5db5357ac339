package ginhttp

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/slogctx"
)

type handlers struct {
	app *application.Application
	log *slog.Logger
	// lines writes the request line by hand when the logger's handler
	// can (slogctx.NewJSON); its StartLine answers nil otherwise.
	lines     slogctx.Handler
	maxBody   int64
	maxBearer int
	obs       Observer
	// methods are the methods routed, the values of the method label.
	methods map[string]bool
	// public is true for the public listener, whose /readyz says only
	// whether the service is ready, not why.
	public bool
	// publicBase is the public base URL of the OAuth metadata; "" while
	// none is known.
	publicBase func() string
	// trusted are the proxies whose X-Forwarded-For is believed.
	trusted []netip.Prefix
	// draining, when set, says the server is shutting down.
	draining func() bool
	// explain puts the refusal's reason in 401 and 403 problems.
	explain bool
	// audiences are the token exchange's audiences this deployment
	// issues, in a stable order, and the same as a set.
	audiences  []string
	isAudience map[string]bool
}

// grantKind marks the request with the kind of grant its route issues,
// for the handlers, the metrics and the request log.
func (h *handlers) grantKind(kind domain.GrantKind) gin.HandlerFunc {
	return func(c *gin.Context) {
		stateOf(c).kind = kind
		c.Next()
	}
}

func (h *handlers) health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// authenticate verifies the bearer token before any handler runs and before
// the body is read.
func (h *handlers) authenticate(c *gin.Context) {
	var err error
	if len(c.Request.Header["Authorization"]) > 1 {
		// Which one would a proxy or a log have looked at? Neither is
		// guessed.
		err = errDuplicateHeader
	} else if _, err = h.verifyBearer(c, c.GetHeader("Authorization")); err == nil {
		c.Next()
		return
	}
	h.refuse(c, kindOf(c), err)
	c.Abort()
}

// verifyBearer verifies the credential of an Authorization value and
// records the verified caller in the request's state.
func (h *handlers) verifyBearer(c *gin.Context, authorization string) (application.Identity, error) {
	bearer, err := bearerToken(authorization, h.maxBearer)
	if err != nil {
		return application.Identity{}, err
	}
	id, err := h.app.AuthenticateCaller.Handle(c.Request.Context(), application.AuthenticateCaller{Bearer: bearer, ClientIP: clientAddr(c)})
	if err != nil {
		return application.Identity{}, err
	}
	setIdentity(c, id)
	return id, nil
}

// principal is the verified caller (zero before authenticate).
func principal(c *gin.Context) domain.Principal {
	id, _ := stateOf(c).info.Identity()
	return id.Principal
}

// identityExpiry is when the caller's identity expires (zero when unknown).
func identityExpiry(c *gin.Context) time.Time {
	id, _ := stateOf(c).info.Identity()
	return id.ExpiresAt
}

// grantResult is the metrics label of a grant attempt: "issued" or the
// problem code that refused it.
func grantResult(err error) string {
	if err == nil {
		return "issued"
	}
	return problemFor(err).Code
}

func (h *handlers) ready(c *gin.Context) {
	r := h.app.CheckReadiness.Handle(c.Request.Context())
	status, code := http.StatusOK, "ready"
	if !r.Ready {
		status, code = http.StatusServiceUnavailable, "not_ready"
	}
	c.Header("Cache-Control", "no-store")
	if h.public {
		// Which signer, key id, store or failure mode is the operator's
		// business: the admin listener tells.
		c.JSON(status, readinessStatus{Status: code})
		return
	}
	c.JSON(status, fromReadiness(code, r))
}

// noStore marks an answer uncacheable: canonical keys written straight
// into the map, each value its own slot of the request's state.
func noStore(c *gin.Context) {
	h, s := c.Writer.Header(), stateOf(c)
	h["Cache-Control"] = s.header(slotNoStore, "no-store")
	h["Pragma"] = s.header(slotNoCache, "no-cache")
}

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive (RFC 9110 section 11.1).
func bearerToken(header string, maxBytes int) (string, error) {
	if header == "" {
		return "", domain.ErrMissingCredentials
	}
	if len(header) > maxBytes {
		return "", errBearerTooLarge
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errNotBearer
	}
	token = strings.TrimSpace(token)
	if !isB64Token(token) {
		return "", errNotBearer
	}
	return token, nil
}

// isB64Token reports whether s is an RFC 6750 b64token: letters, digits,
// "-._~+/", then optional "=" padding. Checked byte by byte against a
// table, it refuses white space of every kind (obs-text such as U+00A0
// included) and costs little on the hot path.
func isB64Token(s string) bool {
	i := 0
	// Eight bytes a step with one branch; the table holds 1 for the
	// token's bytes and 0 for the rest, so the product says whether all
	// eight belong.
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		if b64TokenByte[w[0]]&b64TokenByte[w[1]]&b64TokenByte[w[2]]&b64TokenByte[w[3]]&
			b64TokenByte[w[4]]&b64TokenByte[w[5]]&b64TokenByte[w[6]]&b64TokenByte[w[7]] == 0 {
			break
		}
	}
	for i < len(s) && b64TokenByte[s[i]] != 0 {
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// b64TokenByte holds 1 for the bytes of a b64token before its padding,
// 0 for every other byte.
var b64TokenByte = func() (t [256]byte) {
	for c := range 256 {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' {
			t[c] = 1
		}
	}
	return t
}()
