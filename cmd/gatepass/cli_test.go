package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/gatepass/gatepass/adapters/gosigner"
	"github.com/gatepass/gatepass/bootstrap"
	"github.com/gatepass/gatepass/foundation/jwtinspect"
	"github.com/gatepass/gatepass/foundation/pemkey"
)

func TestParseTakesFlagsAnywhere(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		issuer     string
		noAudience bool
		positional []string
		wantHelp   bool
		wantErr    bool
	}{
		{name: "flags first", args: []string{"--issuer", "I", "TOKEN"}, issuer: "I", positional: []string{"TOKEN"}},
		{name: "flags after", args: []string{"TOKEN", "--issuer", "I", "--no-audience"}, issuer: "I", noAudience: true, positional: []string{"TOKEN"}},
		{name: "flags between", args: []string{"Bearer", "-issuer=I", "TOKEN"}, issuer: "I", positional: []string{"Bearer", "TOKEN"}},
		{name: "stdin dash stays positional", args: []string{"-", "--issuer", "I"}, issuer: "I", positional: []string{"-"}},
		{name: "a bool flag takes no value", args: []string{"--no-audience", "TOKEN"}, noAudience: true, positional: []string{"TOKEN"}},
		{name: "double dash ends flags", args: []string{"--issuer", "I", "--", "--no-audience"}, issuer: "I", positional: []string{"--no-audience"}},
		{name: "a flag's value may look like a flag", args: []string{"TOKEN", "--issuer", "-h"}, issuer: "-h", positional: []string{"TOKEN"}},
		{name: "help after a positional", args: []string{"TOKEN", "--help"}, wantHelp: true},
		{name: "short help", args: []string{"-h"}, wantHelp: true},
		{name: "unknown flag after a positional", args: []string{"TOKEN", "--nope"}, wantErr: true},
		{name: "missing value", args: []string{"TOKEN", "--issuer"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFlags("token verify", "Usage:\n  gatepass token verify TOKEN\n")
			issuer := c.String("issuer", "", "`issuer`")
			noAudience := c.Bool("no-audience", false, "no aud")
			var out bytes.Buffer
			err := c.parse(tt.args, &out)
			switch {
			case tt.wantHelp:
				if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "--issuer ISSUER") || !strings.Contains(out.String(), "--no-audience") {
					t.Fatalf("help: %v\n%s", err, out.String())
				}
				return
			case tt.wantErr:
				if err == nil || errors.Is(err, flag.ErrHelp) || !strings.Contains(err.Error(), "gatepass token verify --help") {
					t.Fatalf("want a usage error, got %v", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if *issuer != tt.issuer || *noAudience != tt.noAudience || !reflect.DeepEqual(c.Args(), tt.positional) {
				t.Errorf("issuer %q no-audience %v args %q; want %q %v %q", *issuer, *noAudience, c.Args(), tt.issuer, tt.noAudience, tt.positional)
			}
		})
	}
}

func TestTokenArgTakesAPastedHeader(t *testing.T) {
	const tok = "aaa.bbb.ccc"
	tests := []struct {
		name  string
		args  []string
		stdin string
	}{
		{name: "bare", args: []string{tok}},
		{name: "Bearer, quoted", args: []string{"Bearer " + tok}},
		{name: "bearer, lower case, extra space", args: []string{"  bearer   " + tok + "\n"}},
		{name: "Bearer, unquoted", args: []string{"Bearer", tok}},
		{name: "whole header", args: []string{"Authorization: Bearer " + tok}},
		{name: "stdin", args: []string{"-"}, stdin: tok + "\n"},
		{name: "stdin with Bearer", args: []string{"-"}, stdin: "Authorization: Bearer " + tok + "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tokenArg(tt.args, strings.NewReader(tt.stdin))
			if err != nil || got != tok {
				t.Fatalf("tokenArg = %q, %v; want %q", got, err, tok)
			}
		})
	}
	if _, err := tokenArg([]string{"a", "b"}, strings.NewReader("")); err == nil {
		t.Error("two tokens were accepted")
	}
}

func TestPrintPartsShowsTimesInRFC3339(t *testing.T) {
	p := jwtinspect.Parts{Header: map[string]any{"alg": "RS256"}, Claims: map[string]any{
		"sub": "u", "iat": json.Number("1700000000"), "nbf": json.Number("1700000000.5"),
		"exp": json.Number("1700003600"), "auth_time": "yesterday",
	}}
	now := time.Unix(1700000600, 0)
	var out, notes bytes.Buffer
	if err := printParts(&out, &notes, p, now); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Claims map[string]any
		Times  map[string]string
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"iat": "2023-11-14T22:13:20Z", "nbf": "2023-11-14T22:13:20.5Z", "exp": "2023-11-14T23:13:20Z", "auth_time": "not a NumericDate"}
	if !reflect.DeepEqual(got.Times, want) {
		t.Errorf("times %v, want %v", got.Times, want)
	}
	if got.Claims["exp"] != float64(1700003600) {
		t.Errorf("the claim itself changed: %v", got.Claims["exp"])
	}
	for _, line := range []string{"iat       1700000000 = 2023-11-14T22:13:20Z (10m0s ago)", "exp       1700003600 = 2023-11-14T23:13:20Z (in 50m0s)"} {
		if !strings.Contains(notes.String(), line) {
			t.Errorf("notes lack %q:\n%s", line, notes.String())
		}
	}
	for _, v := range []any{json.Number("1e300"), json.Number("-1e300"), "1700000000", json.Number("NaN")} {
		if _, ok := numericDate(v); ok {
			t.Errorf("numericDate(%v) accepted", v)
		}
	}
}

func TestCurrentBuild(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "github.com/gatepass/gatepass", Version: "v0.0.0-20260101000000-abcdef123456"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abcdef1234567890"}, {Key: "vcs.time", Value: "2026-01-01T00:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}

	got := currentBuild(info)
	want := build{Module: "github.com/gatepass/gatepass", Version: "v0.0.0-20260101000000-abcdef123456", Commit: "abcdef1234567890 (modified)",
		Committed: "2026-01-01T00:00:00Z", GoVersion: "go1.99.1", Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if got != want {
		t.Errorf("from the build information:\n got %+v\nwant %+v", got, want)
	}

	version, commit, date = "v1.2.3", "0123abc", "2026-02-03T04:05:06Z"
	t.Cleanup(func() { version, commit, date = "", "", "" })
	got = currentBuild(info)
	if got.Version != "v1.2.3" || got.Commit != "0123abc" || got.Date != "2026-02-03T04:05:06Z" || got.GoVersion != "go1.99.1" {
		t.Errorf("-ldflags values not preferred: %+v", got)
	}
	var out bytes.Buffer
	if err := got.write(&out); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"gatepass v1.2.3\n", "  commit     0123abc\n", "  built      2026-02-03T04:05:06Z\n", "  go         go1.99.1\n", "  module     github.com/gatepass/gatepass\n"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("version output lacks %q:\n%s", line, out.String())
		}
	}

	if b := currentBuild(nil); b.GoVersion != runtime.Version() || b.Commit != "0123abc" {
		t.Errorf("without build information: %+v", b)
	}
}

// TestHelpEveryCommand: --help and -h succeed on every command and list
// every flag the command declares.
func TestHelpEveryCommand(t *testing.T) {
	commands := map[string][]string{
		"":               {"--version", "--help"},
		"serve":          {"--help"},
		"version":        {"--help"},
		"dev-token":      {"--user", "--org", "--role", "--ttl"},
		"keys":           {"generate", "public", "jwks"},
		"keys generate":  {"--out", "--alg", "--bits"},
		"keys public":    {"--help"},
		"keys jwks":      {"--help"},
		"token":          {"inspect", "verify"},
		"token inspect":  {"--help"},
		"token verify":   {"--jwks", "--public-key", "--secret-file", "--issuer", "--audience", "--no-audience", "--alg", "--leeway", "--org-claim", "--role-claim", "--nats-account"},
		"policy":         {"default", "check"},
		"policy default": {"--help"},
		"policy check":   {"--help"},
	}
	for cmd, flags := range commands {
		for _, h := range []string{"--help", "-h"} {
			args := append(strings.Fields(cmd), h)
			var out, errOut bytes.Buffer
			err := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
			if err != nil && !errors.Is(err, flag.ErrHelp) {
				t.Errorf("gatepass %s: %v", strings.Join(args, " "), err)
				continue
			}
			if !strings.HasPrefix(out.String(), "Usage:") && !strings.Contains(out.String(), "\nUsage:") {
				t.Errorf("gatepass %s printed no usage:\n%s", strings.Join(args, " "), out.String())
			}
			for _, f := range flags {
				if !strings.Contains(out.String(), f) {
					t.Errorf("gatepass %s does not mention %s:\n%s", strings.Join(args, " "), f, out.String())
				}
			}
			if errOut.Len() != 0 {
				t.Errorf("gatepass %s wrote to stderr: %s", strings.Join(args, " "), errOut.String())
			}
		}
	}
}

// TestListenerDefaults: development listens on loopback when HTTP_ADDR is
// unset, whoever starts it; production keeps :8080; a set HTTP_ADDR wins.
func TestListenerDefaults(t *testing.T) {
	key, err := gosigner.Generate("RS256")
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pemkey.EncodePKCS8(key)
	if err != nil {
		t.Fatal(err)
	}
	production := map[string]string{
		"APP_ENV": "production", "JWT_ISSUER": "https://gatepass.test", "JWT_AUDIENCE": "office-router",
		"JWT_PRIVATE_KEY": string(keyPEM), "WEBSOCKET_BASE_URL": "wss://office.test/ws",
		"SUPABASE_JWT_SECRET": "a-supabase-secret-of-more-than-32-bytes!", "AUTH_JWKS_URL": "https://idp.test/jwks",
		"AUTH_ISSUER": "https://idp.test", "AUTH_AUDIENCE": "client_1",
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "development", env: map[string]string{"APP_ENV": "development"}, want: bootstrap.DevHTTPAddr},
		{name: "development, empty", env: map[string]string{"APP_ENV": "development", "HTTP_ADDR": ""}, want: "127.0.0.1:8080"},
		{name: "development, set", env: map[string]string{"APP_ENV": "development", "HTTP_ADDR": "127.0.0.1:9999"}, want: "127.0.0.1:9999"},
		{name: "production", env: production, want: ":8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["DEV_DIR"] = t.TempDir()
			if err := bootstrap.PrepareDevelopment(tt.env); err != nil {
				t.Fatal(err)
			}
			cfg, err := bootstrap.Load(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.HTTP.Addr != tt.want {
				t.Errorf("HTTP address %q, want %q", cfg.HTTP.Addr, tt.want)
			}
		})
	}
}
