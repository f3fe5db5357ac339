package yamlpolicy_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/adapters/yamlpolicy"
	"github.com/gatepass/gatepass/domain"
)

// TestParseNATSSection: the nats section reads its lists, its rules'
// subjects under "subjects", and names every subject it refuses.
func TestParseNATSSection(t *testing.T) {
	got, err := yamlpolicy.Parse([]byte(`version: 1
nats:
  connect:
    - roles: ["*"]
  publish:
    - permissions: [chat:write]
      subjects: ["org.{orgId}.chat"]
  subscribe:
    - roles: ["*"]
      subjects: ["org.{orgId}.>", "_INBOX.{userId}.>"]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := domain.NATSRules{
		Connect: []domain.Subjects{{Roles: []string{"*"}}},
		Publish: []domain.NATSSubjectRule{{Subjects: domain.Subjects{Permissions: []string{"chat:write"}}, Names: []string{"org.{orgId}.chat"}}},
		Subscribe: []domain.NATSSubjectRule{{Subjects: domain.Subjects{Roles: []string{"*"}},
			Names: []string{"org.{orgId}.>", "_INBOX.{userId}.>"}}},
	}
	if s := domain.PolicySectionOf[domain.NATSRules](got); !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}

	_, err = yamlpolicy.Parse([]byte(`version: 1
nats:
  connect:
    - roles: ["*"]
  subscribe:
    - roles: ["*"]
      subjects: ["_INBOX.>", "org.{orgId}.>"]
`))
	if err == nil || !strings.Contains(err.Error(), "nats.subscribe[0].subjects[0]") || strings.Contains(err.Error(), "subjects[1]") {
		t.Fatalf("a subject every caller's inbox shares: %v", err)
	}
}
