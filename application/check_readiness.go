package application

import (
	"context"
	"time"
)

// ReadinessCheck is one condition of being ready to serve: the signer's
// self-test, the identity keys in hand, the rate-limit store.
type ReadinessCheck struct {
	Name string
	// Probe returns a short description when ready, an error otherwise.
	Probe func(ctx context.Context) (string, error)
}

// CheckResult is the outcome of one check.
type CheckResult struct {
	Name   string
	Ready  bool
	Detail string
}

// Readiness is whether the service may receive traffic, and why.
type Readiness struct {
	Ready  bool
	Checks []CheckResult
}

// CheckReadinessHandler runs the readiness checks.
type CheckReadinessHandler struct {
	checks []ReadinessCheck
}

// NewCheckReadinessHandler builds the handler.
func NewCheckReadinessHandler(checks []ReadinessCheck) *CheckReadinessHandler {
	return &CheckReadinessHandler{checks: checks}
}

// Handle runs every check, each bounded in time; the service is ready when
// all pass. A failing check's detail is its error text, which probes must
// keep free of secrets.
func (h *CheckReadinessHandler) Handle(ctx context.Context) Readiness {
	r := Readiness{Ready: true, Checks: make([]CheckResult, 0, len(h.checks))}
	for _, c := range h.checks {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		detail, err := c.Probe(cctx)
		cancel()
		res := CheckResult{Name: c.Name, Ready: err == nil, Detail: detail}
		if err != nil {
			res.Detail = err.Error()
			r.Ready = false
		}
		r.Checks = append(r.Checks, res)
	}
	return r
}
