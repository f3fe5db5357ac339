package bootstrap

import (
	"github.com/google/wire"

	"github.com/gatepass/gatepass/adapters/cryptorand"
	"github.com/gatepass/gatepass/adapters/systemclock"
	"github.com/gatepass/gatepass/domain"
)

var (
	systemClock domain.Clock    = systemclock.Clock{}
	randomIDs   domain.IDSource = cryptorand.IDs{}
)

// SignerSet provides the grant signers and the published key set.
var SignerSet = wire.NewSet(
	ProvideDevKit,
	ProvideOfficeBackend,
	ProvideOfficeSigner,
	ProvideTransportGrants,
	ProvideKeySet,
)

// IdentitySet provides the caller identity verifier.
var IdentitySet = wire.NewSet(
	ProvideIdentityKeys,
	ProvideIdentityVerifier,
	ProvideCachedIdentity,
)

// ApplicationSet provides the use cases, their ports and readiness checks.
var ApplicationSet = wire.NewSet(
	ProvideLimiter,
	ProvideRevocationStores,
	ProvideRevocations,
	ProvideFanout,
	ProvideLifecycle,
	ProvidePublicBase,
	ProvidePorts,
	ProvideReadinessChecks,
	ProvideApplication,
)

// ServerSet is the whole service.
var ServerSet = wire.NewSet(
	ProvideMetrics,
	SignerSet,
	IdentitySet,
	ApplicationSet,
	ProvideRouter,
	ProvideAdminRouter,
	ProvideBackground,
	ProvideServer,
)
