package ginhttp_test

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/application"
)

// TestRefusalsExplainThemselvesOnlyWhenAsked: with ExplainRefusals a 401
// or 403 problem names its reason, and the answer still matches the
// OpenAPI document; without it, the problem has no reason member.
func TestRefusalsExplainThemselvesOnlyWhenAsked(t *testing.T) {
	_, router := loadDocument(t)
	for _, explain := range []bool{false, true} {
		a := newAPIWith(t, application.RateLimitPolicy{}, nil, ginhttp.Options{ExplainRefusals: explain})
		tests := []struct {
			name, bearer, body, reason string
			status                     int
		}{
			{name: "no bearer", status: 401, reason: "missing_credentials"},
			{name: "not a token", bearer: "x.y.z", status: 401, reason: "malformed"},
			{name: "no organization", bearer: a.bearer(t, ""), status: 403, reason: "no_organization"},
			{name: "another organization", bearer: a.bearer(t, "org_1"), body: `{"orgId":"org_2"}`, status: 403, reason: "organization_mismatch"},
			{name: "granted", bearer: a.bearer(t, "org_1"), status: 200},
		}
		for _, tt := range tests {
			req := httptest.NewRequest("POST", "http://gatepass.test"+ginhttp.RouteOfficeAccess, strings.NewReader(tt.body))
			if tt.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tt.bearer)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			rec := httptest.NewRecorder()
			a.handler.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("explain=%v %s: status %d, want %d: %s", explain, tt.name, rec.Code, tt.status, rec.Body)
			}
			validate(t, router, req, rec)
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			reason, has := body["reason"]
			switch {
			case explain && tt.reason != "" && reason != tt.reason:
				t.Errorf("explain=%v %s: reason %v, want %q", explain, tt.name, reason, tt.reason)
			case (!explain || tt.reason == "") && has:
				t.Errorf("explain=%v %s: the answer carries a reason: %s", explain, tt.name, rec.Body)
			}
		}
	}
}

// TestDocumentedReasonsAreTheRefusalReasons keeps the OpenAPI document's
// reason enum equal to the reasons the log and the metrics name.
func TestDocumentedReasonsAreTheRefusalReasons(t *testing.T) {
	doc, _ := loadDocument(t)
	reason := doc.Components.Schemas["Problem"].Value.Properties["reason"]
	if reason == nil {
		t.Fatal("the Problem schema does not declare reason")
	}
	var documented []string
	for _, v := range reason.Value.Enum {
		documented = append(documented, v.(string))
	}
	if want := ginhttp.RefusalReasons(); !slices.Equal(slices.Sorted(slices.Values(documented)), slices.Sorted(slices.Values(want))) {
		t.Errorf("documented reasons %v, want RefusalReasons %v", documented, want)
	}
}
