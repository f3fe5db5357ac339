package jwtsigner

import (
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jsonappend"
)

// registeredJWT is the wire form of domain.Registered: integer NumericDates
// and a single-string aud, as the office-router and Supabase expect, in the
// member order the tokens have always had. jwt.RegisteredClaims would write
// aud as an array (unless the package-wide MarshalSingleStringAsArray is
// turned off) and order its members differently.
type registeredJWT struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud string `json:"aud"`
	Iat int64  `json:"iat"`
	Nbf int64  `json:"nbf,omitempty"`
	Exp int64  `json:"exp"`
	Jti string `json:"jti"`
}

func fromRegistered(r domain.Registered) registeredJWT {
	return registeredJWT{
		Iss: r.Issuer,
		Sub: r.Subject,
		Aud: r.Audience,
		Iat: r.IssuedAt.Unix(),
		Nbf: r.NotBefore.Unix(),
		Exp: r.ExpiresAt.Unix(),
		Jti: r.ID,
	}
}

// The jwt.Claims methods, which jwt.NewWithClaims asks for; signing reads
// none of them, it marshals the claims with encoding/json.

func (r registeredJWT) GetExpirationTime() (*jwt.NumericDate, error) { return numericDate(r.Exp), nil }
func (r registeredJWT) GetIssuedAt() (*jwt.NumericDate, error)       { return numericDate(r.Iat), nil }
func (r registeredJWT) GetNotBefore() (*jwt.NumericDate, error)      { return numericDate(r.Nbf), nil }
func (r registeredJWT) GetIssuer() (string, error)                   { return r.Iss, nil }
func (r registeredJWT) GetSubject() (string, error)                  { return r.Sub, nil }
func (r registeredJWT) GetAudience() (jwt.ClaimStrings, error)       { return jwt.ClaimStrings{r.Aud}, nil }

// numericDate is sec as a NumericDate, or nil for an absent (zero) claim.
func numericDate(sec int64) *jwt.NumericDate {
	if sec == 0 {
		return nil
	}
	return jwt.NewNumericDate(time.Unix(sec, 0))
}

type officeJWT struct {
	registeredJWT
	UserID string `json:"userId"`
	OrgID  string `json:"orgId"`
	Role   string `json:"role"`
}

type realtimeJWT struct {
	registeredJWT
	Role string          `json:"role"`
	App  *appMetadataJWT `json:"app_metadata,omitempty"`
}

type appMetadataJWT struct {
	OrgID   string `json:"org_id"`
	OrgRole string `json:"org_role"`
}

// The appendJSON methods write the HS256 claims as encoding/json marshals
// them (member order, omitempty, escaping), without reflection, for the
// HS256 fast path (hs256.go).

// appendMembers writes the registered claims as object members, without
// the braces.
func (r registeredJWT) appendMembers(b []byte) []byte {
	b = append(b, `"iss":`...)
	b = jsonappend.String(b, r.Iss)
	b = append(b, `,"sub":`...)
	b = jsonappend.String(b, r.Sub)
	b = append(b, `,"aud":`...)
	b = jsonappend.String(b, r.Aud)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, r.Iat, 10)
	if r.Nbf != 0 {
		b = append(b, `,"nbf":`...)
		b = strconv.AppendInt(b, r.Nbf, 10)
	}
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, r.Exp, 10)
	b = append(b, `,"jti":`...)
	return jsonappend.String(b, r.Jti)
}

func (r *realtimeJWT) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = r.appendMembers(b)
	b = append(b, `,"role":`...)
	b = jsonappend.String(b, r.Role)
	if r.App != nil {
		b = append(b, `,"app_metadata":{"org_id":`...)
		b = jsonappend.String(b, r.App.OrgID)
		b = append(b, `,"org_role":`...)
		b = jsonappend.String(b, r.App.OrgRole)
		b = append(b, '}')
	}
	return append(b, '}')
}
