// Package deploy_test keeps the container image and the Kubernetes
// manifests in step with the binary they run: the listeners' ports, the
// probe paths, the setting names, the CLI and the shutdown budget. No
// container engine or cluster is needed: the manifests are rendered with
// the kustomize library that `kubectl apply -k` embeds, the objects it
// would apply are checked; gatepass is served in process (beside a real
// redis-server) where its behaviour is the thing checked, and the real
// binary runs where its CLI is. The monitoring kit, deploy/monitoring, is
// checked against the metrics gatepass exports and the real promtool
// (monitoring_*_test.go).
package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	"go.yaml.in/yaml/v4"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/gatepass/gatepass/bootstrap"
)

// Paths relative to this package, where `go test` runs it.
const (
	repoRoot   = "../.."
	deployDir  = repoRoot + "/deploy"
	k8sDir     = deployDir + "/kubernetes"
	dockerfile = repoRoot + "/Dockerfile"

	kustomizationFile = "kustomization.yaml"
	secretExampleFile = "secret.example.yaml"

	// The gatepass Deployment and its container, and the names of its ports.
	appName   = "gatepass"
	portHTTP  = "http"
	portAdmin = "admin"
)

// document is one YAML document of a manifest file.
type document struct {
	File       string     `yaml:"-"`
	Index      int        `yaml:"-"`
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	node       *yaml.Node
}

func (d document) String() string {
	return fmt.Sprintf("%s#%d (%s %q)", d.File, d.Index+1, d.Kind, d.Metadata.Name)
}

// decode loads the whole document into out.
func (d document) decode(t *testing.T, out any) {
	t.Helper()
	if err := d.node.Load(out); err != nil {
		t.Fatalf("%s: %v", d, err)
	}
}

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

// matches reports whether the selector selects labels. An empty selector
// is treated as matching nothing: none of ours should be empty.
func (s labelSelector) matches(labels map[string]string) bool {
	if len(s.MatchLabels) == 0 {
		return false
	}
	for k, v := range s.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

type deployment struct {
	Spec struct {
		Replicas int           `yaml:"replicas"`
		Selector labelSelector `yaml:"selector"`
		Template struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     podSpec    `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsNonRoot *bool  `yaml:"runAsNonRoot"`
		RunAsUser    *int64 `yaml:"runAsUser"`
	} `yaml:"securityContext"`
	Containers []container `yaml:"containers"`
	Volumes    []struct {
		Name   string        `yaml:"name"`
		Secret *secretVolume `yaml:"secret"`
	} `yaml:"volumes"`
	TopologySpreadConstraints []struct {
		MaxSkew           int           `yaml:"maxSkew"`
		TopologyKey       string        `yaml:"topologyKey"`
		WhenUnsatisfiable string        `yaml:"whenUnsatisfiable"`
		LabelSelector     labelSelector `yaml:"labelSelector"`
	} `yaml:"topologySpreadConstraints"`
}

type secretVolume struct {
	SecretName string `yaml:"secretName"`
	// Items, when given, project only these keys, each at its path.
	Items []struct {
		Key  string `yaml:"key"`
		Path string `yaml:"path"`
	} `yaml:"items"`
}

// key returns the Secret key a file of the volume holds.
func (v secretVolume) key(file string) (string, bool) {
	if len(v.Items) == 0 {
		return file, true
	}
	for _, it := range v.Items {
		if it.Path == file {
			return it.Key, true
		}
	}
	return "", false
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	Env []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom []struct {
		Prefix       string `yaml:"prefix"`
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	StartupProbe   *probe `yaml:"startupProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Lifecycle      struct {
		PreStop *struct {
			Exec *struct {
				Command []string `yaml:"command"`
			} `yaml:"exec"`
			Sleep *struct {
				Seconds int `yaml:"seconds"`
			} `yaml:"sleep"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		// Port is a port name or number, as Kubernetes allows.
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
	Exec *struct {
		Command []string `yaml:"command"`
	} `yaml:"exec"`
}

type service struct {
	Spec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type configMap struct {
	Data map[string]string `yaml:"data"`
}

type secret struct {
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
}

type kustomization struct {
	Namespace          string   `yaml:"namespace"`
	Resources          []string `yaml:"resources"`
	ConfigMapGenerator []struct {
		Name  string   `yaml:"name"`
		Envs  []string `yaml:"envs"`
		Files []string `yaml:"files"`
	} `yaml:"configMapGenerator"`
	Images []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
		Digest  string `yaml:"digest"`
	} `yaml:"images"`
}

// loadFile parses every document of one YAML file. Empty documents (a
// file that is all comments) are skipped.
func loadFile(t *testing.T, path string) []document {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(repoRoot, path)
	return parseDocuments(t, filepath.ToSlash(rel), data)
}

// parseDocuments parses every document of a YAML stream called name.
func parseDocuments(t *testing.T, name string, data []byte) []document {
	t.Helper()
	rel := name
	loader, err := yaml.NewLoader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	var docs []document
	for i := 0; ; i++ {
		var n yaml.Node
		err := loader.Load(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: document %d does not parse: %v", rel, i+1, err)
		}
		if n.Kind == 0 || (n.Kind == yaml.DocumentNode && len(n.Content) == 0) {
			continue
		}
		d := document{File: rel, Index: i, node: &n}
		if err := n.Load(&d); err != nil {
			t.Fatalf("%s: document %d: %v", rel, i+1, err)
		}
		docs = append(docs, d)
	}
	return docs
}

// yamlFiles lists every YAML file under dir.
func yamlFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no YAML under %s", dir)
	}
	return files
}

// renderedK8s is `kustomize build deploy/kubernetes`, rendered once.
var renderedK8s = sync.OnceValues(func() ([]byte, error) { return kustomizeBuild(k8sDir) })

// kustomizeBuild renders the kustomization in dir from the disk, as
// `kubectl apply -k dir` would before applying.
func kustomizeBuild(dir string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		return nil, fmt.Errorf("kustomize build: %w", err)
	}
	return m.AsYaml()
}

// applied is every object that `kubectl apply -k deploy/kubernetes`
// creates: the kustomization's rendered output, generated ConfigMap,
// rewritten names and set image included.
func applied(t *testing.T) []document {
	t.Helper()
	out, err := renderedK8s()
	if err != nil {
		t.Fatal(err)
	}
	return parseDocuments(t, "kustomize build deploy/kubernetes", out)
}

// render is applied for the kustomization in dir, rendered afresh.
func render(t *testing.T, dir string) []document {
	t.Helper()
	out, err := kustomizeBuild(dir)
	if err != nil {
		t.Fatal(err)
	}
	return parseDocuments(t, "kustomize build "+filepath.Base(dir), out)
}

func readKustomization(t *testing.T) kustomization {
	t.Helper()
	docs := loadFile(t, filepath.Join(k8sDir, kustomizationFile))
	if len(docs) != 1 || docs[0].Kind != "Kustomization" {
		t.Fatalf("%s: want one Kustomization, got %v", kustomizationFile, docs)
	}
	var k kustomization
	docs[0].decode(t, &k)
	return k
}

// find decodes the one applied object of kind and name.
func find[T any](t *testing.T, docs []document, kind, name string) T {
	t.Helper()
	var out T
	found := 0
	for _, d := range docs {
		if d.Kind == kind && d.Metadata.Name == name {
			d.decode(t, &out)
			found++
		}
	}
	if found != 1 {
		t.Fatalf("want one %s %q in the manifests, found %d", kind, name, found)
	}
	return out
}

func ofKind(docs []document, kind string) []document {
	var out []document
	for _, d := range docs {
		if d.Kind == kind {
			out = append(out, d)
		}
	}
	return out
}

// app returns the gatepass Deployment and its gatepass container.
func app(t *testing.T, docs []document) (deployment, container) {
	t.Helper()
	return findContainer(t, docs, appName, appName)
}

// containerPort returns the number of the container port called name.
func containerPort(t *testing.T, c container, name string) int {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %q has no port named %q", c.Name, name)
	return 0
}

// resolvePort resolves a probe's or Service's port (a name or a number) to
// the container port's name.
func resolvePort(c container, port string) (string, bool) {
	for _, p := range c.Ports {
		if port == p.Name || port == strconv.Itoa(p.ContainerPort) {
			return p.Name, true
		}
	}
	return "", false
}

// environment is the container's environment as the kubelet builds it:
// the ConfigMaps of envFrom, then env, which wins. Values from secretKeyRef
// and the like are present with an empty value.
func environment(t *testing.T, docs []document, c container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm := find[configMap](t, docs, "ConfigMap", from.ConfigMapRef.Name)
			for k, v := range cm.Data {
				env[from.Prefix+k] = v
			}
		case from.SecretRef != nil:
			// Secret data is not in the applied manifests; the names are
			// then unknown to these tests, so refuse the construct.
			t.Fatalf("container %q takes envFrom a Secret: mount secrets as files instead", c.Name)
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

// findContainer returns the Deployment called depName and its container
// called name.
func findContainer(t *testing.T, docs []document, depName, name string) (deployment, container) {
	t.Helper()
	dep := find[deployment](t, docs, "Deployment", depName)
	for _, c := range dep.Spec.Template.Spec.Containers {
		if c.Name == name {
			return dep, c
		}
	}
	t.Fatalf("Deployment %q has no container %q", depName, name)
	return dep, container{}
}

// setting is one environment variable that bootstrap.Config reads.
type setting struct {
	Default    string
	HasDefault bool
}

// configSettings is every variable gatepass reads, from its own
// declaration.
func configSettings() map[string]setting {
	out := map[string]setting{}
	for _, v := range bootstrap.Variables() {
		out[v.Name] = setting{Default: v.Default, HasDefault: v.HasDefault}
	}
	return out
}

// effective is the value a setting takes in the container: the manifest's,
// else bootstrap.Config's default. ok is false when the setting is neither
// set nor known with a default.
func effective(env map[string]string, settings map[string]setting, name string) (string, bool) {
	if v, ok := env[name]; ok {
		return v, true
	}
	s, ok := settings[name]
	if !ok || !s.HasDefault {
		return "", false
	}
	return s.Default, true
}

// addrPort returns the port of a listen address such as ":8080".
func addrPort(t *testing.T, name, addr string) (host string, port int) {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, addr, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%s=%q: the port is not a number", name, addr)
	}
	return host, port
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
