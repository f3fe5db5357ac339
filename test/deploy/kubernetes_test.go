package deploy_test

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/adapters/ginhttp"
)

// The example cluster's conventions, as deploy/README.md states them.
const (
	configName     = "gatepass-config"
	settingsFile   = "gatepass.env"
	redisName      = "gatepass-redis"
	redisContainer = "redis"
	redisSecret    = "gatepass-redis"
	ingressNS      = "ingress-nginx"
	monitoringNS   = "monitoring"
	namespaceLabel = "kubernetes.io/metadata.name"
	// operatorsLabel marks the namespaces whose tools may call the admin
	// API (gatepass revoke).
	operatorsLabel  = "gatepass.dev/operators"
	zoneTopologyKey = "topology.kubernetes.io/zone"
	// oauth2Token is the client-credentials endpoint the Ingress already
	// exposes, ahead of the binary serving it.
	oauth2Token = "/oauth2/token"
)

// configMapRefs lists the ConfigMaps the container's envFrom names.
func configMapRefs(c container) []string {
	var out []string
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef != nil {
			out = append(out, from.ConfigMapRef.Name)
		}
	}
	return out
}

// TestSettingsChangeRollsThePods: the settings ConfigMap is generated with
// a content hash in its name and the Deployment refers to that name, so a
// changed setting is a changed pod template, which rolls the pods.
func TestSettingsChangeRollsThePods(t *testing.T) {
	t.Parallel()
	docs := applied(t)
	_, c := app(t, docs)
	var generated []string
	for _, d := range ofKind(docs, "ConfigMap") {
		if strings.HasPrefix(d.Metadata.Name, configName+"-") {
			generated = append(generated, d.Metadata.Name)
		}
		if d.Metadata.Name == configName {
			t.Errorf("%s: the settings ConfigMap has no content hash in its name: a settings change would not roll the pods", d)
		}
	}
	if len(generated) != 1 {
		t.Fatalf("want one generated ConfigMap %s-<hash>, got %v", configName, generated)
	}
	refs := configMapRefs(c)
	if len(refs) != 1 || refs[0] != generated[0] {
		t.Fatalf("the gatepass container's envFrom names %v, want the generated %q", refs, generated[0])
	}

	// Kustomize takes an env file's values verbatim: a quote or a space
	// would become part of the setting.
	cm := find[configMap](t, docs, "ConfigMap", generated[0])
	for _, k := range sortedKeys(cm.Data) {
		v := cm.Data[k]
		if v != strings.TrimSpace(v) || strings.ContainsAny(v[:min(1, len(v))], `"'`) {
			t.Errorf("%s: %s=%q carries quotes or surrounding space, which reach gatepass as part of the value", settingsFile, k, v)
		}
	}

	// Change one setting in a copy: the name the pods refer to changes.
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(k8sDir)); err != nil {
		t.Fatal(err)
	}
	settings := filepath.Join(dir, settingsFile)
	data, err := os.ReadFile(settings)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data), "\nLOG_LEVEL=info\n", "\nLOG_LEVEL=debug\n", 1)
	if changed == string(data) {
		t.Fatalf("%s has no line LOG_LEVEL=info to change", settingsFile)
	}
	if err := os.WriteFile(settings, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	_, after := app(t, render(t, dir))
	if got := configMapRefs(after); len(got) != 1 || got[0] == generated[0] || !strings.HasPrefix(got[0], configName+"-") {
		t.Errorf("after LOG_LEVEL changed the pods refer to %v, want a new %s-<hash> (was %s)", got, configName, generated[0])
	}
}

// TestImageIsPinnedByVersion: the rendered image names a version or a
// digest, so every replica and every rollback runs the same build.
func TestImageIsPinnedByVersion(t *testing.T) {
	for _, d := range ofKind(applied(t), "Deployment") {
		var dep deployment
		d.decode(t, &dep)
		for _, c := range dep.Spec.Template.Spec.Containers {
			ref := c.Image
			if _, digest, ok := strings.Cut(ref, "@"); ok {
				if !strings.HasPrefix(digest, "sha256:") {
					t.Errorf("%s container %q: image %q has a malformed digest", d, c.Name, ref)
				}
				continue
			}
			// The tag follows the last colon after the last slash (a
			// registry's port is before it).
			name := ref[strings.LastIndex(ref, "/")+1:]
			_, tag, _ := strings.Cut(name, ":")
			if tag == "" || tag == "latest" {
				t.Errorf("%s container %q: image %q is not pinned to a version (tag %q)", d, c.Name, ref, tag)
			}
		}
	}
}

// TestPodsSpreadAcrossZones: losing a zone leaves most replicas serving.
func TestPodsSpreadAcrossZones(t *testing.T) {
	dep, _ := app(t, applied(t))
	pod := dep.Spec.Template
	for _, tsc := range pod.Spec.TopologySpreadConstraints {
		if tsc.TopologyKey != zoneTopologyKey {
			continue
		}
		if !tsc.LabelSelector.matches(pod.Metadata.Labels) {
			t.Errorf("the zone spread selects %v, not the gatepass pods %v", tsc.LabelSelector.MatchLabels, pod.Metadata.Labels)
		}
		if tsc.MaxSkew != 1 {
			t.Errorf("zone spread maxSkew %d, want 1", tsc.MaxSkew)
		}
		return
	}
	t.Errorf("no topologySpreadConstraint on %s: the replicas may all land in one zone", zoneTopologyKey)
}

// TestTrustedProxiesAreTheIngressRange: X-Forwarded-For is believed only
// from a range as narrow as the ingress controller's, never from every
// pod of a /8.
func TestTrustedProxiesAreTheIngressRange(t *testing.T) {
	docs := applied(t)
	_, c := app(t, docs)
	raw := environment(t, docs, c)["TRUSTED_PROXIES"]
	if raw == "" {
		t.Fatal("TRUSTED_PROXIES is not set: behind the Ingress every caller would share its address and budget")
	}
	for _, s := range strings.Split(raw, ",") {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				t.Errorf("TRUSTED_PROXIES entry %q is neither a CIDR nor an address", s)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		// IPv4 narrower than /8; IPv6 narrower than a whole /32
		// allocation.
		if limit := map[bool]int{true: 8, false: 32}[p.Addr().Is4()]; p.Bits() <= limit {
			t.Errorf("TRUSTED_PROXIES entry %s is /%d: narrow it to the ingress controller's range (longer than /%d)", p, p.Bits(), limit)
		}
	}
}

type networkPolicy struct {
	Spec struct {
		PodSelector labelSelector `yaml:"podSelector"`
		PolicyTypes []string      `yaml:"policyTypes"`
		Ingress     []struct {
			From []struct {
				PodSelector       *labelSelector `yaml:"podSelector"`
				NamespaceSelector *labelSelector `yaml:"namespaceSelector"`
				IPBlock           any            `yaml:"ipBlock"`
			} `yaml:"from"`
			Ports []struct {
				Protocol string `yaml:"protocol"`
				Port     string `yaml:"port"`
			} `yaml:"ports"`
		} `yaml:"ingress"`
	} `yaml:"spec"`
}

// TestNetworkPolicyAdmitsAdminOnlyFromMonitoring: metrics and probes are
// reachable from the monitoring namespace only, the public port from the
// ingress controller's namespace.
func TestNetworkPolicyAdmitsAdminOnlyFromMonitoringAndOperators(t *testing.T) {
	docs := applied(t)
	dep, c := app(t, docs)
	pods := dep.Spec.Template.Metadata.Labels
	// namespaces per container port name; "*" for any peer.
	admitted := map[string]map[string]bool{}
	admit := func(port, ns string) {
		if admitted[port] == nil {
			admitted[port] = map[string]bool{}
		}
		admitted[port][ns] = true
	}
	policies := 0
	for _, d := range ofKind(docs, "NetworkPolicy") {
		var np networkPolicy
		d.decode(t, &np)
		if !np.Spec.PodSelector.matches(pods) {
			continue
		}
		policies++
		if !strings.Contains(strings.Join(np.Spec.PolicyTypes, ","), "Ingress") {
			t.Errorf("%s selects the gatepass pods but does not isolate their ingress", d)
		}
		for _, rule := range np.Spec.Ingress {
			// A rule with no ports admits every port; one with no peers,
			// every peer.
			ports := []string{portHTTP, portAdmin}
			if len(rule.Ports) > 0 {
				ports = nil
				for _, p := range rule.Ports {
					name, ok := resolvePort(c, p.Port)
					if !ok {
						t.Errorf("%s admits port %q, which the gatepass container does not have", d, p.Port)
						continue
					}
					ports = append(ports, name)
				}
			}
			peers := []string{}
			if len(rule.From) == 0 {
				peers = append(peers, "*")
			}
			for _, f := range rule.From {
				ns := "*"
				if f.IPBlock == nil && f.NamespaceSelector != nil && len(f.NamespaceSelector.MatchLabels) == 1 {
					if name := f.NamespaceSelector.MatchLabels[namespaceLabel]; name != "" {
						ns = name
					}
					if f.NamespaceSelector.MatchLabels[operatorsLabel] == "true" {
						ns = "label " + operatorsLabel
					}
				}
				peers = append(peers, ns)
			}
			for _, p := range ports {
				for _, ns := range peers {
					admit(p, ns)
				}
			}
		}
	}
	if policies == 0 {
		t.Fatal("no NetworkPolicy selects the gatepass pods")
	}
	if got, want := sortedKeys(admitted[portAdmin]), []string{"label " + operatorsLabel, monitoringNS}; !slices.Equal(got, want) {
		t.Errorf("the admin port is admitted from %v, want only %v", got, want)
	}
	if got := sortedKeys(admitted[portHTTP]); len(got) != 1 || got[0] != ingressNS {
		t.Errorf("the public port is admitted from %v, want only the ingress controller's namespace %q", got, ingressNS)
	}
}

type ingress struct {
	Spec struct {
		IngressClassName string          `yaml:"ingressClassName"`
		DefaultBackend   *ingressBackend `yaml:"defaultBackend"`
		TLS              []struct {
			Hosts      []string `yaml:"hosts"`
			SecretName string   `yaml:"secretName"`
		} `yaml:"tls"`
		Rules []struct {
			Host string `yaml:"host"`
			HTTP struct {
				Paths []struct {
					Path     string         `yaml:"path"`
					PathType string         `yaml:"pathType"`
					Backend  ingressBackend `yaml:"backend"`
				} `yaml:"paths"`
			} `yaml:"http"`
		} `yaml:"rules"`
	} `yaml:"spec"`
}

type ingressBackend struct {
	Service *struct {
		Name string `yaml:"name"`
		Port struct {
			Name   string `yaml:"name"`
			Number int    `yaml:"number"`
		} `yaml:"port"`
	} `yaml:"service"`
	Resource any `yaml:"resource"`
}

// route is one path an Ingress sends somewhere.
type route struct {
	host, path, pathType string
	// port is the gatepass container port the backend reaches, or "".
	port string
	what string
}

// matches reports whether a request for path is sent by r, as the Ingress
// API defines Prefix (whole path elements) and Exact.
func (r route) matches(path string) bool {
	switch r.pathType {
	case "Exact":
		return path == r.path
	case "Prefix":
		p := strings.TrimSuffix(r.path, "/")
		return p == "" || path == p || strings.HasPrefix(path, p+"/")
	}
	return false
}

// ingressRoutes lists every path of every Ingress with the gatepass
// container port its backend reaches through the Service.
func ingressRoutes(t *testing.T, docs []document) ([]route, map[string]bool) {
	t.Helper()
	_, c := app(t, docs)
	svc := find[service](t, docs, "Service", appName)
	// backendPort resolves a backend to the container port it reaches.
	backendPort := func(what string, b ingressBackend) string {
		if b.Service == nil {
			t.Errorf("%s routes to a resource, not a Service", what)
			return ""
		}
		if b.Service.Name != appName {
			return ""
		}
		for _, p := range svc.Spec.Ports {
			if (b.Service.Port.Name != "" && b.Service.Port.Name == p.Name) || (b.Service.Port.Number != 0 && b.Service.Port.Number == p.Port) {
				name, _ := resolvePort(c, p.TargetPort)
				return name
			}
		}
		t.Errorf("%s routes to Service %q port %q/%d, which it does not have", what, appName, b.Service.Port.Name, b.Service.Port.Number)
		return ""
	}
	var routes []route
	tlsHosts := map[string]bool{}
	ingresses := ofKind(docs, "Ingress")
	if len(ingresses) == 0 {
		t.Fatal("no Ingress: the API is not exposed")
	}
	for _, d := range ingresses {
		var ing ingress
		d.decode(t, &ing)
		for _, tls := range ing.Spec.TLS {
			for _, h := range tls.Hosts {
				tlsHosts[h] = true
			}
		}
		if b := ing.Spec.DefaultBackend; b != nil {
			what := d.String() + " defaultBackend"
			routes = append(routes, route{path: "/", pathType: "Prefix", port: backendPort(what, *b), what: what})
		}
		for _, rule := range ing.Spec.Rules {
			for _, p := range rule.HTTP.Paths {
				what := d.String() + " " + rule.Host + p.Path
				if p.PathType != "Prefix" && p.PathType != "Exact" {
					t.Errorf("%s: pathType %q; want Prefix or Exact, whose meaning every controller shares", what, p.PathType)
				}
				routes = append(routes, route{host: rule.Host, path: p.Path, pathType: p.PathType, port: backendPort(what, p.Backend), what: what})
			}
		}
	}
	return routes, tlsHosts
}

// publicPaths is every path the Ingress must expose: those of the OpenAPI
// document but the probes, and the token endpoint.
func publicPaths(t *testing.T) []string {
	public, _ := documentedPaths(t)
	return public
}

// documentedPaths are the OpenAPI document's paths: those of the public
// port (with the token exchange's), and those a path-level servers entry
// puts on the admin listener (the admin API).
func documentedPaths(t *testing.T) (public, admin []string) {
	t.Helper()
	var doc struct {
		Paths map[string]struct {
			Servers []any `json:"servers"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(ginhttp.OpenAPI, &doc); err != nil {
		t.Fatalf("the OpenAPI document: %v", err)
	}
	public = []string{oauth2Token}
	for p, item := range doc.Paths {
		switch {
		case len(item.Servers) > 0:
			admin = append(admin, p)
		case p != ginhttp.RouteHealth && p != ginhttp.RouteReady:
			public = append(public, p)
		}
	}
	if len(public) < 5 {
		t.Fatalf("the OpenAPI document lists only %v", public)
	}
	return public, admin
}

// TestIngressRoutesTheAPIAndNeverTheAdminPort: each public path reaches
// the "http" port, over TLS; nothing reaches "admin", and the probes and
// metrics are not routed at all.
func TestIngressRoutesTheAPIAndNeverTheAdminPort(t *testing.T) {
	routes, tlsHosts := ingressRoutes(t, applied(t))
	for _, r := range routes {
		if r.port == portAdmin {
			t.Errorf("%s reaches the admin port", r.what)
		}
		if r.host == "" || !tlsHosts[r.host] {
			t.Errorf("%s: host %q is not served over TLS by the Ingress", r.what, r.host)
		}
	}
	for _, path := range publicPaths(t) {
		routed := false
		for _, r := range routes {
			if r.matches(path) {
				routed = true
				if r.port != portHTTP {
					t.Errorf("%s is routed by %s, not to the gatepass %q port", path, r.what, portHTTP)
				}
			}
		}
		if !routed {
			t.Errorf("the Ingress does not route %s", path)
		}
	}
	_, admin := documentedPaths(t)
	if len(admin) == 0 {
		t.Fatal("the OpenAPI document puts no path on the admin listener")
	}
	for _, path := range append([]string{"/metrics", ginhttp.RouteHealth, ginhttp.RouteReady, "/"}, admin...) {
		for _, r := range routes {
			if r.matches(path) {
				t.Errorf("%s is routed by %s; only the API is public", path, r.what)
			}
		}
	}
}

// TestRedisURLComesFromTheSecretRedisRequires: the Redis URL is no plain
// setting; gatepass reads it from a Secret file and Redis requires the
// password of the same Secret.
func TestRedisURLComesFromTheSecretRedisRequires(t *testing.T) {
	docs := applied(t)
	dep, c := app(t, docs)
	env := environment(t, docs, c)
	if _, ok := env["REDIS_URL"]; ok {
		t.Error("REDIS_URL is set as a plain setting; it carries Redis's password: use REDIS_URL_FILE")
	}
	path := env["REDIS_URL_FILE"]
	if path == "" {
		t.Fatal("REDIS_URL_FILE is not set: replicas would not share rate limits")
	}
	secretName, urlKey := fileInSecret(secretMounts(t, dep, c), path)
	if secretName != redisSecret {
		t.Fatalf("REDIS_URL_FILE=%s is not a file of the Secret %q", path, redisSecret)
	}

	_, rc := findContainer(t, docs, redisName, redisContainer)
	argv := strings.Join(append(append([]string{}, rc.Command...), rc.Args...), " ")
	if !strings.Contains(argv, "--requirepass") {
		t.Errorf("Redis runs without --requirepass: %s", argv)
	}
	passwordKey := ""
	for _, e := range rc.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == secretName && strings.Contains(argv, "$"+e.Name) {
			passwordKey = e.ValueFrom.SecretKeyRef.Key
		}
	}
	if passwordKey == "" {
		t.Fatalf("Redis's password is not read from the Secret %q that gatepass's URL comes from", secretName)
	}

	// The example's URL names the Redis Service and carries the password.
	example := secretExamples(t)[secretName]
	u, err := parseRedisURL(example[urlKey])
	if err != nil {
		t.Fatalf("%s: Secret %q %s: %v", secretExampleFile, secretName, urlKey, err)
	}
	if pw, _ := u.User.Password(); pw == "" || pw != example[passwordKey] {
		t.Errorf("%s: the URL's password is not the Secret's %q", secretExampleFile, passwordKey)
	}
	svc := find[service](t, docs, "Service", u.Hostname())
	for _, p := range svc.Spec.Ports {
		if strconv.Itoa(p.Port) == u.Port() {
			return
		}
	}
	t.Errorf("the example URL's port %s is not a port of Service %q", u.Port(), u.Hostname())
}
