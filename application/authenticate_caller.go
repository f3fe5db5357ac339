package application

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatepass/gatepass/domain"
)

// AuthenticateCaller asks who presents Bearer.
type AuthenticateCaller struct {
	// Bearer is the access token without the "Bearer " scheme.
	Bearer string
	// ClientIP is the caller's address; failed authentications are
	// counted against it.
	ClientIP string
}

// AuthenticateCallerHandler verifies callers through the identity port.
type AuthenticateCallerHandler struct {
	identity domain.IdentityVerifier
	budgets  *Budgets
}

// NewAuthenticateCallerHandler builds the handler.
func NewAuthenticateCallerHandler(identity domain.IdentityVerifier, budgets *Budgets) *AuthenticateCallerHandler {
	return &AuthenticateCallerHandler{identity: identity, budgets: budgets}
}

// Handle returns the verified Principal, or an error wrapping
// ErrMissingCredentials or ErrInvalidCredentials. A client address that has
// spent its budget of failed authentications gets ErrRateLimited, before
// any verification: a credential-stuffing run learns nothing more, valid
// token or not, until the budget refills.
func (h *AuthenticateCallerHandler) Handle(ctx context.Context, cmd AuthenticateCaller) (domain.Principal, error) {
	if strings.TrimSpace(cmd.Bearer) == "" {
		return domain.Principal{}, domain.ErrMissingCredentials
	}
	if err := h.budgets.RefuseSpentAddress(ctx, cmd.ClientIP); err != nil {
		return domain.Principal{}, err
	}
	p, err := h.identity.VerifyIdentity(ctx, cmd.Bearer)
	if err == nil {
		return p, nil
	}
	err = fmt.Errorf("authenticate caller: %w", err)
	if lerr := h.budgets.SpendFailure(ctx, cmd.ClientIP); lerr != nil {
		return domain.Principal{}, errors.Join(lerr, err)
	}
	return domain.Principal{}, err
}
