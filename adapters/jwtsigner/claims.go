package jwtsigner

import (
	"strconv"

	"github.com/gatepass/gatepass/domain"
	"github.com/gatepass/gatepass/foundation/jsonappend"
)

// registeredJWT is the wire form of domain.Registered: integer NumericDates
// and a single-string aud, as the office-router and Supabase expect.
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

// The appendJSON methods write each claims type as encoding/json marshals
// it (member order, omitempty, escaping), without reflection; jws_test.go
// holds them to json.Marshal byte for byte.

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

func (o *officeJWT) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = o.appendMembers(b)
	b = append(b, `,"userId":`...)
	b = jsonappend.String(b, o.UserID)
	b = append(b, `,"orgId":`...)
	b = jsonappend.String(b, o.OrgID)
	b = append(b, `,"role":`...)
	b = jsonappend.String(b, o.Role)
	return append(b, '}')
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
