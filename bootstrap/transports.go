package bootstrap

import (
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gatepass/gatepass/domain"
)

// The registered transports. A transport's settings block lives in a file
// of its own, named after it: its variables and their defaults, its
// development defaults, its budgets, how it is checked, its grant kinds
// and its lines of the development banner (see transport). The file
// registers the block with one line, `var _ = registerTransport(...)`;
// nothing else names it.

// registeredTransports are the transports' settings blocks, in the order
// of their grant kinds (domain.GrantKinds): the order the shared code
// calls them and the development banner lists them.
var registeredTransports []transport

// transportRanks are the registered transports' places among the grant
// kinds, beside registeredTransports.
var transportRanks []int

// registerTransport registers a transport's settings block; first names
// the first of its grant kinds, which places it among the others.
func registerTransport(first domain.GrantKind, t transport) struct{} {
	rank := slices.Index(domain.GrantKinds(), first)
	at, _ := slices.BinarySearch(transportRanks, rank)
	transportRanks = slices.Insert(transportRanks, at, rank)
	registeredTransports = slices.Insert(registeredTransports, at, t)
	return struct{}{}
}

// transportEnvs are the registered transports' variables, each block's own
// struct (transport.newEnv), parsed and walked as the environment's other
// fields are, in the registration's order.
type transportEnvs []any

// newTransportEnvs are the registered transports' variables, unparsed.
func newTransportEnvs() transportEnvs {
	out := make(transportEnvs, 0, len(registeredTransports))
	for _, t := range registeredTransports {
		out = append(out, t.newEnv())
	}
	return out
}

// envOf is the variables of the transport whose struct is E.
func envOf[E any](e environment) E {
	for _, v := range e.Transports {
		if p, ok := v.(*E); ok {
			return *p
		}
	}
	var none E
	return none
}

// TransportConfigs holds each enabled transport's configuration: a
// pointer to the block's own type (see configOf).
type TransportConfigs struct {
	transports []any
}

// configOf is the configuration of the transport whose type is C; nil
// while the transport is disabled.
func configOf[C any](c Config) *C {
	for _, v := range c.transports {
		if p, ok := v.(*C); ok {
			return p
		}
	}
	return nil
}

// setConfig records a transport's configuration, replacing any before.
func setConfig[C any](c *Config, conf *C) {
	c.transports = slices.DeleteFunc(slices.Clone(c.transports), func(v any) bool { _, ok := v.(*C); return ok })
	if conf != nil {
		c.transports = append(c.transports, conf)
	}
}

// walkTransportEnvs walks each registered transport's variables as walkEnv
// walks a nested struct.
func walkTransportEnvs(f reflect.Value, prefix string, fn func(name string, f reflect.Value, sf reflect.StructField)) {
	for i := range f.Len() {
		walkEnv(f.Index(i).Elem().Elem(), prefix, fn)
	}
}

// TokenVerifier is how `gatepass token verify` checks a transport's tokens
// that gatepass's keys do not sign: a flag naming what they are checked
// against, registered from the transport's file with
// `var _ = registerTokenVerifier(...)`.
type TokenVerifier struct {
	// Flag is the flag's name, without dashes; Usage its help, with the
	// value's name in back quotes.
	Flag  string
	Usage string
	// Verify checks token against the flag's value at now.
	Verify func(token, value string, now time.Time) error
}

// tokenVerifiers are the registered token verifiers.
var tokenVerifiers []TokenVerifier

// registerTokenVerifier registers a token verifier.
func registerTokenVerifier(v TokenVerifier) struct{} {
	tokenVerifiers = append(tokenVerifiers, v)
	return struct{}{}
}

// TokenVerifiers are the registered token verifiers, by flag.
func TokenVerifiers() []TokenVerifier {
	return slices.SortedFunc(slices.Values(tokenVerifiers), func(a, b TokenVerifier) int { return strings.Compare(a.Flag, b.Flag) })
}
