package deploy_test

import (
	"strings"
	"testing"

	"github.com/gatepass/gatepass/bootstrap"
)

// TestStrictEnvGoesWithoutServiceLinks: the example refuses variables
// gatepass does not read (GATEPASS_STRICT_ENV=true), so its pods must not
// be given the Service links Kubernetes injects by default
// (GATEPASS_SERVICE_HOST, REDIS_PORT...), which begin like gatepass's own
// variables and would refuse every start.
func TestStrictEnvGoesWithoutServiceLinks(t *testing.T) {
	docs := applied(t)
	_, c := app(t, docs)
	if got := environment(t, docs, c)["GATEPASS_STRICT_ENV"]; got != "true" {
		t.Errorf("the example sets GATEPASS_STRICT_ENV=%q, want true: a misspelt setting must refuse the start", got)
	}
	var prefixes []string
	for _, v := range bootstrap.Variables() {
		prefixes = append(prefixes, v.Name[:strings.IndexByte(v.Name, '_')+1])
	}
	linked := 0
	for _, d := range ofKind(docs, "Service") {
		link := strings.ToUpper(strings.ReplaceAll(d.Metadata.Name, "-", "_")) + "_SERVICE_HOST"
		for _, p := range prefixes {
			if strings.HasPrefix(link, p) {
				linked++
				break
			}
		}
	}
	if linked == 0 {
		t.Fatal("no Service's link variables begin like a gatepass variable: this test no longer shows why the links must be off")
	}
	for _, d := range ofKind(docs, "Deployment") {
		var dep struct {
			Spec struct {
				Template struct {
					Spec struct {
						EnableServiceLinks *bool `yaml:"enableServiceLinks"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		d.decode(t, &dep)
		if d.Metadata.Name != appName {
			continue
		}
		if l := dep.Spec.Template.Spec.EnableServiceLinks; l == nil || *l {
			t.Errorf("%s: enableServiceLinks is not false; %d Services would inject variables that GATEPASS_STRICT_ENV=true refuses", d, linked)
		}
	}
}
