package bootstrap

import (
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"strings"

	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// transport is one transport's settings block, registered from its own
// file (registerTransport): the variables it reads (its struct, newEnv),
// the configuration it makes of them (kept in Config by its type, see
// configOf), and what the start needs
// of it. The code shared by every transport calls these methods in turn
// and never names a transport; a transport whose configuration stays nil
// is disabled.
type transport interface {
	// newEnv is a pointer to a new, unparsed struct of the transport's
	// variables.
	newEnv() any
	// devSecret names the development folder's file whose secret the
	// transport takes while its variables are unset; "" when it takes none.
	devSecret(e environment) string
	// configure parses and checks the transport's variables into cfg,
	// reporting every problem to p; in development (dev non-nil) it first
	// fills in what the development servers need. cfg's office, grant
	// expiry bound and service settings are read already.
	configure(e environment, dev *devMaterial, cfg *Config, p *problems)
	// prepareDevelopment writes, into the development folder that
	// PrepareDevelopment made, what the transport's own development server
	// needs to accept gatepass's development grants; most need nothing.
	prepareDevelopment(e environment) error
	// limits are the request budgets of the transport's grant kinds.
	limits(e environment) map[domain.GrantKind]domain.Limit
	// provide registers the transport's grant kinds: with their settings
	// and signers when it is enabled (their definitions refusing settings
	// out of their invariants), disabled (RegisterDisabled) when not. The
	// application meters every signer (application.Ports.Meter).
	provide(cfg Config, office *jwtsigner.OfficeSigner, logger *slog.Logger) ([]application.GrantRegistration, error)
	// banner is what the development banner prints for the transport when
	// it is enabled, and where; "" when it is disabled.
	banner(cfg Config, w Welcome) (string, BannerPlace)
}

// transportsFrom configures every registered transport.
func transportsFrom(e environment, dev *devMaterial, cfg *Config, p *problems) {
	for _, t := range registeredTransports {
		t.configure(e, dev, cfg, p)
	}
}

// transportLimits are the request budgets of every registered transport's
// grant kinds.
func transportLimits(e environment) map[domain.GrantKind]domain.Limit {
	out := map[domain.GrantKind]domain.Limit{}
	for _, t := range registeredTransports {
		maps.Copy(out, t.limits(e))
	}
	return out
}

// keyedTransport is a transport whose grants' keys are kept in the
// revocation store (domain.GrantKeyStore), where its evictor finds a
// revoked user's connections: its signers record them.
type keyedTransport interface {
	provideRecording(cfg Config, keys domain.GrantKeyStore) ([]application.GrantRegistration, error)
}

// TransportGrants are the registered transports' grant kinds as the
// application registers them; a disabled transport's are marked disabled.
type TransportGrants []application.GrantRegistration

// ProvideTransportGrants registers every registered transport's grant
// kinds; a keyed transport's signers record their grants' keys in the
// revocation store. The application meters every kind's signer alike
// (application.Ports.Meter), so no transport meters its own.
func ProvideTransportGrants(cfg Config, office *jwtsigner.OfficeSigner, stores RevocationStores, logger *slog.Logger) (TransportGrants, error) {
	var out TransportGrants
	for _, tr := range registeredTransports {
		var kinds []application.GrantRegistration
		var err error
		if kt, ok := tr.(keyedTransport); ok {
			kinds, err = kt.provideRecording(cfg, stores.GrantKeys)
		} else {
			kinds, err = tr.provide(cfg, office, logger)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, kinds...)
	}
	return out, nil
}

// Welcome is what the development banner's lines are made of.
type Welcome struct {
	// Base is where gatepass listens, such as http://127.0.0.1:8080.
	Base string
	// Token is a development identity token gatepass accepts.
	Token string
	// DevDir is the development folder, as an absolute path when it can be.
	DevDir string
}

// BannerPlace is where a transport's lines go in the development banner.
type BannerPlace int

// Places in the development banner.
const (
	// BannerWithGrants is with the grant endpoints, before the token
	// exchange.
	BannerWithGrants BannerPlace = iota
	// BannerAfterExchange is after the token exchange.
	BannerAfterExchange
)

// TransportBanner is what the development banner prints at place for the
// enabled transports: a ready-to-paste curl for each endpoint, and how to
// run the transport's own development server.
func (c Config) TransportBanner(place BannerPlace, w Welcome) string {
	var b strings.Builder
	for _, t := range registeredTransports {
		if text, at := t.banner(c, w); at == place {
			b.WriteString(text)
		}
	}
	return b.String()
}

var errWebSocketURL = errors.New("must be a wss:// URL (ws:// only on loopback or in development)")

// checkWebSocketURL accepts wss://, and ws:// only to a loopback host or
// in development.
func checkWebSocketURL(raw string, development bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errWebSocketURL
	}
	switch u.Scheme {
	case "wss":
		return nil
	case "ws":
		if clearTextAllowed(u.Hostname(), development) {
			return nil
		}
	}
	return errWebSocketURL
}

// clearTextAllowed reports whether a peer at host may be reached without
// TLS: on loopback, or anywhere in development, whose development stack
// may serve a browser in a network namespace on a private address (as
// WEBSOCKET_BASE_URL and OFFICE_ROUTER_ADMIN_URL already may).
func clearTextAllowed(host string, development bool) bool {
	return development || loopbackHost(host)
}

func loopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return (ip != nil && ip.IsLoopback()) || strings.EqualFold(host, "localhost")
}
