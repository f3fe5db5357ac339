package bootstrap

import (
	"github.com/google/wire"

	"github.com/gatepass/gatepass/adapters/cryptorand"
	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/statickeys"
	"github.com/gatepass/gatepass/adapters/systemclock"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// SignerSet provides the grant signers and binds them to their ports.
var SignerSet = wire.NewSet(
	ProvideMaterial,
	ProvideDevKit,
	ProvideOfficeSigner,
	ProvideRealtimeSigner,
	ProvideKeySet,
	wire.Bind(new(domain.KeySet), new(*statickeys.KeySet)),
	wire.Bind(new(domain.OfficeSigner), new(*jwtsigner.OfficeSigner)),
	wire.Bind(new(domain.RealtimeSigner), new(*jwtsigner.RealtimeSigner)),
)

// IdentitySet provides the caller identity verifier.
var IdentitySet = wire.NewSet(
	ProvideIdentityKeys,
	ProvideIdentityVerifier,
	ProvideCachedIdentity,
)

// ApplicationSet provides the use cases and their plain ports.
var ApplicationSet = wire.NewSet(
	wire.InterfaceValue(new(domain.Clock), systemclock.Clock{}),
	wire.InterfaceValue(new(domain.IDSource), cryptorand.IDs{}),
	wire.Struct(new(application.Ports), "*"),
	ProvideOfficePolicy,
	ProvideRealtimePolicy,
	application.New,
)

// ServerSet is the whole service.
var ServerSet = wire.NewSet(
	SignerSet,
	IdentitySet,
	ApplicationSet,
	ProvideRouter,
	wire.Struct(new(Server), "*"),
)
