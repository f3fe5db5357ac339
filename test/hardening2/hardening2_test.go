// Package hardening2_test checks gatepass's defences against clients that
// abuse it, on the real binary over loopback: metric labels a client
// cannot multiply, per-address budgets a client can neither spread nor use
// to lock others out, a failing Redis that neither turns limits off nor
// hides from readiness, connection and header caps, and a public port that
// tells little.
package hardening2_test

// base is what every test sets on top of the kit's production
// configuration: the Go signer, and warnings only, as some tests send
// thousands of requests.
var base = map[string]string{"JWT_SIGNER": "go", "LOG_LEVEL": "warn"}
