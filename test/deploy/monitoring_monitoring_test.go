// deploy/monitoring, checked against gatepass served
// in process and the real promtool: the alert rules pass `promtool check rules`
// and their unit tests, the dashboard's and the rules' queries name only
// metrics gatepass exports (scraped live) or Prometheus and
// kube-state-metrics make, every counter is exported at zero before its
// first event, and a caller refused for want of identity keys is answered
// 503 without spending its address's failed-authentication budget.

package deploy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

var (
	monitoringDir = filepath.Join(deployDir, "monitoring")
	rulesFile     = filepath.Join(monitoringDir, "prometheusrule.yaml")
	dashboardFile = filepath.Join(monitoringDir, "gatepass-dashboard.json")
	serviceFile   = filepath.Join(deployDir, "kubernetes", "service.yaml")
)

// promtool is the promtool binary; the test fails, never skips, without it.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed: run `scripts/deps.sh promtool` (as root it installs the Debian package prometheus)")
	}
	return p
}

// runPromtool runs promtool with args in dir and fails with its output.
func runPromtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ruleGroups is the spec of the PrometheusRule: a plain Prometheus rule file.
type ruleGroups struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record,omitempty"`
			Alert       string            `yaml:"alert,omitempty"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for,omitempty"`
			Labels      map[string]string `yaml:"labels,omitempty"`
			Annotations map[string]string `yaml:"annotations,omitempty"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T) ruleGroups {
	t.Helper()
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		APIVersion string     `yaml:"apiVersion"`
		Kind       string     `yaml:"kind"`
		Spec       ruleGroups `yaml:"spec"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	if doc.Kind != "PrometheusRule" || doc.APIVersion != "monitoring.coreos.com/v1" {
		t.Fatalf("%s: kind %q %q, want a monitoring.coreos.com/v1 PrometheusRule", rulesFile, doc.APIVersion, doc.Kind)
	}
	if len(doc.Spec.Groups) == 0 {
		t.Fatalf("%s: no rule groups", rulesFile)
	}
	return doc.Spec
}

// writeRuleFile writes g as a plain rule file in dir and returns its path.
func writeRuleFile(t *testing.T, dir, name string, g any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(g); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// dashboard is what the tests read of the Grafana dashboard.
type dashboard struct {
	Title  string  `json:"title"`
	UID    string  `json:"uid"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Title   string `json:"title"`
	Type    string `json:"type"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// queries is every query of the dashboard's panels, by panel title.
func (d dashboard) queries() map[string][]string {
	out := map[string][]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				if strings.TrimSpace(tg.Expr) != "" {
					out[p.Title] = append(out[p.Title], tg.Expr)
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// grafanaVariables stand in for the dashboard's variables, so that its
// queries are PromQL promtool parses.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$namespace", ".*", "$instance", ".*")

var (
	stringLiteral = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	braces        = regexp.MustCompile(`\{[^{}]*\}`)
	brackets      = regexp.MustCompile(`\[[^\[\]]*\]`)
	grouping      = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	identifier    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	number        = regexp.MustCompile(`\b[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?[smhdwy]?\b`)
)

// promqlWords are PromQL's operators, keywords and the functions and
// aggregations these queries may use: any other word is a metric name.
var promqlWords = []string{
	"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
	"sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
	"rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "time", "absent", "absent_over_time",
	"label_values", "vector", "scalar", "clamp_min", "clamp_max", "abs", "max_over_time", "min_over_time",
	"avg_over_time", "changes", "resets", "timestamp", "sort", "sort_desc",
}

// metricNames are the metric names query names: PromQL without its string
// literals, label matchers, ranges, groupings, numbers and own words.
func metricNames(query string) []string {
	q := stringLiteral.ReplaceAllString(query, `""`)
	for prev := ""; prev != q; {
		prev = q
		q = braces.ReplaceAllString(q, " ")
	}
	q = brackets.ReplaceAllString(q, " ")
	q = grouping.ReplaceAllString(q, " ")
	q = number.ReplaceAllString(q, " ")
	var names []string
	for _, w := range identifier.FindAllString(q, -1) {
		if !slices.Contains(promqlWords, w) && !slices.Contains(names, w) {
			names = append(names, w)
		}
	}
	return names
}

func TestMetricNamesOfAQuery(t *testing.T) {
	got := metricNames(`sum by (le, route) (rate(gatepass_http_request_duration_seconds_bucket{job="gatepass",route=~"/api/v1/.+",le="0.25"}[5m])) / on (job) group_left sum(up{job="x"}) > 14.4 * 0.001 and time() - gatepass_identity_keys_last_refresh_timestamp_seconds > 1800`)
	want := []string{"gatepass_http_request_duration_seconds_bucket", "up", "gatepass_identity_keys_last_refresh_timestamp_seconds"}
	if !slices.Equal(got, want) {
		t.Fatalf("metricNames = %v, want %v", got, want)
	}
}
