package deploy_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/test/kit"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Line int
	Cmd  string // upper case: FROM, RUN, COPY...
	Args string
}

// stage is one FROM and what follows it.
type stage struct {
	From  instruction
	Body  []instruction
	Image string
	Name  string
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.Body {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// last returns the stage's last cmd instruction, the one that takes effect.
func (s stage) last(t *testing.T, cmd string) instruction {
	t.Helper()
	all := s.all(cmd)
	if len(all) == 0 {
		t.Fatalf("stage %q has no %s", s.Name, cmd)
	}
	return all[len(all)-1]
}

func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		stages  []stage
		pending strings.Builder
		start   int
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue // comments may sit inside a continued instruction too
		}
		if pending.Len() == 0 {
			start = n
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending.WriteString(cont + " ")
			continue
		}
		pending.WriteString(line)
		word, args, _ := strings.Cut(pending.String(), " ")
		pending.Reset()
		in := instruction{Line: start, Cmd: strings.ToUpper(word), Args: strings.TrimSpace(args)}
		if in.Cmd == "FROM" {
			fields := strings.Fields(in.Args)
			s := stage{From: in, Image: fields[len(fields)-1]}
			if len(fields) >= 3 && strings.EqualFold(fields[len(fields)-2], "AS") {
				s.Image, s.Name = fields[len(fields)-3], fields[len(fields)-1]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			if in.Cmd != "ARG" {
				t.Fatalf("Dockerfile:%d: %s before FROM", in.Line, in.Cmd)
			}
			continue
		}
		stages[len(stages)-1].Body = append(stages[len(stages)-1].Body, in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if pending.Len() > 0 {
		t.Fatal("Dockerfile ends inside a continued line")
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a builder and a runtime", len(stages))
	}
	return stages
}

// execForm decodes a JSON-array (exec form) instruction.
func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(in.Args), &out); err != nil || len(out) == 0 {
		t.Fatalf("Dockerfile:%d: %s %s is not in exec form (a JSON array): signals would go to a shell", in.Line, in.Cmd, in.Args)
	}
	return out
}

var (
	goDirective = regexp.MustCompile(`(?m)^go (\d+\.\d+)`)
	golangImage = regexp.MustCompile(`^golang:(\d+\.\d+)(?:\.\d+)?(?:-(\w+))?`)
)

func TestDockerfileBuildsWithCgoOnTheModulesGo(t *testing.T) {
	stages := parseDockerfile(t)
	build := stages[0]
	m := golangImage.FindStringSubmatch(build.Image)
	if m == nil {
		t.Fatalf("the builder is %q, want golang:<version>", build.Image)
	}
	mod, err := os.ReadFile(repoRoot + "/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := goDirective.FindSubmatch(mod)
	if want == nil {
		t.Fatal("go.mod has no go directive")
	}
	if m[1] != string(want[1]) {
		t.Errorf("the builder is Go %s; go.mod says go %s", m[1], want[1])
	}
	// A cgo binary needs the glibc it was linked against: build and run on
	// the same Debian release.
	if m[2] == "" || !strings.Contains(stages[len(stages)-1].Image, m[2]) {
		t.Errorf("builder %q and runtime %q are not the same Debian release", build.Image, stages[len(stages)-1].Image)
	}

	var text strings.Builder
	for _, in := range build.Body {
		if in.Cmd == "RUN" || in.Cmd == "ENV" {
			text.WriteString(in.Args + "\n")
		}
	}
	checks := []struct {
		what string
		re   *regexp.Regexp
	}{
		{what: "CGO_ENABLED=1 (the OpenSSL signer loads libcrypto through cgo)", re: regexp.MustCompile(`CGO_ENABLED=1\b`)},
		{what: "go build -trimpath", re: regexp.MustCompile(`go build[^\n]*\s-trimpath\b`)},
		{what: `-ldflags "-s -w"`, re: regexp.MustCompile(`-ldflags[= ]["']?-s -w\b`)},
		{what: "building ./cmd/gatepass", re: regexp.MustCompile(`go build[^\n]*\s\./cmd/gatepass\b`)},
	}
	for _, c := range checks {
		if !c.re.MatchString(text.String()) {
			t.Errorf("the builder stage lacks %s", c.what)
		}
	}
}

func TestRuntimeStageIsNotRoot(t *testing.T) {
	stages := parseDockerfile(t)
	runtime := stages[len(stages)-1]
	user, _, _ := strings.Cut(runtime.last(t, "USER").Args, ":")
	uid, err := strconv.ParseInt(user, 10, 64)
	switch {
	case err != nil:
		// Kubernetes cannot check runAsNonRoot against a user name.
		t.Errorf("USER %q is not numeric", user)
	case uid == 0:
		t.Error("the runtime stage runs as root")
	}
	dep, _ := app(t, applied(t))
	if u := dep.Spec.Template.Spec.SecurityContext.RunAsUser; u != nil && err == nil && *u != uid {
		t.Errorf("the pod runs as %d; the image's USER is %d", *u, uid)
	}
}

// secretSetting matches setting names that hold secrets; none belongs in an
// image's ENV or ARG, where `docker history` shows it.
var secretSetting = regexp.MustCompile(`(?i)(^|_)(KEY|SECRET|PASSWORD|TOKEN|PIN)(_|$)`)

func TestImageCarriesNoSecrets(t *testing.T) {
	for _, s := range parseDockerfile(t) {
		for _, in := range s.Body {
			switch in.Cmd {
			case "ENV", "ARG":
				for _, f := range strings.Fields(in.Args) {
					name, _, _ := strings.Cut(f, "=")
					if secretSetting.MatchString(name) {
						t.Errorf("Dockerfile:%d: %s %s bakes a secret setting into the image", in.Line, in.Cmd, name)
					}
				}
			case "COPY", "ADD":
				if strings.Contains(in.Args, ".pem") || strings.Contains(in.Args, "keys") {
					t.Errorf("Dockerfile:%d: %s copies key material", in.Line, in.Cmd)
				}
			}
		}
	}
	ignore, err := os.ReadFile(repoRoot + "/.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for l := range strings.Lines(string(ignore)) {
		lines = append(lines, strings.TrimSuffix(strings.TrimSpace(l), "/"))
	}
	for _, want := range []string{".git", "bin", "test/node_modules", ".gatepass-dev"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}

func TestImageExposesTheListenersPorts(t *testing.T) {
	stages := parseDockerfile(t)
	var exposed []int
	for _, in := range stages[len(stages)-1].all("EXPOSE") {
		for _, f := range strings.Fields(in.Args) {
			p, err := strconv.Atoi(strings.TrimSuffix(f, "/tcp"))
			if err != nil {
				t.Fatalf("Dockerfile:%d: EXPOSE %s", in.Line, f)
			}
			exposed = append(exposed, p)
		}
	}
	slices.Sort(exposed)

	_, c := app(t, applied(t))
	var ports []int
	for _, p := range c.Ports {
		ports = append(ports, p.ContainerPort)
	}
	slices.Sort(ports)
	if !slices.Equal(exposed, ports) {
		t.Errorf("EXPOSE %v; the Deployment's container ports are %v", exposed, ports)
	}

	// `docker run` without settings listens on the defaults.
	settings := configSettings()
	var defaults []int
	for _, name := range []string{"HTTP_ADDR", "ADMIN_ADDR"} {
		s, ok := settings[name]
		if !ok || !s.HasDefault {
			t.Errorf("bootstrap.Config has no default for %s", name)
			continue
		}
		_, port := addrPort(t, name+" default", s.Default)
		defaults = append(defaults, port)
	}
	slices.Sort(defaults)
	if !slices.Equal(exposed, defaults) {
		t.Errorf("EXPOSE %v; the listeners' default ports are %v", exposed, defaults)
	}
}

// subcommands parses `gatepass help`'s listing: "  gatepass serve ...".
func subcommands(t *testing.T) []string {
	t.Helper()
	out, stderr, err := kit.Run(t, nil, "help")
	if err != nil {
		t.Fatalf("gatepass help: %s", kit.ExitError(err, stderr))
	}
	re := regexp.MustCompile(`(?m)^\s+gatepass ([a-z][a-z-]*)`)
	var names []string
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatalf("gatepass help lists no subcommands:\n%s", out)
	}
	return names
}

func TestImageCommandIsTheServeSubcommand(t *testing.T) {
	t.Parallel()
	stages := parseDockerfile(t)
	runtime := stages[len(stages)-1]
	entry := execForm(t, runtime.last(t, "ENTRYPOINT"))
	if len(entry) != 1 || path.Base(entry[0]) != "gatepass" {
		t.Fatalf("ENTRYPOINT %q, want the gatepass binary alone", entry)
	}
	copied := false
	for _, in := range runtime.all("COPY") {
		f := strings.Fields(in.Args)
		copied = copied || f[len(f)-1] == entry[0]
	}
	if !copied {
		t.Errorf("no COPY in the runtime stage puts the binary at the ENTRYPOINT %s", entry[0])
	}
	cmd := execForm(t, runtime.last(t, "CMD"))
	if cmd[0] != "serve" {
		t.Errorf("CMD %q, want serve", cmd)
	}
	known := subcommands(t)
	if !slices.Contains(known, cmd[0]) {
		t.Errorf("CMD %q: gatepass help lists no %q among %v", cmd, cmd[0], known)
	}

	// The Deployment keeps the ENTRYPOINT and runs a real subcommand.
	_, c := app(t, applied(t))
	if len(c.Command) > 0 {
		t.Errorf("the Deployment replaces the ENTRYPOINT with %q", c.Command)
	}
	if len(c.Args) > 0 && !slices.Equal(c.Args, cmd) {
		t.Errorf("the Deployment's args %q differ from the image's CMD %q", c.Args, cmd)
	}

	// The binary dispatches CMD: with no settings, serve starts and refuses
	// the missing production configuration.
	_, stderr, err := kit.Run(t, nil, cmd...)
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("gatepass %s without settings exited with %v, want 1; stderr: %s", strings.Join(cmd, " "), err, stderr)
	}
	if strings.Contains(stderr, "unknown command") || !strings.Contains(stderr, "invalid configuration") {
		t.Errorf("gatepass %s did not reach the server's configuration check:\n%s", strings.Join(cmd, " "), stderr)
	}
}
