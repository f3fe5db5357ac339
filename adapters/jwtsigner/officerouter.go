package jwtsigner

import (
	"context"

	"github.com/gatepass/gatepass/domain"
)

var _ domain.OfficeRouterAdminSigner = (*OfficeSigner)(nil)

// SignOfficeRouterAdmin signs an admin grant for the office-router's
// revocation route with the office key: iss, sub, aud, iat, nbf, exp, jti
// and sha256, the hash of the body it authorizes.
func (s *OfficeSigner) SignOfficeRouterAdmin(_ context.Context, c domain.OfficeRouterAdminClaims) (string, error) {
	return s.sign(officeRouterAdminJWT{registeredJWT: fromRegistered(c.Registered), SHA256: c.BodySHA256})
}

type officeRouterAdminJWT struct {
	registeredJWT
	SHA256 string `json:"sha256"`
}
