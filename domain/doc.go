// Package domain holds what gatepass is about, free of any transport or
// library: the verified caller (Principal); the grant kinds (GrantKinds
// lists them, as each kind's file registers it): each in a file of its own
// with its request, its validation, its section of the policy (or, for
// the office-router's and Supabase Realtime's, the rule its definition
// keeps), its claims, its own errors and its definition; the signer ports
// of office and realtime are in ports.go; the grants themselves,
// revocations and their rule, the shared sentinel errors, and the ports
// through which the application reaches identity providers, rate
// limiters, revocation stores, clocks, id sources and the signature meter.
package domain
