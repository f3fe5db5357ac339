// Package domain holds what gatepass is about, free of any transport or
// library: the verified caller (Principal); for every grant kind (GrantKinds
// lists them), in a file of its own, its request, its validation, its
// section of the policy, its claims and its signer port; the grants
// themselves, revocations and their rule, the sentinel errors, and the
// ports through which the application reaches identity providers, rate
// limiters, revocation stores, clocks and id sources.
package domain
