package ginhttp_test

import (
	"context"

	"github.com/gatepass/gatepass/domain"
)

// staticIdentity accepts one bearer as one caller: the identity cache and
// JWT verification have their own tests and benchmarks.
type staticIdentity struct{ principal domain.Principal }

func (s staticIdentity) VerifyIdentity(_ context.Context, bearer string) (domain.Principal, error) {
	if bearer != "static-bearer" {
		return domain.Principal{}, domain.ErrInvalidCredentials
	}
	return s.principal, nil
}
