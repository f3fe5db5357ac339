package bootstrap_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/bootstrap"
	"github.com/gatepass/gatepass/foundation/pemkey"
)

// TestUnknownVariablesAreNamedWithTheClosestName: a variable that begins
// like gatepass's but is not declared is reported with its closest
// declared name, never its value; proxies and other programs' variables
// are left alone.
func TestUnknownVariablesAreNamedWithTheClosestName(t *testing.T) {
	t.Parallel()
	env := production(t)
	maps.Copy(env, map[string]string{
		"JWT_ALGORITM":          "ES256",
		"RATE_LIMIT_OFICE_RATE": "5",
		"jwt_audience":          "lower-case-value",
		"GATEPASS_SERVICE_HOST": "10.0.0.1",
		"HTTP_PROXY":            "http://proxy:3128", "https_proxy": "http://proxy:3128", "no_proxy": "localhost", "http_proxy": "x",
		"PATH": "/usr/bin", "HOME": "/root", "KUBERNETES_SERVICE_HOST": "10.0.0.1",
	})
	cfg, err := bootstrap.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range cfg.UnknownVariables {
		got = append(got, u.String())
	}
	want := []string{
		"GATEPASS_SERVICE_HOST",
		"JWT_ALGORITM (did you mean JWT_ALGORITHM?)",
		"RATE_LIMIT_OFICE_RATE (did you mean RATE_LIMIT_OFFICE_RATE?)",
		"jwt_audience (did you mean JWT_AUDIENCE?)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("unknown variables:\n got %q\nwant %q", got, want)
	}

	// Strict: the same environment is refused, one line each, no value.
	env["GATEPASS_STRICT_ENV"] = "true"
	_, err = bootstrap.Load(env)
	if err == nil {
		t.Fatal("GATEPASS_STRICT_ENV=true started with unknown variables")
	}
	msg := err.Error()
	for _, line := range []string{
		"JWT_ALGORITM: is not a gatepass variable; did you mean JWT_ALGORITHM?",
		"RATE_LIMIT_OFICE_RATE: is not a gatepass variable; did you mean RATE_LIMIT_OFFICE_RATE?",
		"GATEPASS_SERVICE_HOST: is not a gatepass variable (",
	} {
		if !strings.Contains(msg, "\n  "+line) {
			t.Errorf("the refusal lacks %q:\n%s", line, msg)
		}
	}
	for _, v := range []string{"ES256", "lower-case-value", "10.0.0.1", "proxy"} {
		if strings.Contains(msg, v) {
			t.Errorf("the refusal quotes the value %q:\n%s", v, msg)
		}
	}
	if n := strings.Count(msg, "\n  "); n != 4 {
		t.Errorf("%d problems, want the 4 unknown variables:\n%s", n, msg)
	}
}

// TestQuotedValuesAreRefused: a value, or a _FILE's content, wrapped in
// one kind of quote is refused naming the variable, and the value is never
// printed; only that one problem is reported for it.
func TestQuotedValuesAreRefused(t *testing.T) {
	t.Parallel()
	secretValue := strings.Repeat("q", 40)
	tests := []struct {
		name  string
		set   map[string]string
		unset string
		want  string
	}{
		{name: "double quotes", set: map[string]string{"JWT_AUDIENCE": `"office-router"`}, want: "JWT_AUDIENCE: is quoted; remove the quotes"},
		{name: "single quotes", set: map[string]string{"JWT_TTL": `'60s'`}, want: "JWT_TTL: is quoted; remove the quotes"},
		{name: "quoted secret", set: map[string]string{"SUPABASE_JWT_SECRET": `"` + secretValue + `"`}, want: "SUPABASE_JWT_SECRET: is quoted; remove the quotes"},
		{name: "quoted file path", set: map[string]string{"SUPABASE_JWT_SECRET_FILE": `"/run/secrets/supabase"`}, unset: "SUPABASE_JWT_SECRET",
			want: "SUPABASE_JWT_SECRET_FILE: is quoted; remove the quotes"},
		{name: "quoted file content", set: map[string]string{"SUPABASE_JWT_SECRET_FILE": "file:'" + secretValue + "'\n"}, unset: "SUPABASE_JWT_SECRET",
			want: "SUPABASE_JWT_SECRET_FILE: names a file whose content is quoted; remove the quotes from the file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := production(t)
			delete(env, tt.unset)
			for k, v := range tt.set {
				if content, ok := strings.CutPrefix(v, "file:"); ok {
					v = writeFile(t, content)
				}
				env[k] = v
			}
			_, err := bootstrap.Load(env)
			if err == nil {
				t.Fatal("a quoted value was accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, "\n  "+tt.want) || strings.Count(msg, "\n  ") != 1 {
				t.Errorf("want exactly the problem %q, got:\n%s", tt.want, msg)
			}
			if strings.Contains(msg, "office-router") || strings.Contains(msg, secretValue) || strings.Contains(msg, "60s") {
				t.Errorf("the refusal quotes the value:\n%s", msg)
			}
		})
	}
	// Quotes inside a value, or of two kinds, are the value's own.
	env := production(t)
	env["JWT_AUDIENCE"] = `"office'`
	if _, err := bootstrap.Load(env); err != nil {
		t.Errorf("a value with unmatched quotes was refused: %v", err)
	}
}

// TestOneErrorPerProblem: a key file that cannot be read is one line with
// its path and the OS's reason, and a verification key equal to the
// signing key is called just that.
func TestOneErrorPerProblem(t *testing.T) {
	t.Parallel()
	env := production(t)
	delete(env, "JWT_PRIVATE_KEY")
	env["JWT_PRIVATE_KEY_FILE"] = "/nonexistent/private.pem"
	_, err := bootstrap.Load(env)
	want := "invalid configuration:\n  JWT_PRIVATE_KEY_FILE: open /nonexistent/private.pem: no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("a missing key file:\n got %v\nwant %s", err, want)
	}

	// An empty file is named as one, with its path.
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for variable, twin := range map[string]string{"JWT_PRIVATE_KEY_FILE": "JWT_PRIVATE_KEY", "SUPABASE_JWT_SECRET_FILE": "SUPABASE_JWT_SECRET"} {
		env = production(t)
		delete(env, twin)
		env[variable] = empty
		_, err = bootstrap.Load(env)
		want = "invalid configuration:\n  " + variable + ": names an empty file (" + empty + ")"
		if err == nil || err.Error() != want {
			t.Errorf("an empty %s:\n got %v\nwant %s", variable, err, want)
		}
	}

	env = production(t)
	key, err := pemkey.ParsePrivate(env["JWT_PRIVATE_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	pub, err := pemkey.EncodePublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	env["JWT_VERIFICATION_KEYS"] = string(pub)
	_, err = bootstrap.Load(env)
	want = "invalid configuration:\n  JWT_VERIFICATION_KEYS: key 1 is the signing key's public key (JWT_PRIVATE_KEY), which the JWKS publishes already; list only a rotation's other keys"
	if err == nil || err.Error() != want {
		t.Errorf("a verification key equal to the signing key:\n got %v\nwant %s", err, want)
	}
}
