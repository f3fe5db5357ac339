package bootstrap

import "github.com/gatepass/gatepass/domain"

// The registered transports. A transport's settings block lives in a file
// of its own, named after it: its variables and their defaults, its
// development defaults, its budgets, how it is checked, its signers and
// its lines of the development banner (see transport). Registering one
// takes a line in each of the three declarations below.

// registeredTransports are the transports' settings blocks, in the order
// the shared code calls them and the development banner lists them.
var registeredTransports = []transport{liveKit{}, centrifugo{}}

// transportsEnv holds each registered transport's variables, named in full
// by its block.
type transportsEnv struct {
	LiveKit    liveKitEnv    `envPrefix:""`
	Centrifugo centrifugoEnv `envPrefix:""`
}

// TransportConfigs holds each registered transport's configuration; nil
// while the transport is disabled.
type TransportConfigs struct {
	LiveKit    *LiveKitConfig
	Centrifugo *domain.CentrifugoSettings
}
