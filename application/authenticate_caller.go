package application

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// AuthenticateCaller asks who presents Bearer.
type AuthenticateCaller struct {
	// Bearer is the access token without the "Bearer " scheme.
	Bearer string
	// ClientIP is the caller's address; failed authentications are
	// counted against it. The zero Addr counts nothing.
	ClientIP netip.Addr
}

// ErrIdentityUnavailable means a caller could not be verified because the
// identity provider's keys have never loaded: the service's failure, not
// the caller's, answered so that the caller retries.
var ErrIdentityUnavailable = errors.New("identity keys unavailable")

// Identity is a verified caller and when its identity expires: the zero
// time when the identity verifier does not tell.
type Identity struct {
	Principal domain.Principal
	ExpiresAt time.Time
}

// AuthenticateCallerHandler verifies callers through the identity port.
type AuthenticateCallerHandler struct {
	identity domain.IdentityVerifier
	expiring domain.ExpiringIdentityVerifier // nil when identity cannot tell expiry
	budgets  *Budgets
}

// NewAuthenticateCallerHandler builds the handler. When identity also
// implements domain.ExpiringIdentityVerifier, the identity's expiry is
// returned too.
func NewAuthenticateCallerHandler(identity domain.IdentityVerifier, budgets *Budgets) *AuthenticateCallerHandler {
	expiring, _ := identity.(domain.ExpiringIdentityVerifier)
	return &AuthenticateCallerHandler{identity: identity, expiring: expiring, budgets: budgets}
}

// Handle returns the verified Identity, or an error wrapping
// ErrMissingCredentials, ErrInvalidCredentials or ErrIdentityUnavailable.
//
// Every token is verified first: a valid token is never refused because
// of its address, so one client behind a NAT cannot lock out the honest
// users of that address. A failed authentication spends the address's
// budget; once it is spent, the failure also wraps ErrRateLimited and is
// answered 429 instead of 401. A token that could not be checked because
// the identity keys have never loaded is not the caller's failure: it
// wraps ErrIdentityUnavailable and spends nothing, so an identity provider
// down at start cannot lock whole offices out once it is back.
func (h *AuthenticateCallerHandler) Handle(ctx context.Context, cmd AuthenticateCaller) (Identity, error) {
	if strings.TrimSpace(cmd.Bearer) == "" {
		return Identity{}, domain.ErrMissingCredentials
	}
	id, err := h.verify(ctx, cmd.Bearer)
	if err == nil {
		return id, nil
	}
	var ce *domain.CredentialError
	if errors.As(err, &ce) && ce.Reason == domain.ReasonKeysUnavailable {
		return Identity{}, fmt.Errorf("authenticate caller: %w: %w", ErrIdentityUnavailable, err)
	}
	err = fmt.Errorf("authenticate caller: %w", err)
	if lerr := h.budgets.SpendFailure(ctx, cmd.ClientIP); lerr != nil {
		return Identity{}, errors.Join(lerr, err)
	}
	return Identity{}, err
}

// SpendFailure counts a request refused before its credential was looked
// at, because reading it costs more than refusing a bad token (a form of
// thousands of parameters), as one failed authentication from client: it
// spends the same budget, so such requests cannot be sent for free. The
// error wraps ErrRateLimited once the budget is spent.
func (h *AuthenticateCallerHandler) SpendFailure(ctx context.Context, client netip.Addr) error {
	if err := h.budgets.SpendFailure(ctx, client); err != nil {
		return fmt.Errorf("refused request: %w", err)
	}
	return nil
}

func (h *AuthenticateCallerHandler) verify(ctx context.Context, bearer string) (Identity, error) {
	if h.expiring != nil {
		p, exp, err := h.expiring.VerifyIdentityUntil(ctx, bearer)
		return Identity{Principal: p, ExpiresAt: exp}, err
	}
	p, err := h.identity.VerifyIdentity(ctx, bearer)
	return Identity{Principal: p}, err
}

// CanTellIdentityExpiry reports whether the identity verifier reports
// expiry, which ExpiryBoundIdentity needs.
func (h *AuthenticateCallerHandler) CanTellIdentityExpiry() bool { return h.expiring != nil }
