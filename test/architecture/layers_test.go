// Package architecture_test keeps the hexagon's boundaries: the domain
// imports nothing of ours and no framework, application imports only the
// domain, and only bootstrap knows Wire and the environment parser.
package architecture_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/gatepass/gatepass"

type pkg struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 8 {
		t.Fatalf("listed only %d packages", len(pkgs))
	}
	return pkgs
}

func isStd(path string) bool { return !strings.Contains(strings.SplitN(path, "/", 2)[0], ".") }

func TestLayerBoundaries(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		for _, imp := range p.Imports {
			ours := strings.HasPrefix(imp, module+"/")
			impRel := strings.TrimPrefix(imp, module+"/")
			switch {
			case rel == "domain":
				if !isStd(imp) {
					t.Errorf("domain imports %s: the domain imports only the standard library", imp)
				}
			case strings.HasPrefix(rel, "domain/mocks"):
			case rel == "application":
				if !isStd(imp) && imp != module+"/domain" {
					t.Errorf("application imports %s: only the domain and the standard library", imp)
				}
			}
			if ours && (impRel == "bootstrap" || strings.HasPrefix(impRel, "cmd/")) &&
				!strings.HasPrefix(rel, "cmd/") && !strings.HasPrefix(rel, "test/") {
				t.Errorf("%s imports %s: nothing but cmd imports bootstrap or cmd", rel, imp)
			}
			if (imp == "github.com/google/wire" || imp == "github.com/caarlos0/env/v11") && rel != "bootstrap" {
				t.Errorf("%s imports %s: Wire and env parsing stay in bootstrap", rel, imp)
			}
			if strings.HasPrefix(imp, "github.com/gin-gonic/") && !strings.HasPrefix(rel, "adapters/ginhttp") {
				t.Errorf("%s imports %s: gin stays in the ginhttp adapter", rel, imp)
			}
		}
	}
}
