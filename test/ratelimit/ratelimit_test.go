// Package ratelimit_test checks gatepass's rate limits, served in process:
// per-address budgets of failed authentications that a client can neither
// spread over many spellings or addresses nor use to lock others out, and
// a Redis store that fails without turning the limits off or hiding from
// readiness; budgets shared by replicas on a Redis Cluster and behind
// Sentinel (cluster_test.go).
package ratelimit_test

// base is what every test sets on top of the kit's production
// configuration: the Go signer, and warnings only.
var base = map[string]string{"JWT_SIGNER": "go", "LOG_LEVEL": "warn"}
