package ginhttp

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/gatepass/gatepass/domain"
)

// TestRegistrationsAreDocumented derives the OpenAPI checks from the grant
// registrations: every registered route is a documented POST, every
// registered token-exchange audience is in the document's audience list
// and nothing else is, and every grant kind is served by exactly one
// registered route, so a new kind cannot be registered without its
// documentation, nor documented without a registration.
func TestRegistrationsAreDocumented(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas struct {
				TokenExchangeRequest struct {
					Properties struct {
						Audience struct {
							Enum []string `json:"enum"`
						} `json:"audience"`
					} `json:"properties"`
				} `json:"TokenExchangeRequest"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	routed := map[domain.GrantKind]int{}
	var audiences []string
	for _, r := range registrations() {
		if r.audience != "" {
			audiences = append(audiences, r.audience)
		}
		for _, route := range r.routes {
			routed[route.kind]++
			if _, ok := doc.Paths[route.path]["post"]; !ok {
				t.Errorf("registered route POST %s (%s) is not in openapi.json", route.path, route.kind)
			}
		}
	}
	for _, kind := range domain.GrantKinds() {
		if routed[kind] != 1 {
			t.Errorf("grant kind %s is served by %d registered routes, want 1", kind, routed[kind])
		}
	}
	documented := doc.Components.Schemas.TokenExchangeRequest.Properties.Audience.Enum
	slices.Sort(audiences)
	slices.Sort(documented)
	if len(audiences) == 0 || !slices.Equal(audiences, documented) {
		t.Errorf("registered token-exchange audiences %v, documented %v: want the same", audiences, documented)
	}
}
