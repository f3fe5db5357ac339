// Package officerouter evicts a revoked user from the office-router
// Worker: it calls the Worker's POST /admin/revoke with an admin grant
// signed by the office key, and the organization's Durable Object closes
// the user's sockets and refuses their older grants.
package officerouter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gatepass/gatepass/domain"
)

var _ domain.Evictor = (*Evictor)(nil)

// AdminGrantTTL is an admin grant's lifetime: one call. The Worker
// refuses grants minted more than two minutes ago whatever their exp.
const AdminGrantTTL = 30 * time.Second

// maxAnswerBytes bounds what is read of the Worker's answer.
const maxAnswerBytes = 4096

var (
	// ErrRefused means the Worker answered the revocation with an error.
	ErrRefused = errors.New("office-router refused the revocation")
	// errNotConfigured is a constructor's missing dependency.
	errNotConfigured = errors.New("office-router evictor: missing dependency")
)

// Config is what an Evictor is made of.
type Config struct {
	// Settings are the admin route's; New checks them against Others.
	Settings domain.OfficeRouterAdminSettings
	// Others are the audiences of every other grant kind the office key
	// signs for, which the admin audience must differ from.
	Others []domain.NamedAudience
	Signer domain.OfficeRouterAdminSigner
	// Client sends the calls; its timeout bounds each.
	Client *http.Client
	Clock  domain.Clock
	IDs    domain.IDSource
}

// Evictor is the office-router's eviction adapter.
type Evictor struct {
	settings domain.OfficeRouterAdminSettings
	signer   domain.OfficeRouterAdminSigner
	client   *http.Client
	clock    domain.Clock
	ids      domain.IDSource
}

// New returns an Evictor. It refuses settings that
// domain.NewOfficeRouterAdminSettings refuses, an admin audience shared
// with another grant kind among them, and missing dependencies.
func New(c Config) (*Evictor, error) {
	s, err := domain.NewOfficeRouterAdminSettings(c.Settings, c.Others...)
	if err != nil {
		return nil, fmt.Errorf("office-router evictor: %w", err)
	}
	if c.Signer == nil || c.Client == nil || c.Clock == nil || c.IDs == nil {
		return nil, errNotConfigured
	}
	return &Evictor{settings: s, signer: c.Signer, client: c.Client, clock: c.Clock, ids: c.IDs}, nil
}

// Transport names the office-router.
func (e *Evictor) Transport() domain.Transport { return domain.TransportOfficeRouter }

// revokeBody is the Worker's revocation body.
type revokeBody struct {
	UserID    string `json:"user_id"`
	OrgID     string `json:"org_id"`
	NotBefore string `json:"not_before"`
	ExpiresAt string `json:"expires_at"`
}

// Evict asks the Worker to close r's user's sockets in r's organization
// and to refuse their grants issued before the cut-off until every such
// grant has expired. The Worker has one Durable Object per organization
// and no list of them, so a revocation for all organizations is
// needs_org; a session revocation is not_applicable (grants name no
// session).
func (e *Evictor) Evict(ctx context.Context, r domain.Revocation) (domain.Eviction, error) {
	switch {
	case r.SessionID != "":
		return domain.Eviction{Status: domain.EvictionNotApplicable}, nil
	case r.AllOrganizations:
		return domain.Eviction{Status: domain.EvictionNeedsOrg}, nil
	}
	nb := r.NotBefore.UTC()
	body, err := json.Marshal(revokeBody{
		UserID: r.UserID, OrgID: r.OrgID,
		NotBefore: nb.Format(time.RFC3339), ExpiresAt: nb.Add(e.settings.GrantTTL).Format(time.RFC3339),
	})
	if err != nil {
		return domain.Eviction{}, fmt.Errorf("office-router revocation body: %w", err)
	}
	token, err := e.adminGrant(ctx, body)
	if err != nil {
		return domain.Eviction{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.settings.URL, bytes.NewReader(body))
	if err != nil {
		return domain.Eviction{}, fmt.Errorf("office-router request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := e.client.Do(req)
	if err != nil {
		return domain.Eviction{}, fmt.Errorf("office-router revocation: %w", err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, maxAnswerBytes))
	if err != nil {
		return domain.Eviction{}, fmt.Errorf("office-router answer: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return domain.Eviction{}, fmt.Errorf("%w: status %d%s", ErrRefused, res.StatusCode, problemCode(answer))
	}
	var out struct {
		Closed *int `json:"closed"`
	}
	if err := json.Unmarshal(answer, &out); err != nil || out.Closed == nil || *out.Closed < 0 {
		return domain.Eviction{}, fmt.Errorf("%w: an answer without a count of closed sockets", ErrRefused)
	}
	return domain.Eviction{Status: domain.EvictionDone, Count: *out.Closed}, nil
}

// adminGrant mints the grant that authorizes body, and only body.
func (e *Evictor) adminGrant(ctx context.Context, body []byte) (string, error) {
	id, err := e.ids.NewID()
	if err != nil {
		return "", fmt.Errorf("office-router admin grant id: %w", err)
	}
	now := e.clock.Now().Truncate(time.Second)
	sum := sha256.Sum256(body)
	token, err := e.signer.SignOfficeRouterAdmin(ctx, domain.OfficeRouterAdminClaims{
		Registered: domain.Registered{
			Issuer: e.settings.Issuer, Subject: domain.OfficeRouterAdminSubject, Audience: e.settings.Audience, ID: id,
			IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(AdminGrantTTL),
		},
		BodySHA256: base64.RawURLEncoding.EncodeToString(sum[:]),
	})
	if err != nil {
		return "", fmt.Errorf("sign office-router admin grant: %w", err)
	}
	return token, nil
}

// problemCode is the Worker's error code, as ": code", or "".
func problemCode(answer []byte) string {
	var p struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(answer, &p) != nil || p.Error == "" || len(p.Error) > 64 {
		return ""
	}
	return ": " + p.Error
}
