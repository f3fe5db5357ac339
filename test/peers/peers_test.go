package peers_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/test/peers"
)

func TestBinary(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "server")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A version no cache holds.
	p := peers.Peer{Name: "peer-test", Package: "example.test/peer", Version: "v0.0.0-never", Env: "PEERS_TEST_BIN"}

	t.Run("variable names an executable", func(t *testing.T) {
		t.Setenv(p.Env, exe)
		got, err := p.Binary()
		if err != nil || got != exe {
			t.Fatalf("Binary() = %q, %v; want %q", got, err, exe)
		}
	})
	t.Run("variable names a plain file", func(t *testing.T) {
		t.Setenv(p.Env, plain)
		if _, err := p.Binary(); err == nil || !strings.Contains(err.Error(), p.Env) {
			t.Fatalf("Binary() error = %v, want one naming %s", err, p.Env)
		}
	})
	t.Run("not built", func(t *testing.T) {
		t.Setenv(p.Env, "")
		_, err := p.Binary()
		if !errors.Is(err, peers.ErrMissing) {
			t.Fatalf("Binary() error = %v, want ErrMissing", err)
		}
		for _, want := range []string{p.CachePath(), "scripts/deps.sh peers", p.Env} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
}

func TestCachePath(t *testing.T) {
	got := peers.LiveKit.CachePath()
	if filepath.Base(got) != "livekit-server-v1.13.5" || filepath.Base(filepath.Dir(got)) != "peers" {
		t.Errorf("CachePath() = %q, want .../.cache/peers/livekit-server-v1.13.5", got)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(got), "..", "..", "go.mod")); err != nil {
		t.Errorf("the cache is not at the repository root: %v", err)
	}
}
