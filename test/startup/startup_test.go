// Package startup_test starts the real binary to check what a newcomer
// meets at start: misspelt and quoted settings, one error per problem, and
// the development banner's commands, each run as printed.
package startup_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/natsserver"
	"github.com/gatepass/gatepass/test/peers"
)

// development is the environment of `make run`, in a folder of the test's.
func development(t *testing.T) map[string]string {
	return map[string]string{"APP_ENV": "development", "DEV_DIR": filepath.Join(t.TempDir(), "dev")}
}

// refused runs `gatepass serve` with env, wants exit 1, and returns its
// stderr.
func refused(t *testing.T, env map[string]string) string {
	t.Helper()
	_, stderr, err := kit.Run(t, env, "serve")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("serve exited with %v, want 1; stderr:\n%s", err, stderr)
	}
	return stderr
}

// TestMisspeltVariablesAreNamed: a misspelt variable is named, with the
// closest real name, in one warning line, and the service still starts;
// GATEPASS_STRICT_ENV=true refuses it. Neither prints a value.
func TestMisspeltVariablesAreNamed(t *testing.T) {
	t.Parallel()
	env := development(t)
	env["JWT_ALGORITM"] = "ES256"
	env["RATE_LIMIT_OFICE_RATE"] = "5"
	env["SUPABASE_JWT_SECRT"] = "a-value-that-must-never-be-printed"
	env["HTTP_PROXY"] = "http://127.0.0.1:3128"
	env["no_proxy"] = "127.0.0.1"
	s := kit.Start(t, env)
	var warnings []string
	if !kit.Eventually(10*time.Second, 20*time.Millisecond, func() bool {
		warnings = nil
		for _, line := range strings.Split(s.Stderr.String(), "\n") {
			if strings.Contains(line, "unknown_variables") {
				warnings = append(warnings, line)
			}
		}
		return len(warnings) > 0 && strings.Contains(s.Stderr.String(), `"gatepass serving"`)
	}) {
		t.Fatalf("no warning about the unknown variables:\n%s", s.Stderr.String())
	}
	if len(warnings) != 1 {
		t.Fatalf("%d warning lines, want one:\n%s", len(warnings), strings.Join(warnings, "\n"))
	}
	var line struct {
		Level   string   `json:"level"`
		Unknown []string `json:"unknown_variables"`
	}
	if err := json.Unmarshal([]byte(warnings[0]), &line); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"JWT_ALGORITM (did you mean JWT_ALGORITHM?)",
		"RATE_LIMIT_OFICE_RATE (did you mean RATE_LIMIT_OFFICE_RATE?)",
		"SUPABASE_JWT_SECRT (did you mean SUPABASE_JWT_SECRET?)",
	}
	if line.Level != "WARN" || strings.Join(line.Unknown, "|") != strings.Join(want, "|") {
		t.Errorf("warning %s, want level WARN naming %q", warnings[0], want)
	}
	if strings.Contains(s.Stderr.String(), "never-be-printed") || strings.Contains(warnings[0], "ES256") {
		t.Errorf("a value of an unknown variable is printed:\n%s", warnings[0])
	}
	// The misspelt algorithm did not apply: the default signs.
	if !strings.Contains(s.Stderr.String(), `"office_alg":"RS256"`) {
		t.Errorf("the office key does not sign with the default RS256:\n%s", s.Stderr.String())
	}

	env = development(t)
	env["JWT_ALGORITM"] = "ES256"
	env["SUPABASE_JWT_SECRT"] = "a-value-that-must-never-be-printed"
	env["GATEPASS_STRICT_ENV"] = "true"
	stderr := refused(t, env)
	for _, want := range []string{
		"JWT_ALGORITM: is not a gatepass variable; did you mean JWT_ALGORITHM?",
		"SUPABASE_JWT_SECRT: is not a gatepass variable; did you mean SUPABASE_JWT_SECRET?",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the strict refusal lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "never-be-printed") || strings.Contains(stderr, "ES256") {
		t.Errorf("the strict refusal prints a value:\n%s", stderr)
	}
}

// TestQuotedValuesAreRefused: a quoted audience, as many .env files write
// it, would go into every grant with its quotes; the start is refused
// instead, naming the variable and not its value.
func TestQuotedValuesAreRefused(t *testing.T) {
	t.Parallel()
	env := development(t)
	env["JWT_AUDIENCE"] = `"office-router"`
	stderr := refused(t, env)
	want := "gatepass: invalid configuration:\n  JWT_AUDIENCE: is quoted; remove the quotes (the value is taken verbatim, quotes included)\n"
	if stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
}

// TestOneErrorPerProblem: a key file that cannot be read is one line with
// its path and the OS's reason; a verification key equal to the signing
// key is called just that.
func TestOneErrorPerProblem(t *testing.T) {
	t.Parallel()
	env := development(t)
	missing := filepath.Join(t.TempDir(), "private.pem")
	env["JWT_PRIVATE_KEY_FILE"] = missing
	stderr := refused(t, env)
	want := "gatepass: invalid configuration:\n  JWT_PRIVATE_KEY_FILE: open " + missing + ": no such file or directory\n"
	if stderr != want {
		t.Errorf("a missing key file:\n%s\nwant:\n%s", stderr, want)
	}

	keys := t.TempDir()
	if _, stderr, err := kit.Run(t, nil, "keys", "generate", "--out", keys); err != nil {
		t.Fatal(kit.ExitError(err, stderr))
	}
	env = development(t)
	env["JWT_PRIVATE_KEY_FILE"] = filepath.Join(keys, "private.pem")
	env["JWT_VERIFICATION_KEYS_FILE"] = filepath.Join(keys, "public.pem")
	stderr = refused(t, env)
	want = "gatepass: invalid configuration:\n  JWT_VERIFICATION_KEYS_FILE: key 1 is the signing key's public key (JWT_PRIVATE_KEY_FILE), which the JWKS publishes already; list only a rotation's other keys\n"
	if stderr != want {
		t.Errorf("a verification key equal to the signing key:\n%s\nwant:\n%s", stderr, want)
	}
}

var curlLine = regexp.MustCompile(`^  curl -sS -X POST (\S+) -H 'Authorization: Bearer (\S+)'(?: -H 'Content-Type: application/json' -d '(.*)')?$`)

// TestBannerShowsTheWay runs the development banner as a newcomer would:
// for every grant kind, the command that starts its server is there, the
// curl gets a grant, and the printed `gatepass token verify` line, with
// that grant, verifies it.
func TestBannerShowsTheWay(t *testing.T) {
	t.Parallel()
	env := development(t)
	s := kit.Start(t, env)
	if !kit.Eventually(10*time.Second, 20*time.Millisecond, func() bool {
		out := s.Stdout.String()
		return strings.Contains(out, "Centrifugo connection and subscription tokens") && strings.Contains(out, "token verify --nats-account")
	}) {
		t.Fatalf("no complete banner:\n%s", s.Stdout.String())
	}
	devDir, err := filepath.Abs(env["DEV_DIR"])
	if err != nil {
		t.Fatal(err)
	}
	starts := map[string]string{
		"Office-router grant":       "  (cd deploy/office-router && npm ci && npx wrangler dev --ip 127.0.0.1 --port 8787 --var CONN_JWT_ISSUER:gatepass-dev --var CONN_JWT_AUDIENCE:office-router --var CONN_JWKS_URL:" + s.URL + "/.well-known/jwks.json)",
		"Supabase Realtime token":   "",
		"LiveKit token":             `  livekit-server --dev --bind 127.0.0.1 --keys "devkey: $(cat ` + filepath.Join(devDir, "livekit-secret") + `)"`,
		"Centrifugo connection and": "  centrifugo --config " + filepath.Join(devDir, "centrifugo.json"),
		"NATS user JWT":             "  nats-server -c " + filepath.Join(devDir, "nats-server.conf"),
	}
	grants := map[string]string{}
	verified := 0
	for _, section := range strings.Split(s.Stdout.String(), "\n\n") {
		lines := strings.Split(section, "\n")
		var title string
		for prefix := range starts {
			if strings.HasPrefix(lines[0], prefix) {
				title = prefix
			}
		}
		if title == "" {
			continue
		}
		if want := starts[title]; want != "" && lines[1] != want {
			t.Errorf("%s: the server's start command is\n%s\nwant\n%s", title, lines[1], want)
		}
		var token, verify string
		for _, l := range lines {
			if m := curlLine.FindStringSubmatch(l); m != nil && token == "" {
				var opts []kit.Option
				if m[3] != "" {
					opts = append(opts, kit.JSONBody(m[3]))
				}
				r := kit.Post(t, m[1], append(opts, kit.Bearer(m[2]))...)
				if r.Status != 200 && r.Status != 201 {
					t.Fatalf("%s: %s", title, r)
				}
				body := r.JSON(t)
				token, _ = body["token"].(string)
				if lk, ok := body["participant_token"].(string); ok {
					token = lk
				}
				if nats, ok := body["user_jwt"].(string); ok {
					token = nats
				}
				grants[title] = token
			}
			if v, ok := strings.CutPrefix(l, "  bin/gatepass token verify "); ok {
				verify = v
			}
		}
		if token == "" || verify == "" {
			t.Errorf("%s: want a curl and a token verify line:\n%s", title, section)
			continue
		}
		args := append([]string{"token", "verify"}, strings.Fields(strings.Replace(verify, "TOKEN", token, 1))...)
		if out, stderr, err := kit.Run(t, nil, args...); err != nil {
			t.Errorf("%s: the printed token verify refuses the grant: %s\n%s", title, kit.ExitError(err, stderr), out)
		}
		verified++
	}
	if verified != len(starts) {
		t.Errorf("verified %d grant kinds, want %d:\n%s", verified, len(starts), s.Stdout.String())
	}

	// The Centrifugo configuration the banner starts Centrifugo with
	// verifies this gatepass's grants: its JWKS, issuer and audience.
	raw, err := os.ReadFile(filepath.Join(devDir, "centrifugo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		HTTPServer struct {
			Address string `json:"address"`
			Port    int    `json:"port"`
		} `json:"http_server"`
		Client struct {
			Token struct {
				JWKS     string `json:"jwks_public_endpoint"`
				Audience string `json:"audience"`
				Issuer   string `json:"issuer"`
			} `json:"token"`
		} `json:"client"`
	}
	if err := json.Unmarshal(raw, &conf); err != nil {
		t.Fatal(err)
	}
	tok := conf.Client.Token
	if conf.HTTPServer.Address != "127.0.0.1" || conf.HTTPServer.Port != 8000 || tok.JWKS != s.URL+"/.well-known/jwks.json" ||
		tok.Audience != "centrifugo" || tok.Issuer != "gatepass-dev" {
		t.Errorf("centrifugo.json does not verify this gatepass's development grants:\n%s", raw)
	}
	kit.WantStatus(t, "the JWKS centrifugo.json names", kit.Get(t, tok.JWKS), 200)

	// The nats-server configuration the banner starts nats-server with
	// admits the printed grant (on free ports, not the development ones,
	// which another run may hold).
	wantDevelopmentNATSServerAdmits(t, filepath.Join(devDir, "nats-server.conf"), grants["NATS user JWT"])
}

// wantDevelopmentNATSServerAdmits starts nats-server with the development
// configuration at path, its listeners moved to free ports, and connects
// with the bearer user JWT grant: it publishes to and receives from its
// organization's subjects, and may not publish to another's.
func wantDevelopmentNATSServerAdmits(t *testing.T, path, grant string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if grant == "" {
		t.Fatal("no NATS grant from the banner's curl")
	}
	dir := t.TempDir()
	var client int
	p := peers.Start(t, peers.Launch{
		Binary: peers.MustBinary(t, peers.NATS),
		Dir:    dir,
		Args: func(monitor int) ([]string, error) {
			var ws int
			var err error
			if client, err = peers.FreePort(); err != nil {
				return nil, err
			}
			if ws, err = peers.FreePort(); err != nil {
				return nil, err
			}
			conf := strings.NewReplacer(`"127.0.0.1:4222"`, fmt.Sprintf(`"127.0.0.1:%d"`, client),
				`"127.0.0.1:4223"`, fmt.Sprintf(`"127.0.0.1:%d"`, ws)).Replace(string(raw))
			conf += fmt.Sprintf("\nhttp: \"127.0.0.1:%d\"\n", monitor)
			moved := filepath.Join(dir, "nats-server.conf")
			return []string{"-c", moved}, os.WriteFile(moved, []byte(conf), 0o600)
		},
		ReadyPath: "/healthz",
	})
	url := fmt.Sprintf("nats://127.0.0.1:%d", client)
	org, _ := kit.PayloadOf(t, grant)["nats"].(map[string]any)["tags"].([]any)
	orgID := ""
	for _, tag := range org {
		if s, _ := tag.(string); strings.HasPrefix(s, "org:") {
			orgID = strings.TrimPrefix(s, "org:")
		}
	}
	c, err := natsserver.Connect(t, url, grant, nil)
	if err != nil {
		t.Fatalf("the development nats-server refuses the banner's grant: %v\n%s", err, p.Logs())
	}
	subject := "org." + orgID + ".chat"
	sub, err := c.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(subject, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(10 * time.Second); err != nil || string(m.Data) != "hello" {
		t.Fatalf("on %s: %v %v", subject, m, err)
	}
	if err := c.Publish("org.someone_else.chat", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Violation(10 * time.Second); err != nil {
		t.Fatalf("publish to another organization: %v", err)
	}
}
