package ginhttp_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/gatepass/gatepass/adapters/ginhttp"
)

// TestGrantResultsAreTheDocumentedProblems: the closed set of grant
// results the metrics declare is "issued" and every problem code of the
// OpenAPI document but those answered by routing (and by the admin API and
// the webhook), so a problem added to one
// and not the other fails here.
func TestGrantResultsAreTheDocumentedProblems(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Problem struct {
					Properties struct {
						Code struct {
							Enum []string `json:"enum"`
						} `json:"code"`
					} `json:"properties"`
				} `json:"Problem"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(ginhttp.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, code := range doc.Components.Schemas.Problem.Properties.Code.Enum {
		switch code {
		case "not_found", "method_not_allowed", "transport_disabled":
		case "invalid_revocation", "invalid_signature":
			// The admin API's and the WorkOS webhook's, never a grant's.
		default:
			want = append(want, code)
		}
	}
	if len(want) == 0 {
		t.Fatal("no problem codes in openapi.json")
	}
	got := ginhttp.GrantResults()
	if got[0] != "issued" {
		t.Fatalf("GrantResults()[0] = %q, want issued", got[0])
	}
	got = slices.Sorted(slices.Values(got[1:]))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("GrantResults() problem codes = %v\nopenapi.json codes (less routing ones) = %v", got, want)
	}
}

// TestRefusalReasonsAreTheLoggedSet: the reasons counted are the closed set
// the request log names for a 401 or 403, and nothing answered otherwise.
func TestRefusalReasonsAreTheLoggedSet(t *testing.T) {
	got := ginhttp.RefusalReasons()
	for _, want := range []string{
		"malformed", "malformed_claim", "missing_claim", "expired", "not_yet_valid", "issued_in_future",
		"wrong_issuer", "wrong_audience", "wrong_type", "unknown_key", "bad_signature", "algorithm_not_allowed",
		"forbidden_header", "missing_credentials", "invalid_token", "no_organization", "organization_mismatch",
		"unsupported_identifier", "channel_not_allowed", "transport_not_allowed", "identity_mismatch", "forbidden_field",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("RefusalReasons() lacks %q", want)
		}
	}
	for _, never := range []string{"keys_unavailable", "identity_unavailable", "rate_limited", "internal", "malformed_body"} {
		if slices.Contains(got, never) {
			t.Errorf("RefusalReasons() holds %q, which is not a 401 or 403", never)
		}
	}
	if len(got) != len(slices.Compact(slices.Sorted(slices.Values(got)))) {
		t.Errorf("RefusalReasons() repeats a value: %v", got)
	}
}
