// Package domain holds what gatepass is about, free of any transport or
// library: the verified caller (Principal); the grant kinds (GrantKinds
// lists them): each registered transport's, in a file of its own with its
// request, its validation, its section of the policy, its claims, its
// signer port, its own errors and its definition; and the two built-in
// kinds, office and realtime, which register nothing: their claims are in
// claims.go, their signer ports in ports.go, and their requests and rules
// in the application; the grants themselves, revocations and their rule,
// the shared sentinel errors, and the ports through which the application
// reaches identity providers, rate limiters, revocation stores, clocks, id
// sources and the signature meter.
package domain
