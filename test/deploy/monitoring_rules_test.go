package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAlertRulesPassPromtool: the rule groups of the PrometheusRule are a
// rule file `promtool check rules` accepts, and its unit tests
// (testdata/rules_test.yaml) fire each alert when it should and not before.
func TestAlertRulesPassPromtool(t *testing.T) {
	t.Parallel()
	rules := loadRules(t)
	dir := t.TempDir()
	writeRuleFile(t, dir, "gatepass.rules.yml", rules)
	out := runPromtool(t, dir, "check", "rules", "gatepass.rules.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check rules: %s", out)
	}
	tests, err := os.ReadFile(filepath.Join("testdata", "rules_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules_test.yaml"), tests, 0o600); err != nil {
		t.Fatal(err)
	}
	out = runPromtool(t, dir, "test", "rules", "rules_test.yaml")
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules: %s", out)
	}
}

// TestEveryAlertIsTestedAndActionable: each alert has a severity, a
// summary and a description, and the promtool tests name it, firing.
func TestEveryAlertIsTestedAndActionable(t *testing.T) {
	tests, err := os.ReadFile(filepath.Join("testdata", "rules_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts = append(alerts, r.Alert)
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: needs a summary and a description", r.Alert)
			}
			if !strings.Contains(string(tests), "alertname: "+r.Alert+"\n        exp_alerts:\n          - exp_labels") {
				t.Errorf("%s: no promtool test expects it to fire", r.Alert)
			}
		}
	}
	for _, want := range []string{
		"GatepassIdentityKeysMissing", "GatepassIdentityKeysStale", "GatepassGrantErrorBudgetBurnFast",
		"GatepassGrantLatencyBudgetBurnFast", "GatepassSignerErrors", "GatepassRateLimiterStoreFailing", "GatepassPodsNotReady",
	} {
		found := false
		for _, a := range alerts {
			found = found || a == want
		}
		if !found {
			t.Errorf("no alert %s", want)
		}
	}
}
