package deploy_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestEveryManifestParses(t *testing.T) {
	for _, f := range yamlFiles(t, k8sDir) {
		for _, d := range loadFile(t, f) {
			if d.Kind == "" || d.APIVersion == "" {
				t.Errorf("%s: no kind or apiVersion", d)
			}
			if d.Kind != "Kustomization" && d.Metadata.Name == "" {
				t.Errorf("%s: no metadata.name", d)
			}
			// The namespace is chosen at apply time.
			if d.Metadata.Namespace != "" || d.Kind == "Namespace" {
				t.Errorf("%s: names a namespace; the manifests are namespace-agnostic", d)
			}
		}
	}
	if ns := readKustomization(t).Namespace; ns != "" {
		t.Errorf("%s sets namespace %q; the manifests are namespace-agnostic", kustomizationFile, ns)
	}
}

func TestKustomizationAppliesEveryManifestButTheSecretExample(t *testing.T) {
	listed := readKustomization(t).Resources
	if slices.Contains(listed, secretExampleFile) {
		t.Errorf("%s lists %s: its placeholders would replace the real Secret", kustomizationFile, secretExampleFile)
	}
	for _, f := range yamlFiles(t, k8sDir) {
		name, _ := filepath.Rel(k8sDir, f)
		name = filepath.ToSlash(name)
		if name == kustomizationFile || name == secretExampleFile {
			continue
		}
		if !slices.Contains(listed, name) {
			t.Errorf("%s is not in %s, so `kubectl apply -k` skips it", name, kustomizationFile)
		}
	}
	for _, f := range listed {
		if _, err := os.Stat(filepath.Join(k8sDir, f)); err != nil {
			t.Errorf("%s lists %s: %v", kustomizationFile, f, err)
		}
	}
}

func TestNoKeyMaterialInTheRepositoryFiles(t *testing.T) {
	files := append(yamlFiles(t, k8sDir), dockerfile, filepath.Join(deployDir, "README.md"))
	for _, g := range readKustomization(t).ConfigMapGenerator {
		for _, f := range append(g.Envs, g.Files...) {
			files = append(files, filepath.Join(k8sDir, f))
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "-----BEGIN") {
			t.Errorf("%s holds PEM material; keys come from a Secret created at deploy time", f)
		}
	}
}

func TestSecretExampleMatchesTheMountedFiles(t *testing.T) {
	docs := applied(t)
	dep, c := app(t, docs)
	examples := secretExamples(t)
	for name, values := range examples {
		for k, v := range values {
			if !strings.Contains(v, "REPLACE") {
				t.Errorf("%s: Secret %q: %s is not an obvious placeholder (want REPLACE...)", secretExampleFile, name, k)
			}
		}
	}

	// Every *_FILE setting names a file of a Secret's volume that the
	// example shows.
	mounts := secretMounts(t, dep, c)
	env := environment(t, docs, c)
	checked := 0
	for _, name := range sortedKeys(env) {
		if !strings.HasSuffix(name, "_FILE") {
			continue
		}
		secretName, key := fileInSecret(mounts, env[name])
		switch {
		case secretName == "":
			t.Errorf("%s=%s is not a file of a read-only Secret mount", name, env[name])
		case examples[secretName] == nil:
			t.Errorf("%s reads Secret %q, which %s does not show", name, secretName, secretExampleFile)
		case examples[secretName][key] == "":
			t.Errorf("%s=%s: Secret %q of %s has no key %q", name, env[name], secretName, secretExampleFile, key)
		}
		checked++
	}
	if checked == 0 {
		t.Error("no *_FILE setting: the signing key must come from the Secret as a file")
	}
}

// secretExamples is secret.example.yaml: each Secret's keys and
// placeholder values, by the Secret's name.
func secretExamples(t *testing.T) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, d := range loadFile(t, filepath.Join(k8sDir, secretExampleFile)) {
		if d.Kind != "Secret" {
			t.Errorf("%s: %s is not a Secret", secretExampleFile, d)
			continue
		}
		var s secret
		d.decode(t, &s)
		values := map[string]string{}
		maps.Copy(values, s.StringData)
		maps.Copy(values, s.Data)
		out[d.Metadata.Name] = values
	}
	if len(out) == 0 {
		t.Fatalf("%s shows no Secret", secretExampleFile)
	}
	return out
}

// secretMounts maps the container's read-only Secret mount paths to the
// Secret volume mounted there.
func secretMounts(t *testing.T, dep deployment, c container) map[string]secretVolume {
	t.Helper()
	out := map[string]secretVolume{}
	for _, m := range c.VolumeMounts {
		for _, v := range dep.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				if !m.ReadOnly {
					t.Errorf("Secret volume %q is mounted writable at %s", v.Name, m.MountPath)
				}
				out[m.MountPath] = *v.Secret
			}
		}
	}
	return out
}

// fileInSecret returns the Secret and the key whose content the file at
// path is, or "" when no Secret volume holds that file.
func fileInSecret(mounts map[string]secretVolume, path string) (secretName, key string) {
	dir, file := filepath.Split(path)
	v, ok := mounts[strings.TrimSuffix(dir, "/")]
	if !ok {
		return "", ""
	}
	key, ok = v.key(file)
	if !ok {
		return "", ""
	}
	return v.SecretName, key
}

func TestProbesUseTheAdminListener(t *testing.T) {
	_, c := app(t, applied(t))
	tests := []struct {
		name     string
		probe    *probe
		wantPath string
	}{
		{name: "readinessProbe", probe: c.ReadinessProbe, wantPath: "/readyz"},
		{name: "livenessProbe", probe: c.LivenessProbe, wantPath: "/healthz"},
		{name: "startupProbe", probe: c.StartupProbe, wantPath: "/healthz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.probe == nil {
				if tt.name == "startupProbe" {
					t.Skip("no startup probe (optional)")
				}
				t.Fatal("missing")
			}
			if tt.probe.HTTPGet == nil {
				t.Fatal("not an httpGet probe")
			}
			if tt.probe.HTTPGet.Path != tt.wantPath {
				t.Errorf("path %q, want %q", tt.probe.HTTPGet.Path, tt.wantPath)
			}
			if name, ok := resolvePort(c, tt.probe.HTTPGet.Port); !ok || name != portAdmin {
				t.Errorf("port %q is not the container port %q", tt.probe.HTTPGet.Port, portAdmin)
			}
		})
	}
}

func TestContainerPortsMatchTheListeners(t *testing.T) {
	docs := applied(t)
	_, c := app(t, docs)
	env := environment(t, docs, c)
	settings := configSettings()
	for _, l := range []struct{ setting, port string }{
		{setting: "HTTP_ADDR", port: portHTTP},
		{setting: "ADMIN_ADDR", port: portAdmin},
	} {
		if _, ok := settings[l.setting]; !ok {
			t.Errorf("bootstrap.Config has no %s yet", l.setting)
			continue
		}
		addr, ok := effective(env, settings, l.setting)
		if !ok {
			t.Errorf("%s is neither set in the manifests nor defaulted in bootstrap.Config", l.setting)
			continue
		}
		host, port := addrPort(t, l.setting, addr)
		if want := containerPort(t, c, l.port); port != want {
			t.Errorf("%s=%q listens on %d; the container port %q is %d", l.setting, addr, port, l.port, want)
		}
		// The kubelet and the Service reach the pod on its IP, not loopback.
		if host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1" {
			t.Errorf("%s=%q listens on loopback: probes and the Service cannot reach it", l.setting, addr)
		}
	}
	if len(c.Ports) != 2 {
		t.Errorf("container ports %v, want exactly %q and %q", c.Ports, portHTTP, portAdmin)
	}
}

func TestServiceRoutesToTheNamedPorts(t *testing.T) {
	docs := applied(t)
	dep, c := app(t, docs)
	svc := find[service](t, docs, "Service", appName)
	want := map[string]int{portHTTP: 80, portAdmin: containerPort(t, c, portAdmin)}
	got := map[string]int{}
	for _, p := range svc.Spec.Ports {
		got[p.Name] = p.Port
		if name, ok := resolvePort(c, p.TargetPort); !ok || name != p.Name {
			t.Errorf("Service port %q targets %q, not the container port %q", p.Name, p.TargetPort, p.Name)
		}
	}
	for name, port := range want {
		if got[name] != port {
			t.Errorf("Service port %q is %d, want %d", name, got[name], port)
		}
	}
	if !(labelSelector{MatchLabels: svc.Spec.Selector}).matches(dep.Spec.Template.Metadata.Labels) {
		t.Errorf("Service selector %v does not select the gatepass pods %v", svc.Spec.Selector, dep.Spec.Template.Metadata.Labels)
	}
}

type disruptionBudget struct {
	Spec struct {
		Selector       labelSelector `yaml:"selector"`
		MinAvailable   *int          `yaml:"minAvailable"`
		MaxUnavailable *int          `yaml:"maxUnavailable"`
	} `yaml:"spec"`
}

func TestSelectorsPickTheirOwnPods(t *testing.T) {
	docs := applied(t)
	pods := map[string]map[string]string{}
	for _, d := range ofKind(docs, "Deployment") {
		var dep deployment
		d.decode(t, &dep)
		if !dep.Spec.Selector.matches(dep.Spec.Template.Metadata.Labels) {
			t.Errorf("%s: selector does not match its own pod template", d)
		}
		pods[d.Metadata.Name] = dep.Spec.Template.Metadata.Labels
	}

	pdb := find[disruptionBudget](t, docs, "PodDisruptionBudget", appName)
	minAvail, maxUnavail := pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable
	if !(minAvail != nil && *minAvail >= 2) && !(maxUnavail != nil && *maxUnavail == 1) {
		t.Error("the gatepass PodDisruptionBudget: want minAvailable >= 2 or maxUnavailable 1")
	}

	// Each Service and disruption budget selects the pods of the one
	// Deployment of its name: gatepass's Service never sends to Redis.
	type selection struct {
		doc document
		sel labelSelector
	}
	var selections []selection
	for _, d := range ofKind(docs, "Service") {
		var s service
		d.decode(t, &s)
		selections = append(selections, selection{d, labelSelector{MatchLabels: s.Spec.Selector}})
	}
	for _, d := range ofKind(docs, "PodDisruptionBudget") {
		var p disruptionBudget
		d.decode(t, &p)
		selections = append(selections, selection{d, p.Spec.Selector})
	}
	for _, s := range selections {
		var picked []string
		for name, labels := range pods {
			if s.sel.matches(labels) {
				picked = append(picked, name)
			}
		}
		if len(picked) != 1 || picked[0] != s.doc.Metadata.Name {
			t.Errorf("%s selects the pods of %v, want only Deployment %q", s.doc, picked, s.doc.Metadata.Name)
		}
	}
}

type autoscaler struct {
	Spec struct {
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicas int          `yaml:"minReplicas"`
		MaxReplicas int          `yaml:"maxReplicas"`
		Metrics     []metricSpec `yaml:"metrics"`
	} `yaml:"spec"`
}

type metricSpec struct {
	Type     string `yaml:"type"`
	Resource struct {
		Name string `yaml:"name"`
	} `yaml:"resource"`
}

func TestAutoscalerScalesGatepassOnCPU(t *testing.T) {
	docs := applied(t)
	dep, c := app(t, docs)
	for _, d := range ofKind(docs, "HorizontalPodAutoscaler") {
		if d.APIVersion != "autoscaling/v2" {
			t.Errorf("%s: apiVersion %s, want autoscaling/v2", d, d.APIVersion)
		}
	}
	hpa := find[autoscaler](t, docs, "HorizontalPodAutoscaler", appName)
	if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != appName {
		t.Errorf("scales %s %q, want Deployment %q", ref.Kind, ref.Name, appName)
	}
	cpu := func(m metricSpec) bool { return m.Type == "Resource" && m.Resource.Name == "cpu" }
	if !slices.ContainsFunc(hpa.Spec.Metrics, cpu) {
		t.Error("no CPU resource metric: RSA signing is CPU-bound")
	}
	// Utilization is measured against the request: without one the
	// autoscaler cannot act.
	if c.Resources.Requests["cpu"] == "" {
		t.Error("the gatepass container requests no CPU")
	}
	if hpa.Spec.MinReplicas < 2 || hpa.Spec.MinReplicas > hpa.Spec.MaxReplicas {
		t.Errorf("replicas %d..%d: want at least 2 and min <= max", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
	if r := dep.Spec.Replicas; r < hpa.Spec.MinReplicas || r > hpa.Spec.MaxReplicas {
		t.Errorf("Deployment starts at %d replicas, outside the autoscaler's %d..%d", r, hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
}

func TestContainersAreLockedDown(t *testing.T) {
	docs := applied(t)
	deps := ofKind(docs, "Deployment")
	if len(deps) < 2 {
		t.Fatalf("want the gatepass and Redis Deployments, got %v", deps)
	}
	for _, d := range deps {
		var dep deployment
		d.decode(t, &dep)
		pod := dep.Spec.Template.Spec
		for _, c := range pod.Containers {
			sc := c.SecurityContext
			if !isTrue(sc.RunAsNonRoot) && !isTrue(pod.SecurityContext.RunAsNonRoot) {
				t.Errorf("%s container %q: runAsNonRoot is not set", d, c.Name)
			}
			if u := pod.SecurityContext.RunAsUser; u != nil && *u == 0 {
				t.Errorf("%s: runAsUser 0", d)
			}
			if !isTrue(sc.ReadOnlyRootFilesystem) {
				t.Errorf("%s container %q: root filesystem is writable", d, c.Name)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s container %q: allowPrivilegeEscalation is not false", d, c.Name)
			}
			if !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s container %q: capabilities do not drop ALL", d, c.Name)
			}
			for _, r := range []string{"cpu", "memory"} {
				if c.Resources.Requests[r] == "" {
					t.Errorf("%s container %q: no %s request", d, c.Name, r)
				}
			}
			if c.Resources.Limits["memory"] == "" {
				t.Errorf("%s container %q: no memory limit", d, c.Name)
			}
		}
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

func TestShutdownFitsInTheGracePeriod(t *testing.T) {
	docs := applied(t)
	dep, c := app(t, docs)
	env := environment(t, docs, c)
	value, ok := effective(env, configSettings(), "HTTP_SHUTDOWN_TIMEOUT")
	if !ok {
		t.Fatal("HTTP_SHUTDOWN_TIMEOUT is neither set in the manifests nor defaulted in bootstrap.Config")
	}
	shutdown, err := time.ParseDuration(value)
	if err != nil {
		t.Fatalf("HTTP_SHUTDOWN_TIMEOUT=%q: %v", value, err)
	}
	grace := dep.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil {
		t.Fatal("terminationGracePeriodSeconds is not set (the default, 30 s, is not tied to HTTP_SHUTDOWN_TIMEOUT)")
	}
	preStop := preStopSleep(t, c)
	if preStop == 0 {
		t.Error("no preStop sleep: the load balancer may still send requests after SIGTERM")
	}
	// The grace period counts from the deletion: the preStop hook runs in
	// it, then SIGTERM, then the drain.
	if budget := time.Duration(*grace) * time.Second; budget <= preStop+shutdown {
		t.Errorf("terminationGracePeriodSeconds %v does not exceed the preStop sleep %v plus HTTP_SHUTDOWN_TIMEOUT %v", budget, preStop, shutdown)
	}
}

// preStopSleep reads the preStop hook's delay: the sleep action or an exec
// of sleep.
func preStopSleep(t *testing.T, c container) time.Duration {
	t.Helper()
	h := c.Lifecycle.PreStop
	switch {
	case h == nil:
		return 0
	case h.Sleep != nil:
		return time.Duration(h.Sleep.Seconds) * time.Second
	case h.Exec != nil && len(h.Exec.Command) == 2 && filepath.Base(h.Exec.Command[0]) == "sleep":
		s, err := strconv.Atoi(h.Exec.Command[1])
		if err != nil {
			t.Fatalf("preStop %v: not a whole number of seconds", h.Exec.Command)
		}
		return time.Duration(s) * time.Second
	}
	t.Fatalf("preStop hook is neither a sleep action nor an exec of sleep")
	return 0
}
