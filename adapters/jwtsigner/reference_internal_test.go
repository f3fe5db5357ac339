package jwtsigner

import (
	"encoding/json"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/domain"
)

// The jwt.Claims methods, which golang-jwt's generic path asks of the wire
// types when the tests make their reference tokens with it.

func (r registeredJWT) GetExpirationTime() (*jwt.NumericDate, error) { return numeric(r.Exp), nil }
func (r registeredJWT) GetIssuedAt() (*jwt.NumericDate, error)       { return numeric(r.Iat), nil }
func (r registeredJWT) GetNotBefore() (*jwt.NumericDate, error)      { return numeric(r.Nbf), nil }
func (r registeredJWT) GetIssuer() (string, error)                   { return r.Iss, nil }
func (r registeredJWT) GetSubject() (string, error)                  { return r.Sub, nil }
func (r registeredJWT) GetAudience() (jwt.ClaimStrings, error)       { return jwt.ClaimStrings{r.Aud}, nil }

func numeric(sec int64) *jwt.NumericDate {
	if sec == 0 {
		return nil
	}
	return jwt.NewNumericDate(time.Unix(sec, 0))
}

func (l liveKitJWT) GetExpirationTime() (*jwt.NumericDate, error) { return numeric(l.Exp), nil }
func (l liveKitJWT) GetIssuedAt() (*jwt.NumericDate, error)       { return numeric(l.Iat), nil }
func (l liveKitJWT) GetNotBefore() (*jwt.NumericDate, error)      { return numeric(l.Nbf), nil }
func (l liveKitJWT) GetIssuer() (string, error)                   { return l.Iss, nil }
func (l liveKitJWT) GetSubject() (string, error)                  { return l.Sub, nil }
func (l liveKitJWT) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// MarshalJSON is the attributes as one map, as the reference tokens hold
// them: the caller's others, and the verified values under the reserved
// keys whatever the others hold.
func (a liveKitAttributesJWT) MarshalJSON() ([]byte, error) {
	m := make(map[string]string, len(a.Others)+3)
	for k, v := range a.Others {
		m[k] = v
	}
	m[domain.AttributeUserID], m[domain.AttributeOrgID], m[domain.AttributeRole] = a.UserID, a.OrgID, a.Role
	return json.Marshal(m)
}
