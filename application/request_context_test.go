package application_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// A scope put in the context once answers the request id at once and the
// caller from when it is recorded; the innermost scope is the one that
// counts.
func TestRequestContextValues(t *testing.T) {
	exp := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	caller := application.Identity{Principal: domain.Principal{UserID: "user_1", OrgID: "org_1", Role: "admin"}, ExpiresAt: exp}

	scope := &application.Scope{RequestID: "req-scope"}
	scoped := application.WithScope(context.Background(), scope)
	if id := application.RequestID(scoped); id != "req-scope" {
		t.Fatalf("RequestID = %q", id)
	}
	if got, ok := scope.Identity(); ok || got != (application.Identity{}) {
		t.Fatalf("Scope.Identity() before SetIdentity = %+v, %v", got, ok)
	}
	scope.SetIdentity(caller)
	if got, ok := scope.Identity(); !ok || got != caller {
		t.Fatalf("Scope.Identity() = %+v, %v", got, ok)
	}
	// Filled in later, seen through the context made before.
	scope.RequestID = "req-later"
	if id := application.RequestID(scoped); id != "req-later" {
		t.Errorf("RequestID after the scope changed = %q", id)
	}

	// The innermost scope counts: an empty one hides the values around it.
	inner := application.WithScope(scoped, &application.Scope{})
	if id := application.RequestID(inner); id != "" {
		t.Errorf("RequestID through an empty inner scope = %q", id)
	}
	if id := application.RequestID(context.Background()); id != "" {
		t.Errorf("RequestID of a bare context = %q", id)
	}
}
