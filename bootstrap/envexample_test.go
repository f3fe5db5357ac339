package bootstrap_test

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/bootstrap"
	"github.com/gatepass/gatepass/foundation/pemkey"
)

// exampleFile is the documented production configuration at the module
// root.
const exampleFile = "../.env.example"

var (
	setLine       = regexp.MustCompile(`^([A-Z][A-Z0-9_]*)=(.*)$`)
	commentedLine = regexp.MustCompile(`^# ?([A-Z][A-Z0-9_]*)=(.*)$`)
)

// exampleLine is one variable of .env.example: set, or commented out to
// show its default or an example.
type exampleLine struct {
	value     string
	commented bool
}

func readExample(t *testing.T) map[string]exampleLine {
	t.Helper()
	f, err := os.Open(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]exampleLine{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		var name string
		var l exampleLine
		if m := setLine.FindStringSubmatch(line); m != nil {
			name, l = m[1], exampleLine{value: m[2]}
		} else if m := commentedLine.FindStringSubmatch(line); m != nil {
			name, l = m[1], exampleLine{value: m[2], commented: true}
		} else if line == "" || strings.HasPrefix(line, "#") {
			continue
		} else {
			t.Fatalf("%s:%d is neither NAME=value nor a comment: %q", exampleFile, n, line)
		}
		if _, dup := out[name]; dup {
			t.Errorf("%s:%d: %s appears twice", exampleFile, n, name)
		}
		out[name] = l
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEnvExampleListsEverySetting keeps .env.example and the declaration
// of bootstrap.Variables in step: every variable appears (a NAME_FILE twin
// may), nothing unknown does, and a commented-out line shows the real
// default.
func TestEnvExampleListsEverySetting(t *testing.T) {
	example := readExample(t)
	known := map[string]bootstrap.Variable{}
	for _, v := range bootstrap.Variables() {
		known[v.Name] = v
		if _, ok := example[v.Name]; !ok && !strings.HasSuffix(v.Name, "_FILE") {
			t.Errorf("%s is not in %s: add it, with a comment saying what it is for", v.Name, exampleFile)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(example)) {
		l := example[name]
		v, ok := known[name]
		switch {
		case !ok:
			t.Errorf("%s lists %s, which gatepass does not read", exampleFile, name)
		case l.commented && v.HasDefault && l.value != v.Default:
			t.Errorf("%s shows %s=%s, but its default is %q", exampleFile, name, l.value, v.Default)
		}
	}
}

// TestEnvExampleLoadsOnceFilledIn: the lines left to fill in are exactly
// what production requires, and with them filled in the example loads.
func TestEnvExampleLoadsOnceFilledIn(t *testing.T) {
	environ := map[string]string{}
	var empty []string
	for name, l := range readExample(t) {
		if l.commented {
			continue
		}
		environ[name] = l.value
		if l.value == "" {
			empty = append(empty, name)
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyText, err := pemkey.EncodePKCS8(key)
	if err != nil {
		t.Fatal(err)
	}
	fill := map[string]string{
		"JWT_ISSUER":          "https://gatepass.example.com",
		"JWT_AUDIENCE":        "office-router",
		"WEBSOCKET_BASE_URL":  "wss://office.example.com/ws",
		"JWT_PRIVATE_KEY":     string(keyText),
		"SUPABASE_JWT_SECRET": "a-supabase-project-secret-of-32-bytes-or-more",
		"AUTH_JWKS_URL":       "https://api.workos.com/sso/jwks/client_01ABC",
		"AUTH_ISSUER":         "https://api.workos.com/user_management/client_01ABC",
		"AUTH_AUDIENCE":       "client_01ABC",
	}
	if got, want := slices.Sorted(slices.Values(empty)), slices.Sorted(maps.Keys(fill)); !slices.Equal(got, want) {
		t.Fatalf("lines left to fill in: %v, want %v", got, want)
	}

	// As shipped, the start names each line to fill in, and nothing else.
	_, err = bootstrap.Load(environ)
	if err == nil {
		t.Fatal("the example loads with its required lines empty")
	}
	lines := strings.Split(err.Error(), "\n")[1:]
	if len(lines) != len(empty) {
		t.Errorf("the unfilled example has %d problems, want one per empty line %v:\n%v", len(lines), empty, err)
	}
	for _, name := range empty {
		if !strings.Contains(err.Error(), "\n  "+name+": ") {
			t.Errorf("the unfilled example's error does not name %s:\n%v", name, err)
		}
	}

	maps.Copy(environ, fill)
	cfg, err := bootstrap.Load(environ)
	if err != nil {
		t.Fatalf("the example, filled in, does not load: %v", err)
	}
	if cfg.Development() {
		t.Error("the example runs in development")
	}
}
