package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// TestVersion: `gatepass --version` and `gatepass version` name the
// version, commit and build date stamped with -ldflags (as make build
// does), the module and the Go version.
func TestVersion(t *testing.T) {
	t.Parallel()
	ldflags := "-X main.version=v9.8.7 -X main.commit=0123456789abcdef0123456789abcdef01234567 -X main.date=2031-02-03T04:05:06Z"
	bin, err := kit.CachedBinary("-ldflags", ldflags)
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gatepass %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}
	long, short := run("version"), run("--version")
	if long != short {
		t.Errorf("version and --version differ:\n%s\n%s", long, short)
	}
	for _, want := range []string{
		"gatepass v9.8.7\n",
		"  commit     0123456789abcdef0123456789abcdef01234567\n",
		"  built      2031-02-03T04:05:06Z\n",
		"  module     github.com/gatepass/gatepass\n",
		"  go         " + runtime.Version() + "\n",
		"  platform   " + runtime.GOOS + "/" + runtime.GOARCH + "\n",
	} {
		if !strings.Contains(long, want) {
			t.Errorf("version lacks %q:\n%s", want, long)
		}
	}

	// Without -ldflags, what the Go toolchain records still shows.
	plain, stderr, err := kit.Run(t, nil, "--version")
	if err != nil {
		t.Fatal(kit.ExitError(err, stderr))
	}
	if !strings.HasPrefix(plain, "gatepass ") || !strings.Contains(plain, "  go         go1.") || !strings.Contains(plain, "github.com/gatepass/gatepass") {
		t.Errorf("version of a plain build:\n%s", plain)
	}
}

// TestHelpOnEveryCommand: --help and -h exit 0 on every command and
// subcommand, print the usage on stdout and list every flag.
func TestHelpOnEveryCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cmd   string
		lists []string
	}{
		{"", []string{"serve", "keys", "token", "dev-token", "policy", "revoke", "version", "--version", "--help"}},
		{"serve", []string{"HTTP_ADDR", "--help"}},
		{"version", []string{"--help"}},
		{"dev-token", []string{"--user ID", "--org ID", "--role ROLE", "--ttl LIFETIME", `--org ""`, "168h"}},
		{"keys", []string{"generate", "public", "jwks", "--alg"}},
		{"keys generate", []string{"--out FOLDER", "--alg ALGORITHM", "--bits INT", "RS256, PS256, ES256, EdDSA", "(default 2048)"}},
		{"keys public", []string{"JWT_PRIVATE_KEY_FILE"}},
		{"keys jwks", []string{"JWT_VERIFICATION_KEYS"}},
		{"token", []string{"inspect", "verify", "Bearer"}},
		{"token inspect", []string{"RFC 3339", "Bearer"}},
		{"token verify", []string{"--jwks URL", "--public-key FILE", "--secret-file FILE", "--issuer ISSUER", "--audience AUDIENCE",
			"--no-audience", "--alg ALGORITHMS", "--leeway SKEW", "--org-claim CLAIM", "--role-claim CLAIM"}},
		{"policy", []string{"default", "check"}},
		{"policy default", []string{"--help"}},
		{"policy check", []string{"FILE|-"}},
		{"revoke", []string{"--user STRING", "--org STRING", "--all-organizations", "--session STRING", "--reason STRING", "GATEPASS_ADMIN_URL", "ADMIN_API_TOKEN_FILE"}},
	}
	for _, tt := range tests {
		for _, form := range [][]string{{"--help"}, {"-h"}, {"help"}} {
			args := append(strings.Fields(tt.cmd), form...)
			if form[0] == "help" {
				// gatepass help CMD...
				args = append([]string{"help"}, strings.Fields(tt.cmd)...)
			}
			name := "gatepass " + strings.Join(args, " ")
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				out, stderr, err := kit.Run(t, nil, args...)
				if err != nil {
					t.Fatalf("%s: %s", name, kit.ExitError(err, stderr))
				}
				if !strings.Contains(out, "Usage:") {
					t.Errorf("%s printed no usage on stdout:\n%s", name, out)
				}
				if strings.TrimSpace(tt.cmd) != "" && !strings.Contains(out, "gatepass "+tt.cmd) {
					t.Errorf("%s: the usage is not the command's:\n%s", name, out)
				}
				for _, want := range tt.lists {
					if !strings.Contains(out, want) {
						t.Errorf("%s does not list %q:\n%s", name, want, out)
					}
				}
			})
		}
	}
}

// TestFlagsAfterPositionalArguments: flags may follow TOKEN, as a person
// types `gatepass token verify TOKEN --jwks URL --issuer I`.
func TestFlagsAfterPositionalArguments(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	token := idp.Token(t, "user_1", "org_1", "member", time.Hour)
	orders := [][]string{
		{"token", "verify", token, "--jwks", idp.JWKSURL(), "--issuer", idp.Issuer, "--audience", idp.Audience},
		{"token", "verify", "--jwks", idp.JWKSURL(), token, "--issuer=" + idp.Issuer, "--audience", idp.Audience},
		{"token", "verify", "--jwks", idp.JWKSURL(), "--issuer", idp.Issuer, "--audience", idp.Audience, token},
	}
	for i, args := range orders {
		out, stderr, err := kit.Run(t, nil, args...)
		if err != nil || !strings.Contains(stderr, "VALID") || !strings.Contains(out, `"sub": "user_1"`) {
			t.Errorf("order %d: %v\n%s\n%s", i, err, stderr, out)
		}
	}
	// The flags after TOKEN are really read: a wrong issuer there fails.
	_, stderr, err := kit.Run(t, nil, "token", "verify", token, "--jwks", idp.JWKSURL(), "--issuer", "https://someone.else", "--audience", idp.Audience)
	if err == nil || !strings.Contains(stderr, "INVALID") {
		t.Errorf("a wrong --issuer after TOKEN was ignored: %v\n%s", err, stderr)
	}
	// An unknown flag after TOKEN is refused, naming it and --help.
	_, stderr, err = kit.Run(t, nil, "token", "inspect", token, "--bogus")
	if err == nil || !strings.Contains(stderr, "bogus") || !strings.Contains(stderr, "gatepass token inspect --help") {
		t.Errorf("an unknown flag after TOKEN: %v\n%s", err, stderr)
	}
	if strings.Contains(stderr, token) {
		t.Error("the token is echoed in the error")
	}
}

// TestKeysGenerateEveryAlgorithm: keys generate makes a key for each
// office algorithm that keys public reads back as serve would, and that a
// server started on it signs grants with, which verify against the
// generated public key.
func TestKeysGenerateEveryAlgorithm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		alg  string
		bits string
	}{
		{alg: "RS256"},
		{alg: "PS256", bits: "3072"},
		{alg: "ES256"},
		{alg: "EdDSA"},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "keys")
			args := []string{"keys", "generate", "--out", dir, "--alg", tt.alg}
			if tt.bits != "" {
				args = append(args, "--bits", tt.bits)
			}
			out, stderr, err := kit.Run(t, nil, args...)
			if err != nil {
				t.Fatal(kit.ExitError(err, stderr))
			}
			private, public := filepath.Join(dir, "private.pem"), filepath.Join(dir, "public.pem")
			if st, err := os.Stat(private); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("private.pem: %v %v", st, err)
			}
			pubPEM, err := os.ReadFile(public)
			if err != nil {
				t.Fatal(err)
			}
			if tt.bits != "" {
				if bits := readPublic(t, string(pubPEM)).N.BitLen(); fmt.Sprint(bits) != tt.bits {
					t.Errorf("--bits %s made a %d-bit key", tt.bits, bits)
				}
			}

			env := map[string]string{"JWT_PRIVATE_KEY_FILE": private, "JWT_ALGORITHM": tt.alg}
			got, stderr, err := kit.Run(t, env, "keys", "public")
			if err != nil {
				t.Fatal(kit.ExitError(err, stderr))
			}
			if got != string(pubPEM) {
				t.Errorf("keys public printed\n%s\nwant\n%s", got, pubPEM)
			}
			set, stderr, err := kit.Run(t, env, "keys", "jwks")
			if err != nil {
				t.Fatal(kit.ExitError(err, stderr))
			}
			var jwks struct{ Keys []map[string]any }
			if err := json.Unmarshal([]byte(set), &jwks); err != nil || len(jwks.Keys) != 1 {
				t.Fatalf("jwks %s", set)
			}
			kid, _ := jwks.Keys[0]["kid"].(string)
			if jwks.Keys[0]["alg"] != tt.alg || kid == "" || !strings.Contains(out, "kid "+kid+"\n") {
				t.Errorf("generate printed %q; the published key is %v", out, jwks.Keys[0])
			}

			devDir := filepath.Join(t.TempDir(), "dev")
			srv := inproc.Serve(t, map[string]string{"APP_ENV": "development", "DEV_DIR": devDir, "JWT_PRIVATE_KEY_FILE": private, "JWT_ALGORITHM": tt.alg})
			identity, stderr, err := kit.Run(t, map[string]string{"APP_ENV": "development", "DEV_DIR": devDir}, "dev-token")
			if err != nil {
				t.Fatal(kit.ExitError(err, stderr))
			}
			r := kit.Post(t, srv.URL+"/api/v1/cloudflare/request-access", kit.Bearer(strings.TrimSpace(identity)))
			kit.WantStatus(t, "office grant", r, 200)
			grant := r.Token(t)
			_, stderr, err = kit.Run(t, nil, "token", "verify", grant, "--public-key", public, "--alg", tt.alg,
				"--issuer", "gatepass-dev", "--audience", "office-router")
			if err != nil || !strings.Contains(stderr, "VALID") {
				t.Errorf("the grant does not verify with the generated public key: %v\n%s", err, stderr)
			}
		})
	}

	refused := []struct {
		name string
		args []string
		want string
	}{
		{name: "short RSA", args: []string{"--bits", "1024"}, want: "at least 2048"},
		{name: "bits for a curve", args: []string{"--alg", "ES256", "--bits", "4096"}, want: "RS256 and PS256 only"},
		{name: "HMAC", args: []string{"--alg", "HS256"}, want: "RS256, PS256, ES256, EdDSA"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "keys")
			_, stderr, err := kit.Run(t, nil, append([]string{"keys", "generate", "--out", dir}, tt.args...)...)
			if err == nil || !strings.Contains(stderr, tt.want) {
				t.Fatalf("%v: %v\n%s", tt.args, err, stderr)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("a refused generate left %s behind", dir)
			}
		})
	}
}

// TestTokenInspectTimesAndBearer: inspect prints iat, nbf and exp in RFC
// 3339 beside the numbers, and takes a token pasted with its Bearer
// scheme or whole Authorization header.
func TestTokenInspectTimesAndBearer(t *testing.T) {
	t.Parallel()
	key, _ := kit.NewRSAKey(t, 2048)
	token := kit.SignRS256(t, key, "k1", jwt.MapClaims{"sub": "user_1", "iat": 1700000000, "nbf": 1700000000, "exp": 1700003600}, nil)
	forms := []struct {
		name  string
		args  []string
		stdin string
	}{
		{name: "bare", args: []string{token}},
		{name: "Bearer, quoted", args: []string{"Bearer " + token}},
		{name: "Bearer, unquoted", args: []string{"Bearer", token}},
		{name: "header on stdin", args: []string{"-"}, stdin: "Authorization: Bearer " + token + "\n"},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(kit.Binary(t), append([]string{"token", "inspect"}, f.args...)...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			cmd.Stdin = strings.NewReader(f.stdin)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			var got struct {
				Claims map[string]any    `json:"claims"`
				Times  map[string]string `json:"times"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			want := map[string]string{"iat": "2023-11-14T22:13:20Z", "nbf": "2023-11-14T22:13:20Z", "exp": "2023-11-14T23:13:20Z"}
			for k, v := range want {
				if got.Times[k] != v {
					t.Errorf("times.%s = %q, want %q", k, got.Times[k], v)
				}
			}
			if got.Claims["exp"] != float64(1700003600) || got.Claims["sub"] != "user_1" {
				t.Errorf("claims %v", got.Claims)
			}
			if !strings.Contains(stderr.String(), "exp       1700003600 = 2023-11-14T23:13:20Z (") || !strings.Contains(stderr.String(), " ago)") {
				t.Errorf("stderr does not show exp beside its number:\n%s", stderr.String())
			}
		})
	}
}

// TestDevelopmentListensOnLoopback: `gatepass serve` in development with
// no HTTP_ADDR listens on 127.0.0.1:8080, not on every interface, however
// it is started. Port 8080 may be taken on the machine running the tests,
// so the address is read from the start-up log: the configuration line,
// then either the serving line or the listen error, both naming it.
func TestDevelopmentListensOnLoopback(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(kit.Binary(t), "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"APP_ENV=development", "DEV_DIR=" + filepath.Join(t.TempDir(), "dev"), "ADMIN_ADDR=" + kit.FreeAddr(t)}
	stderr := &kit.Buffer{}
	cmd.Stdout, cmd.Stderr = &kit.Buffer{}, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	})

	type line struct {
		Msg    string `json:"msg"`
		Addr   string `json:"addr"`
		Error  string `json:"error"`
		Config struct {
			HTTPAddr string `json:"http_addr"`
		} `json:"config"`
	}
	var configured, serving string
	exited := false
	deadline := time.Now().Add(20 * time.Second)
	for serving == "" && !exited && time.Now().Before(deadline) {
		select {
		case <-done:
			exited = true
		case <-time.After(50 * time.Millisecond):
		}
		sc := bufio.NewScanner(strings.NewReader(stderr.String()))
		for sc.Scan() {
			var l line
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue
			}
			switch l.Msg {
			case "configuration":
				configured = l.Config.HTTPAddr
			case "gatepass serving":
				serving = l.Addr
			}
		}
	}
	if configured != "127.0.0.1:8080" {
		t.Fatalf("development configured HTTP address %q, want 127.0.0.1:8080\n%s", configured, stderr.String())
	}
	switch {
	case serving != "":
		if serving != "127.0.0.1:8080" {
			t.Errorf("development serves on %s, want 127.0.0.1:8080", serving)
		}
	case exited:
		// 8080 was taken: the refusal must still name the loopback address.
		if !strings.Contains(stderr.String(), "listen on 127.0.0.1:8080") {
			t.Errorf("development exited without serving on 127.0.0.1:8080:\n%s", stderr.String())
		}
	default:
		t.Fatalf("development neither served nor exited:\n%s", stderr.String())
	}
}
