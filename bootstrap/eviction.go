package bootstrap

import (
	"fmt"
	"log/slog"

	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/prom"
	"github.com/gatepass/gatepass/adapters/systemclock"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// The transports' evictors, which close a revoked user's live
// connections. A transport's settings block registers its evictor from
// its own file with one line,
//
//	var _ = registerEvictor(domain.TransportX, xEvictor)
//
// where xEvictor builds the evictor from the transport's configuration,
// or answers nil while the transport is disabled or has no
// administrative access configured (the fan-out then reports it
// not_configured). A nil builder registers a transport that does not
// evict yet. Nothing else names a transport: the fan-out reports every
// registered one, each under the name its evictor gives.

// EvictorDeps are what a transport's evictor may need beside its
// transport's configuration.
type EvictorDeps struct {
	// Office signs with the office key (the office-router's admin grants).
	Office *jwtsigner.OfficeSigner
	Logger *slog.Logger
	Clock  domain.Clock
	// GrantKeys are the keys of the grants signed for transports that
	// know their connections by key.
	GrantKeys domain.GrantKeyStore
}

// evictorBuilder builds a transport's evictor; nil, without an error,
// while the transport does not evict.
type evictorBuilder func(cfg Config, d EvictorDeps) (domain.Evictor, error)

type evictorRegistration struct {
	transport domain.Transport
	build     evictorBuilder
}

// registeredEvictors are the transports' evictor registrations.
var registeredEvictors []evictorRegistration

// registerEvictor registers transport t's evictor builder (nil: the
// transport does not evict yet). It returns nothing of use: it is called
// as `var _ = registerEvictor(...)`.
func registerEvictor(t domain.Transport, build evictorBuilder) struct{} {
	registeredEvictors = append(registeredEvictors, evictorRegistration{transport: t, build: build})
	return struct{}{}
}

// evictors builds every registered transport's evictor: those that evict,
// and the transports that do not.
func evictors(cfg Config, d EvictorDeps) ([]domain.Evictor, []domain.Transport, error) {
	var out []domain.Evictor
	var disabled []domain.Transport
	seen := map[domain.Transport]bool{}
	for _, r := range registeredEvictors {
		if seen[r.transport] {
			return nil, nil, fmt.Errorf("%s registers its evictor twice", r.transport)
		}
		seen[r.transport] = true
		var e domain.Evictor
		if r.build != nil {
			var err error
			if e, err = r.build(cfg, d); err != nil {
				return nil, nil, fmt.Errorf("%s evictor: %w", r.transport, err)
			}
		}
		if e == nil {
			disabled = append(disabled, r.transport)
			continue
		}
		if e.Transport() != r.transport {
			return nil, nil, fmt.Errorf("the evictor registered for %s names itself %s", r.transport, e.Transport())
		}
		out = append(out, e)
	}
	return out, disabled, nil
}

// ProvideFanout is the revocations' fan-out to every registered
// transport's evictor, its state kept in the revocation store, counted in
// gatepass_revocation_fanout_total. The cleanup stops its retries.
func ProvideFanout(cfg Config, stores RevocationStores, office *jwtsigner.OfficeSigner, logger *slog.Logger, m *prom.Metrics) (*application.EvictRevokedHandler, func(), error) {
	evicting, disabled, err := evictors(cfg, EvictorDeps{Office: office, Logger: logger, Clock: systemClock, GrantKeys: stores.GrantKeys})
	if err != nil {
		return nil, nil, err
	}
	transports := disabled
	for _, e := range evicting {
		transports = append(transports, e.Transport())
	}
	results := make([]string, 0, len(application.FanoutResults()))
	for _, r := range application.FanoutResults() {
		results = append(results, string(r))
	}
	count := m.RevocationFanout(transports, results)
	h := application.NewEvictRevokedHandler(application.FanoutPorts{
		Evictors: evicting, Disabled: disabled, Store: stores.Fanout, Clock: systemClock, Timer: systemclock.Clock{},
		Count:  func(t domain.Transport, r application.FanoutResult) { count(t, string(r)) },
		Logger: logger,
	}, application.FanoutPolicy{})
	return h, h.Close, nil
}
