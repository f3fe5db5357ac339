// Package architecture_test keeps the hexagon's boundaries, in the code and
// in its tests: the domain imports nothing of ours and no framework,
// application imports only the domain, only bootstrap knows Wire and the
// environment parser, gin stays in ginhttp, an adapter imports another only
// where allowedAdapterImports says why, the shared libraries of foundation
// import nothing of gatepass but the domain and each other, and only tests import the test
// kit, which itself imports nothing of gatepass. Each transport is named in
// a few product files only (scatter_test.go).
package architecture_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gatepass/gatepass"

// allowedAdapterImports are the documented exceptions to "an adapter never
// imports another adapter". An entry covers the package's code and tests;
// with tests set, its tests only. An entry for an adapter also covers its
// subpackages, such as pkcs11signer's softhsmtest.
var allowedAdapterImports = []struct {
	from  string
	to    []string
	tests bool
	why   string
}{
	{from: "adapters/devidentity", to: []string{"adapters/gosigner"}, why: "the development kit makes its keys as serve loads them"},
	{from: "adapters/signertest", to: []string{"adapters/jwtsigner"}, why: "the signer conformance suite signs through jwtsigner"},
	{from: "adapters/gosigner", to: []string{"adapters/signertest"}, tests: true, why: "runs the shared signer conformance suite"},
	{from: "adapters/opensslsigner", to: []string{"adapters/signertest", "adapters/gosigner"}, tests: true, why: "runs the signer conformance suite on keys gosigner generates"},
	{from: "adapters/pkcs11signer", to: []string{"adapters/signertest", "adapters/gosigner"}, tests: true, why: "runs the signer conformance suite; byte identity against gosigner keys"},
	{from: "adapters/memorylimit", to: []string{"adapters/limittest"}, tests: true, why: "runs the shared limiter conformance suite"},
	{from: "adapters/redislimit", to: []string{"adapters/limittest"}, tests: true, why: "runs the shared limiter conformance suite"},
	{from: "adapters/memoryrevocation", to: []string{"adapters/revocationtest"}, tests: true, why: "runs the shared revocation store conformance suite"},
	{from: "adapters/redisrevocation", to: []string{"adapters/revocationtest"}, tests: true, why: "runs the shared revocation store conformance suite"},
	{from: "adapters/prom", to: []string{"adapters/memorylimit", "adapters/redislimit"}, tests: true, why: "the limiter decorator is measured around real limiters"},
	{from: "adapters/ginhttp", to: []string{"adapters/cryptorand", "adapters/devidentity", "adapters/jwksidentity", "adapters/jwtsigner",
		"adapters/memorylimit", "adapters/memoryrevocation", "adapters/natsjwt", "adapters/prom", "adapters/redislimit", "adapters/statickeys", "adapters/systemclock"}, tests: true,
		why: "the router tests serve the real application over real adapters, checked against the OpenAPI document"},
	{from: "adapters/officerouter", to: []string{"adapters/jwtsigner"}, tests: true, why: "the evictor's admin grants are signed by the office signer and verified as the Worker does"},
	{from: "application", to: []string{"adapters/cryptorand", "adapters/devidentity", "adapters/jwksidentity", "adapters/jwtsigner", "adapters/opensslsigner"}, tests: true,
		why: "the use-case benchmarks measure grants over the adapters the server wires"},
}

func allowedAdapterImport(from, to string, test bool) bool {
	for _, a := range allowedAdapterImports {
		if a.from == from && slices.Contains(a.to, to) && (test || !a.tests) {
			return true
		}
	}
	return false
}

type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
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

// adapterOf is the adapter a package belongs to ("adapters/x" for
// adapters/x/...), or "" outside adapters/.
func adapterOf(rel string) string {
	parts := strings.SplitN(rel, "/", 3)
	if len(parts) < 2 || parts[0] != "adapters" {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

// under reports whether rel is dir or inside it.
func under(rel, dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }

// imports are a package's imports, each with whether a test file makes it.
func imports(p pkg) map[string]bool {
	out := map[string]bool{}
	for _, imp := range append(p.TestImports, p.XTestImports...) {
		out[imp] = true
	}
	for _, imp := range p.Imports {
		out[imp] = false
	}
	return out
}

// testImportsOfApplication are what application's tests use besides the
// standard library and the allowed adapters: the package itself, the
// domain, its mocks and gomock.
var testImportsOfApplication = []string{"application", "domain", "domain/mocks", "go.uber.org/mock/gomock"}

func TestLayerBoundaries(t *testing.T) {
	sawTestImport := false
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		for imp, test := range imports(p) {
			sawTestImport = sawTestImport || test
			where := rel
			if test {
				where = rel + " (tests)"
			}
			ours := strings.HasPrefix(imp, module+"/")
			impRel := strings.TrimPrefix(imp, module+"/")
			switch {
			case rel == "domain":
				if !isStd(imp) && !(test && imp == module+"/domain") {
					t.Errorf("%s imports %s: the domain imports only the standard library", where, imp)
				}
			case under(rel, "domain/mocks"):
			case rel == "application":
				switch {
				case isStd(imp) || imp == module+"/domain":
				case test && (slices.Contains(testImportsOfApplication, impRel) || allowedAdapterImport(rel, impRel, true)):
				default:
					t.Errorf("%s imports %s: only the domain and the standard library", where, imp)
				}
			}
			if from, to := adapterOf(rel), adapterOf(impRel); ours && from != "" && to != "" && from != to &&
				!allowedAdapterImport(from, to, test) && !allowedAdapterImport(rel, to, test) {
				t.Errorf("%s imports %s: an adapter imports another only as allowedAdapterImports documents", where, imp)
			}
			if ours && (impRel == "bootstrap" || under(impRel, "cmd")) && !under(rel, "cmd") && !under(rel, "test") && !(test && rel == "bootstrap") {
				t.Errorf("%s imports %s: nothing but cmd imports bootstrap or cmd", where, imp)
			}
			if ours && under(rel, "foundation") && !test && !under(impRel, "foundation") && impRel != "domain" {
				t.Errorf("%s imports %s: foundation's libraries import nothing of gatepass but the domain and each other", where, imp)
			}
			if ours && rel == "test/kit" && !test {
				t.Errorf("%s imports %s: the test kit shares no code with gatepass, so it checks gatepass independently", where, imp)
			}
			if ours && under(impRel, "test") && !test && !under(rel, "test") {
				t.Errorf("%s imports %s: only tests import the test kit", where, imp)
			}
			if (imp == "github.com/google/wire" || imp == "github.com/caarlos0/env/v11") && rel != "bootstrap" {
				t.Errorf("%s imports %s: Wire and env parsing stay in bootstrap", where, imp)
			}
			if strings.HasPrefix(imp, "github.com/gin-gonic/") && !under(rel, "adapters/ginhttp") {
				t.Errorf("%s imports %s: gin stays in the ginhttp adapter", where, imp)
			}
		}
	}
	if !sawTestImport {
		t.Fatal("no test imports listed: the rules would not see the tests")
	}
}

// TestAllowListIsNeeded keeps allowedAdapterImports honest: every entry
// names adapters and is used by some import.
func TestAllowListIsNeeded(t *testing.T) {
	used := map[string]bool{}
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		for imp, test := range imports(p) {
			impRel := strings.TrimPrefix(imp, module+"/")
			for _, from := range []string{rel, adapterOf(rel)} {
				if allowedAdapterImport(from, adapterOf(impRel), test) {
					used[from+" "+adapterOf(impRel)] = true
				}
			}
		}
	}
	for _, a := range allowedAdapterImports {
		if a.why == "" {
			t.Errorf("%s: an allowed import without a reason", a.from)
		}
		for _, to := range a.to {
			if adapterOf(to) != to {
				t.Errorf("%s may import %s: not an adapter", a.from, to)
			}
			if !used[a.from+" "+to] {
				t.Errorf("%s may import %s, but does not: drop it from allowedAdapterImports", a.from, to)
			}
		}
	}
}
