package application

import (
	"context"
	"fmt"
	"strings"

	"github.com/gatepass/gatepass/domain"
)

// AuthenticateCaller asks who presents Bearer.
type AuthenticateCaller struct {
	// Bearer is the access token without the "Bearer " scheme.
	Bearer string
}

// AuthenticateCallerHandler verifies callers through the identity port.
type AuthenticateCallerHandler struct {
	identity domain.IdentityVerifier
}

// NewAuthenticateCallerHandler builds the handler.
func NewAuthenticateCallerHandler(identity domain.IdentityVerifier) *AuthenticateCallerHandler {
	return &AuthenticateCallerHandler{identity: identity}
}

// Handle returns the verified Principal, or an error wrapping
// ErrMissingCredentials or ErrInvalidCredentials.
func (h *AuthenticateCallerHandler) Handle(ctx context.Context, cmd AuthenticateCaller) (domain.Principal, error) {
	if strings.TrimSpace(cmd.Bearer) == "" {
		return domain.Principal{}, domain.ErrMissingCredentials
	}
	p, err := h.identity.VerifyIdentity(ctx, cmd.Bearer)
	if err != nil {
		return domain.Principal{}, fmt.Errorf("authenticate caller: %w", err)
	}
	return p, nil
}
