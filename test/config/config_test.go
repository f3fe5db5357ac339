// Package config_test starts the real gatepass binary with the settings an
// operator gets wrong at 3 a.m. (a secret with a stray newline, a key file
// that is not there, a key in the wrong format) and checks that the start
// refuses them naming each variable, the path and the reason, and never
// the value. The settings it accepts are served in process, to see that
// the value used is the one given.
package config_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/test/kit"
)

// refused runs `gatepass serve` with env, which must fail at start with
// exit 1, and returns what it wrote to stderr.
func refused(t *testing.T, env map[string]string) string {
	t.Helper()
	env = kit.With(env, map[string]string{"HTTP_ADDR": kit.FreeAddr(t), "ADMIN_ADDR": kit.FreeAddr(t)})
	_, stderr, err := kit.Run(t, env, "serve")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("serve exited with %v, want exit 1 at start; stderr:\n%s", err, stderr)
	}
	return stderr
}

// wantSays fails t unless out contains every one of want.
func wantSays(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output does not say %q:\n%s", w, out)
		}
	}
}

// wantNoLeak fails t when out contains any of secrets.
func wantNoLeak(t *testing.T, out string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("output quotes the secret %q:\n%s", s, out)
		}
	}
}

// writeFile writes content to a new file in a test folder and returns its
// path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// pemLeaks are the parts of a PEM text that must never be printed: its
// armour and a piece of its body.
func pemLeaks(text string) []string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	leaks := []string{"BEGIN", "END "}
	if len(lines) > 2 {
		leaks = append(leaks, lines[len(lines)/2])
	}
	return leaks
}
