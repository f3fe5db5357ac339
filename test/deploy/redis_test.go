package deploy_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// parseRedisURL parses a redis:// or rediss:// URL.
func parseRedisURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, errors.New("not a redis:// or rediss:// URL")
	}
	return u, nil
}

// TestRedisRequiresThePasswordGatepassIsGiven runs the manifests' Redis the
// way its container does (its command, arguments and Secret-fed
// environment, on loopback) and gatepass, in process, with the URL file its
// Secret mount would hold: Redis refuses a client without the password,
// and gatepass's rate limiter is ready with the URL.
func TestRedisRequiresThePasswordGatepassIsGiven(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not on PATH (run scripts/deps.sh redis): %v", err)
	}
	docs := applied(t)
	dep, c := app(t, docs)
	_, rc := findContainer(t, docs, redisName, redisContainer)

	// The example Secrets with a fresh password in place of the
	// placeholder, as `kubectl create secret` would make them.
	examples := secretExamples(t)
	placeholder := examples[redisSecret]["password"]
	if placeholder == "" {
		t.Fatalf("%s: Secret %q has no password", secretExampleFile, redisSecret)
	}
	b := make([]byte, 32)
	rand.Read(b)
	password := hex.EncodeToString(b)
	secrets := map[string]map[string]string{}
	for name, values := range examples {
		secrets[name] = map[string]string{}
		for k, v := range values {
			secrets[name][k] = strings.ReplaceAll(v, placeholder, password)
		}
	}

	// Redis: the container's command and arguments, plus a loopback port.
	addr := kit.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	argv := append(append(append([]string{}, rc.Command...), rc.Args...), "--port", port, "--bind", "127.0.0.1")
	if len(rc.Command) == 0 {
		argv = append([]string{"redis-server"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for _, e := range rc.Env {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			v = secrets[ref.Name][ref.Key]
		}
		cmd.Env = append(cmd.Env, e.Name+"="+v)
	}
	logs := &kit.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	cli := func(auth string) string {
		c := exec.Command("redis-cli", "-p", port, "ping")
		c.Env = []string{"PATH=" + os.Getenv("PATH")}
		if auth != "" {
			c.Env = append(c.Env, "REDISCLI_AUTH="+auth)
		}
		out, _ := c.CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	if !kit.Eventually(5*time.Second, 50*time.Millisecond, func() bool { return cli(password) == "PONG" }) {
		t.Fatalf("Redis never answered PONG to the Secret's password: %q\nlogs:\n%s", cli(password), logs)
	}
	if got := cli(""); !strings.Contains(got, "NOAUTH") {
		t.Errorf("Redis answered %q to a client without the password, want NOAUTH", got)
	}

	// gatepass: REDIS_URL_FILE holds the Secret key its mount projects,
	// pointed at this Redis.
	secretName, key := fileInSecret(secretMounts(t, dep, c), environment(t, docs, c)["REDIS_URL_FILE"])
	u, err := parseRedisURL(secrets[secretName][key])
	if err != nil {
		t.Fatalf("Secret %q key %q: %v", secretName, key, err)
	}
	u.Host = addr
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "url")
	if err := os.WriteFile(urlFile, []byte(u.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	p := inproc.Serve(t, map[string]string{
		"APP_ENV":                 "development",
		"DEV_DIR":                 filepath.Join(dir, "dev"),
		"REDIS_URL_FILE":          urlFile,
		"RATE_LIMIT_ENABLED":      "true",
		"RATE_LIMIT_FAILURE_MODE": "closed",
	})
	var ready kit.Readiness
	ok := kit.Eventually(10*time.Second, 100*time.Millisecond, func() bool {
		var status int
		status, ready = kit.Ready(t, p.AdminURL)
		return status == 200 && ready.Checks["rate_limiter"].Status == "ok"
	})
	if !ok {
		t.Errorf("gatepass with the Secret's URL is not ready on Redis: %+v\nlogs:\n%s", ready, p.Logs())
	}
}
