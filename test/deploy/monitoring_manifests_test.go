package deploy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/gatepass/gatepass/domain"
)

func loadYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestServiceMonitorScrapesTheAdminPort: the ServiceMonitor selects the
// Service of deploy/kubernetes by its labels and scrapes its admin port,
// where /metrics is (the public port never serves it).
func TestServiceMonitorScrapesTheAdminPort(t *testing.T) {
	var sm struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name      string `yaml:"name"`
			Namespace string `yaml:"namespace"`
		} `yaml:"metadata"`
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Endpoints []struct {
				Port string `yaml:"port"`
				Path string `yaml:"path"`
			} `yaml:"endpoints"`
		} `yaml:"spec"`
	}
	loadYAML(t, filepath.Join(monitoringDir, "servicemonitor.yaml"), &sm)
	if sm.Kind != "ServiceMonitor" || sm.APIVersion != "monitoring.coreos.com/v1" || sm.Metadata.Name == "" || sm.Metadata.Namespace != "" {
		t.Fatalf("servicemonitor.yaml: %s %s %+v, want a namespace-agnostic monitoring.coreos.com/v1 ServiceMonitor", sm.APIVersion, sm.Kind, sm.Metadata)
	}
	var svc struct {
		Metadata struct {
			Name   string            `yaml:"name"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec struct {
			Ports []struct {
				Name string `yaml:"name"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	loadYAML(t, serviceFile, &svc)
	if len(sm.Spec.Selector.MatchLabels) == 0 {
		t.Fatal("the ServiceMonitor selects every Service")
	}
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Metadata.Labels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s; the Service has %v", k, v, svc.Metadata.Labels)
		}
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "admin" || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Fatalf("endpoints %+v, want the admin port's /metrics", sm.Spec.Endpoints)
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(p struct {
		Name string `yaml:"name"`
	}) bool {
		return p.Name == "admin"
	}) {
		t.Fatalf("the Service has no port named admin: %+v", svc.Spec.Ports)
	}
	// The rules select job="gatepass": the job label is the Service's name.
	if svc.Metadata.Name != "gatepass" {
		t.Errorf("the Service is %q; the alert rules expect job=\"gatepass\"", svc.Metadata.Name)
	}
}

// TestMonitoringKustomizationListsItsFiles: kubectl apply -k applies every
// file of deploy/monitoring.
func TestMonitoringKustomizationListsItsFiles(t *testing.T) {
	var k struct {
		Resources          []string `yaml:"resources"`
		ConfigMapGenerator []struct {
			Name  string   `yaml:"name"`
			Files []string `yaml:"files"`
		} `yaml:"configMapGenerator"`
	}
	loadYAML(t, filepath.Join(monitoringDir, "kustomization.yaml"), &k)
	listed := slices.Clone(k.Resources)
	for _, g := range k.ConfigMapGenerator {
		listed = append(listed, g.Files...)
	}
	entries, err := os.ReadDir(monitoringDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if name == "kustomization.yaml" || name == "README.md" {
			continue
		}
		if !slices.Contains(listed, name) {
			t.Errorf("%s is not in deploy/monitoring/kustomization.yaml", name)
		}
	}
	for _, f := range listed {
		if _, err := os.Stat(filepath.Join(monitoringDir, f)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", f, err)
		}
	}
}

// TestAuthFailureReasonsListsEveryReason: the closed set the metrics
// declare at zero is every AuthFailureReason constant of the domain.
func TestAuthFailureReasonsListsEveryReason(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(repoRoot, "domain", "principal.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var constants []string
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		if id, ok := spec.Type.(*ast.Ident); ok && id.Name == "AuthFailureReason" {
			for _, name := range spec.Names {
				constants = append(constants, name.Name)
			}
		}
		return true
	})
	if len(constants) < 10 {
		t.Fatalf("found %d AuthFailureReason constants in domain/principal.go", len(constants))
	}
	if got := domain.AuthFailureReasons(); len(got) != len(constants) || len(slices.Compact(slices.Sorted(slices.Values(got)))) != len(constants) {
		t.Fatalf("domain.AuthFailureReasons() has %d distinct values, domain/principal.go declares %d: %v", len(got), len(constants), constants)
	}
}
