package deploy_test

import (
	"encoding/json"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tailscale/hujson"

	"github.com/gatepass/gatepass/adapters/ginhttp"
)

// workerConfigs are where the office-router Worker's wrangler.jsonc may
// live: the deployable package.
var workerConfigs = []string{
	deployDir + "/office-router/wrangler.jsonc",
}

// workerVars reads the vars of the Worker's wrangler.jsonc (JSON with
// comments and trailing commas).
func workerVars(t *testing.T) (string, map[string]string) {
	t.Helper()
	for _, path := range workerConfigs {
		data, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		std, err := hujson.Standardize(data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var cfg struct {
			Vars map[string]string `json:"vars"`
		}
		if err := json.Unmarshal(std, &cfg); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return strings.TrimPrefix(path, repoRoot+"/"), cfg.Vars
	}
	t.Fatalf("no wrangler.jsonc at %v", workerConfigs)
	return "", nil
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
