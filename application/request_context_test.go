package application_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

// A RequestInfo put in the context once answers the request id at once and the
// caller from when it is recorded; the innermost one is the one that
// counts.
func TestRequestContextValues(t *testing.T) {
	exp := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	caller := application.Identity{Principal: domain.Principal{UserID: "user_1", OrgID: "org_1", Role: "admin"}, ExpiresAt: exp}

	info := &application.RequestInfo{RequestID: "req-scope"}
	scoped := application.WithRequestInfo(context.Background(), info)
	if id := application.RequestID(scoped); id != "req-scope" {
		t.Fatalf("RequestID = %q", id)
	}
	if got, ok := info.Identity(); ok || got != (application.Identity{}) {
		t.Fatalf("RequestInfo.Identity() before SetIdentity = %+v, %v", got, ok)
	}
	info.SetIdentity(caller)
	if got, ok := info.Identity(); !ok || got != caller {
		t.Fatalf("RequestInfo.Identity() = %+v, %v", got, ok)
	}
	// Filled in later, seen through the context made before.
	info.RequestID = "req-later"
	if id := application.RequestID(scoped); id != "req-later" {
		t.Errorf("RequestID after the RequestInfo changed = %q", id)
	}

	// The innermost RequestInfo counts: an empty one hides the values around it.
	inner := application.WithRequestInfo(scoped, &application.RequestInfo{})
	if id := application.RequestID(inner); id != "" {
		t.Errorf("RequestID through an empty inner RequestInfo = %q", id)
	}
	if id := application.RequestID(context.Background()); id != "" {
		t.Errorf("RequestID of a bare context = %q", id)
	}
}
