package deploy_test

import (
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tailscale/hujson"

	"github.com/gatepass/gatepass/adapters/ginhttp"
	"github.com/gatepass/gatepass/bootstrap"
)

// The office-router Worker's package, and the Node package of the interop
// suites that run it on workerd.
const (
	workerDir       = deployDir + "/office-router"
	workerConfig    = workerDir + "/wrangler.jsonc"
	testPackageFile = repoRoot + "/test/package.json"
	testLockFile    = repoRoot + "/test/package-lock.json"

	// workerBinding is the Durable Object binding the Worker's source uses.
	workerBinding = "WEBSOCKET_SERVER"
)

// wranglerConfig is what the tests read of wrangler.jsonc.
type wranglerConfig struct {
	Main              string            `json:"main"`
	CompatibilityDate string            `json:"compatibility_date"`
	Vars              map[string]string `json:"vars"`
	DurableObjects    struct {
		Bindings []struct {
			Name      string `json:"name"`
			ClassName string `json:"class_name"`
		} `json:"bindings"`
	} `json:"durable_objects"`
	Migrations []struct {
		Tag              string   `json:"tag"`
		NewClasses       []string `json:"new_classes"`
		NewSqliteClasses []string `json:"new_sqlite_classes"`
		DeletedClasses   []string `json:"deleted_classes"`
	} `json:"migrations"`
}

// readWranglerConfig reads the Worker's wrangler.jsonc (JSON with comments
// and trailing commas).
func readWranglerConfig(t *testing.T) wranglerConfig {
	t.Helper()
	data, err := os.ReadFile(workerConfig)
	if err != nil {
		t.Fatal(err)
	}
	std, err := hujson.Standardize(data)
	if err != nil {
		t.Fatalf("%s: %v", workerConfig, err)
	}
	var cfg wranglerConfig
	if err := json.Unmarshal(std, &cfg); err != nil {
		t.Fatalf("%s: %v", workerConfig, err)
	}
	return cfg
}

// workerVars reads the vars of the Worker's wrangler.jsonc.
func workerVars(t *testing.T) (string, map[string]string) {
	t.Helper()
	return strings.TrimPrefix(workerConfig, repoRoot+"/"), readWranglerConfig(t).Vars
}

// npmPackage is what the tests read of a package.json.
type npmPackage struct {
	Scripts         map[string]string `json:"scripts"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
}

func readJSON(t *testing.T, path string, out any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// lockedVersions reads the version of each installed package of a
// package-lock.json (v3), by package name.
func lockedVersions(t *testing.T, path string) map[string]string {
	t.Helper()
	var lock struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			Version         string            `json:"version"`
			Dependencies    map[string]string `json:"dependencies"`
			DevDependencies map[string]string `json:"devDependencies"`
		} `json:"packages"`
	}
	readJSON(t, path, &lock)
	if lock.LockfileVersion < 2 {
		t.Fatalf("%s: lockfileVersion %d; npm 7 or later writes 3", path, lock.LockfileVersion)
	}
	versions := map[string]string{}
	for key, p := range lock.Packages {
		// Top-level installs only: nested copies are another package's.
		name, ok := strings.CutPrefix(key, "node_modules/")
		if ok && !strings.Contains(name, "/node_modules/") {
			versions[name] = p.Version
		}
	}
	return versions
}

// exactVersion is a version npm installs as is: no range, tag or URL.
var exactVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

// TestWorkerPackagePinsWhatTheTestsRun: the Worker's package.json pins
// every dependency exactly and its lockfile installs those versions; its
// jose is the one the interop suites bundle into the Worker, and wrangler's
// Miniflare and workerd are the ones they run it on. So what the tests pass
// on is what `npm ci && npx wrangler deploy` ships.
func TestWorkerPackagePinsWhatTheTestsRun(t *testing.T) {
	var worker, tests npmPackage
	readJSON(t, workerDir+"/package.json", &worker)
	readJSON(t, testPackageFile, &tests)
	workerLock := lockedVersions(t, workerDir+"/package-lock.json")
	testLock := lockedVersions(t, testLockFile)

	pinned := map[string]string{}
	for _, deps := range []map[string]string{worker.Dependencies, worker.DevDependencies} {
		for name, version := range deps {
			pinned[name] = version
			if !exactVersion.MatchString(version) {
				t.Errorf("deploy/office-router/package.json: %s %q is not an exact version", name, version)
			}
			if workerLock[name] != version {
				t.Errorf("deploy/office-router/package-lock.json installs %s %q, package.json pins %q: run npm install there", name, workerLock[name], version)
			}
		}
	}
	if worker.Dependencies["jose"] == "" {
		t.Error("deploy/office-router/package.json: jose is not a dependency (the Worker imports it)")
	}
	if worker.DevDependencies["wrangler"] == "" && worker.Dependencies["wrangler"] == "" {
		t.Error("deploy/office-router/package.json: wrangler is not pinned")
	}
	if got, want := tests.Dependencies["jose"], pinned["jose"]; got != want {
		t.Errorf("test/package.json bundles jose %q into the Worker, deploy/office-router deploys %q", got, want)
	}
	// wrangler runs the Worker locally (wrangler dev) on its own Miniflare
	// and workerd: the tests run the same.
	for _, name := range []string{"miniflare", "workerd"} {
		if workerLock[name] == "" || workerLock[name] != testLock[name] {
			t.Errorf("%s: wrangler's is %q, the tests run %q", name, workerLock[name], testLock[name])
		}
	}
	if got, want := tests.DevDependencies["miniflare"], testLock["miniflare"]; got != want {
		t.Errorf("test/package.json pins miniflare %q, its lockfile installs %q", got, want)
	}
}

// TestWorkerConfigBindsTheExportedDurableObject: wrangler.jsonc binds the
// Durable Object the source uses to a class the source exports, and a
// migration creates that class; workerd accepts its compatibility date.
// Without these `wrangler deploy` fails, or the first upgrade does.
func TestWorkerConfigBindsTheExportedDurableObject(t *testing.T) {
	cfg := readWranglerConfig(t)
	if cfg.Main == "" {
		t.Fatal("wrangler.jsonc: no main")
	}
	src, err := os.ReadFile(filepath.Join(workerDir, cfg.Main))
	if err != nil {
		t.Fatalf("wrangler.jsonc main: %v", err)
	}
	if !strings.Contains(string(src), "env."+workerBinding) {
		t.Fatalf("%s does not use env.%s", cfg.Main, workerBinding)
	}
	exported := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^export class (\w+)`).FindAllStringSubmatch(string(src), -1) {
		exported[m[1]] = true
	}

	var class string
	for _, b := range cfg.DurableObjects.Bindings {
		if b.Name == workerBinding {
			class = b.ClassName
		}
	}
	if class == "" {
		t.Fatalf("wrangler.jsonc: no Durable Object binding %s", workerBinding)
	}
	if !exported[class] {
		t.Errorf("wrangler.jsonc binds %s to class %s, which %s does not export (it exports %v)", workerBinding, class, cfg.Main, sortedKeys(exported))
	}

	created, deleted := 0, false
	tags := map[string]bool{}
	for _, m := range cfg.Migrations {
		if m.Tag == "" || tags[m.Tag] {
			t.Errorf("wrangler.jsonc: migration tag %q is empty or repeated", m.Tag)
		}
		tags[m.Tag] = true
		if slices.Contains(m.NewSqliteClasses, class) || slices.Contains(m.NewClasses, class) {
			created++
		}
		deleted = deleted || slices.Contains(m.DeletedClasses, class)
	}
	if created != 1 || deleted {
		t.Errorf("wrangler.jsonc: %s is created by %d migrations (want 1: new_sqlite_classes) and deleted: %v", class, created, deleted)
	}

	// workerd refuses a compatibility date later than its own release.
	date, err := time.Parse(time.DateOnly, cfg.CompatibilityDate)
	if err != nil {
		t.Fatalf("wrangler.jsonc: compatibility_date %q: %v", cfg.CompatibilityDate, err)
	}
	workerd := lockedVersions(t, workerDir+"/package-lock.json")["workerd"]
	_, build, _ := strings.Cut(workerd, ".")
	build, _, _ = strings.Cut(build, ".")
	released, err := time.Parse("20060102", build)
	if err != nil {
		t.Fatalf("workerd version %q carries no release date: %v", workerd, err)
	}
	if date.After(released) {
		t.Errorf("wrangler.jsonc: compatibility_date %s is after workerd %s's release", cfg.CompatibilityDate, workerd)
	}
}

// TestWorkerDevScriptTrustsMakeRun: `npm run dev` (wrangler dev) trusts
// what `make run` serves with no settings, on the address gatepass's
// development WEBSOCKET_BASE_URL hands to clients.
func TestWorkerDevScriptTrustsMakeRun(t *testing.T) {
	var pkg npmPackage
	readJSON(t, workerDir+"/package.json", &pkg)
	script := pkg.Scripts["dev"]
	args := strings.Fields(script)
	if len(args) < 2 || args[0] != "wrangler" || args[1] != "dev" {
		t.Fatalf("deploy/office-router/package.json: scripts.dev %q is not `wrangler dev ...`", script)
	}
	vars, flags := map[string]string{}, map[string]string{}
	for i := 2; i+1 < len(args); i += 2 {
		if args[i] == "--var" {
			k, v, _ := strings.Cut(args[i+1], ":")
			vars[k] = v
		} else {
			flags[args[i]] = args[i+1]
		}
	}
	want := map[string]string{
		"CONN_JWT_ISSUER":   bootstrap.DevOfficeIssuer,
		"CONN_JWT_AUDIENCE": bootstrap.DevOfficeAudience,
		"CONN_JWKS_URL":     "http://" + bootstrap.DevHTTPAddr + ginhttp.RouteJWKS,
	}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("scripts.dev: %s=%q, `make run` needs %q", k, vars[k], v)
		}
	}
	u, err := url.Parse(bootstrap.DevWebSocketURL)
	if err != nil {
		t.Fatal(err)
	}
	if got := net.JoinHostPort(flags["--ip"], flags["--port"]); got != u.Host {
		t.Errorf("scripts.dev listens on %s, gatepass's development WEBSOCKET_BASE_URL is %s", got, bootstrap.DevWebSocketURL)
	}
}

// TestWorkerExampleTrustsTheKubernetesExample: the Worker's example
// settings and the Kubernetes example are one deployment. The Worker
// expects the issuer and audience gatepass writes, accepts its algorithm,
// and fetches the JWK Set from the URL the Ingress serves it at; a
// mismatch refuses every upgrade.
func TestWorkerExampleTrustsTheKubernetesExample(t *testing.T) {
	file, vars := workerVars(t)
	docs := applied(t)
	_, c := app(t, docs)
	env := environment(t, docs, c)

	for _, pair := range []struct{ worker, gatepass string }{
		{"CONN_JWT_ISSUER", "JWT_ISSUER"},
		{"CONN_JWT_AUDIENCE", "JWT_AUDIENCE"},
	} {
		if vars[pair.worker] == "" || vars[pair.worker] != env[pair.gatepass] {
			t.Errorf("%s: %s=%q, but the Kubernetes example's %s=%q", file, pair.worker, vars[pair.worker], pair.gatepass, env[pair.gatepass])
		}
	}
	alg, ok := effective(env, configSettings(), "JWT_ALGORITHM")
	if !ok {
		t.Fatal("JWT_ALGORITHM is neither set nor defaulted")
	}
	if algs := vars["CONN_JWT_ALGORITHMS"]; algs != "" && !slices.Contains(strings.Split(algs, ","), alg) {
		t.Errorf("%s: CONN_JWT_ALGORITHMS=%q does not accept gatepass's JWT_ALGORITHM=%s", file, algs, alg)
	}

	raw := vars["CONN_JWKS_URL"]
	if raw == "" {
		t.Fatalf("%s: no CONN_JWKS_URL: the example should fetch the published keys, so rotation needs no redeploy", file)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" {
		t.Fatalf("%s: CONN_JWKS_URL=%q is not an https URL", file, raw)
	}
	if u.Path != ginhttp.RouteJWKS {
		t.Errorf("%s: CONN_JWKS_URL path %q, gatepass serves its keys at %s", file, u.Path, ginhttp.RouteJWKS)
	}
	routes, tlsHosts := ingressRoutes(t, docs)
	if !tlsHosts[u.Host] {
		t.Errorf("%s: CONN_JWKS_URL host %q is not a TLS host of the Kubernetes example's Ingress %v", file, u.Host, sortedKeys(tlsHosts))
	}
	routed := slices.ContainsFunc(routes, func(r route) bool {
		return r.host == u.Host && r.port == portHTTP && r.matches(u.Path)
	})
	if !routed {
		t.Errorf("%s: the Ingress does not route %s to gatepass", file, raw)
	}
}
