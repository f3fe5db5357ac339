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
	testOffice   = domain.OfficeSettings{Issuer: "gatepass", Audience: "office-router", TTL: time.Minute, URL: "wss://office.example/ws"}
	testRealtime = domain.RealtimeSettings{Issuer: "qubital-backend", TTL: time.Hour}
)

// officeKind registers the office grant kind with s, signed by sign.
func officeKind(t testing.TB, s domain.OfficeSettings, sign application.Signer[domain.OfficeClaims]) application.GrantRegistration {
	t.Helper()
	def, err := domain.OfficeDefinition(s)
	if err != nil {
		t.Fatal(err)
	}
	return application.RegisterGrant(def, application.ExpiryBoundNone, sign)
}

// realtimeKind registers the Supabase Realtime kind with s, signed by
// sign.
func realtimeKind(t testing.TB, s domain.RealtimeSettings, sign application.Signer[domain.RealtimeClaims]) application.GrantRegistration {
	t.Helper()
	def, err := domain.RealtimeDefinition(s)
	if err != nil {
		t.Fatal(err)
	}
	return application.RegisterGrant(def, application.ExpiryBoundNone, sign)
}

// builtIn registers the office and realtime kinds with the test's
// settings, signed by office and realtime, and then others.
func builtIn(t testing.TB, office application.Signer[domain.OfficeClaims], realtime application.Signer[domain.RealtimeClaims],
	others ...application.GrantRegistration) []application.GrantRegistration {
	t.Helper()
	return append([]application.GrantRegistration{officeKind(t, testOffice, office), realtimeKind(t, testRealtime, realtime)}, others...)
}

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
	return newApp(t, p, application.Grants{Kinds: builtIn(t,
		func(context.Context, domain.OfficeClaims) (string, error) { return "", errNotSigning },
		func(context.Context, domain.RealtimeClaims) (string, error) { return "", errNotSigning },
	)}, application.RateLimitPolicy{}, checks)
}
