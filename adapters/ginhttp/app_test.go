package ginhttp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// The grant settings the router tests issue with.
var (
	testOffice   = application.OfficePolicy{Issuer: "gatepass", Audience: "office-router", TTL: time.Minute, URL: "wss://office.example/ws"}
	testRealtime = application.RealtimePolicy{Issuer: "qubital-backend", TTL: time.Hour}
)

// newApp is application.New for settings the test means to be valid.
func newApp(t testing.TB, p application.Ports, g application.Grants, limits application.RateLimitPolicy, checks []application.ReadinessCheck) *application.Application {
	t.Helper()
	app, err := application.New(p, g, limits, checks)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// errNotSigning is the answer of the signers of an application whose
// grants a test does not ask for.
var errNotSigning = errors.New("this test signs nothing")

// adminApp is an application for tests of what does not issue grants
// (the admin listener, the key set): valid grant settings, signers that
// refuse.
func adminApp(t testing.TB, p application.Ports, checks []application.ReadinessCheck) *application.Application {
	t.Helper()
	p.Signers = application.Signers{
		Office:   func(context.Context, domain.OfficeClaims) (string, error) { return "", errNotSigning },
		Realtime: func(context.Context, domain.RealtimeClaims) (string, error) { return "", errNotSigning },
	}
	return newApp(t, p, application.Grants{Office: testOffice, Realtime: testRealtime}, application.RateLimitPolicy{}, checks)
}
