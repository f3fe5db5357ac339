package application_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// A scope put in the context once answers the request id at once and the
// caller from when it is recorded; without one, the single-value contexts
// still answer.
func TestRequestContextValues(t *testing.T) {
	exp := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	caller := application.Identity{Principal: domain.Principal{UserID: "user_1", OrgID: "org_1", Role: "admin"}, ExpiresAt: exp}

	scope := &application.Scope{RequestID: "req-scope"}
	scoped := application.WithScope(context.Background(), scope)
	unverified := func() (string, domain.Principal, bool, time.Time) {
		p, ok := application.PrincipalFrom(scoped)
		return application.RequestID(scoped), p, ok, application.IdentityExpiryFrom(scoped)
	}
	if id, p, ok, e := unverified(); id != "req-scope" || ok || p != (domain.Principal{}) || !e.IsZero() {
		t.Fatalf("scope before the caller: id %q, principal %+v (%v), expiry %v", id, p, ok, e)
	}
	scope.SetIdentity(caller)
	if id, p, ok, e := unverified(); id != "req-scope" || !ok || p != caller.Principal || !e.Equal(exp) {
		t.Fatalf("scope after SetIdentity: id %q, principal %+v (%v), expiry %v", id, p, ok, e)
	}
	if got, ok := scope.Identity(); !ok || got != caller {
		t.Fatalf("Scope.Identity() = %+v, %v", got, ok)
	}

	plain := application.WithIdentity(application.WithRequestID(context.Background(), "req-plain"), caller)
	if id := application.RequestID(plain); id != "req-plain" {
		t.Errorf("RequestID without a scope = %q", id)
	}
	if p, ok := application.PrincipalFrom(plain); !ok || p != caller.Principal {
		t.Errorf("PrincipalFrom without a scope = %+v, %v", p, ok)
	}
	if e := application.IdentityExpiryFrom(plain); !e.Equal(exp) {
		t.Errorf("IdentityExpiryFrom without a scope = %v", e)
	}

	// The innermost scope counts: an empty one hides the values around it.
	inner := application.WithScope(plain, &application.Scope{})
	if id := application.RequestID(inner); id != "" {
		t.Errorf("RequestID through an empty inner scope = %q", id)
	}
	if _, ok := application.PrincipalFrom(inner); ok {
		t.Error("PrincipalFrom through an empty inner scope found a caller")
	}
	// A value added over a scope keeps the scope's other value, as it was
	// then: a later change to the scope is not seen through it.
	outer := &application.Scope{RequestID: "req-outer"}
	derived := application.WithIdentity(application.WithScope(context.Background(), outer), caller)
	if id := application.RequestID(derived); id != "req-outer" {
		t.Errorf("RequestID of an identity over a scope = %q", id)
	}
	outer.RequestID = "req-changed"
	if id := application.RequestID(derived); id != "req-outer" {
		t.Errorf("RequestID saw a later change of the scope beneath: %q", id)
	}
	other := application.Identity{Principal: domain.Principal{UserID: "user_2", OrgID: "org_2"}}
	if p, _ := application.PrincipalFrom(application.WithIdentity(derived, other)); p != other.Principal {
		t.Errorf("the inner identity did not win: %+v", p)
	}
	if id := application.RequestID(context.Background()); id != "" {
		t.Errorf("RequestID of a bare context = %q", id)
	}
}
