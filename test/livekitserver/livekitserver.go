// Package livekitserver runs a real LiveKit server (livekit-server, built
// by test/peers) for tests: on a free loopback port, with a generated
// configuration and API key in a temporary folder, stopped when the test
// ends. Join opens the /rtc signal WebSocket with an access token and
// returns what the server's JoinResponse says about the room, the
// participant and its permissions, so tests can prove that a grant's
// claims mean what they should to the real server.
package livekitserver

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/gatepass/gatepass/test/peers"
)

// minSecretLen is the shortest API secret livekit-server accepts without
// complaint.
const minSecretLen = 32

// Config is what the test chooses about the server. Zero fields get fresh
// random values.
type Config struct {
	// APIKey is the key id the tokens carry as iss.
	APIKey string
	// APISecret signs the tokens (HS256); at least 32 bytes.
	APISecret string
	// WebhookURLs receive the server's webhook events, signed with the
	// API key; none when empty.
	WebhookURLs []string
}

// Server is one running livekit-server.
type Server struct {
	*peers.Process
	// APIKey and APISecret are the one key pair the server knows.
	APIKey    string
	APISecret string
}

// Start runs livekit-server (see peers.LiveKit for where the binary comes
// from) and returns once it answers its health check. It binds 127.0.0.1
// only: the signal and API port is chosen free, ICE over TCP is off, the
// node's advertised address and ICE candidates are 127.0.0.1, and no STUN
// or TURN server is used, so nothing leaves the machine.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = "API" + randomString(t, 9)
	}
	if cfg.APISecret == "" {
		cfg.APISecret = randomString(t, 32)
	}
	if len(cfg.APISecret) < minSecretLen {
		t.Fatalf("livekitserver: the API secret has %d bytes, want at least %d", len(cfg.APISecret), minSecretLen)
	}
	bin := peers.MustBinary(t, peers.LiveKit)
	dir := t.TempDir()
	p := peers.Start(t, peers.Launch{
		Binary: bin,
		Dir:    dir,
		Args: func(port int) ([]string, error) {
			path := filepath.Join(dir, "livekit.yaml")
			if err := writeConfig(path, port, cfg); err != nil {
				return nil, err
			}
			return []string{"--config", path}, nil
		},
		// livekit-server answers 200 on / once its node has reported stats.
		ReadyPath: "/",
	})
	return &Server{Process: p, APIKey: cfg.APIKey, APISecret: cfg.APISecret}
}

// URL is the server's WebSocket base URL, as clients are given it.
func (s *Server) URL() string { return "ws://" + s.Addr() }

// HTTPURL is the server's HTTP base URL (health check, Twirp API).
func (s *Server) HTTPURL() string { return "http://" + s.Addr() }

// config is the part of livekit-server's YAML configuration set here.
type config struct {
	Port          int               `yaml:"port"`
	BindAddresses []string          `yaml:"bind_addresses"`
	RTC           rtcConfig         `yaml:"rtc"`
	Keys          map[string]string `yaml:"keys"`
	Logging       loggingConfig     `yaml:"logging"`
	Webhook       *webhookConfig    `yaml:"webhook,omitempty"`
}

// webhookConfig is livekit-server's webhook block: where it posts its
// events, signed with which of its keys.
type webhookConfig struct {
	APIKey string   `yaml:"api_key"`
	URLs   []string `yaml:"urls"`
}

type rtcConfig struct {
	TCPPort                 int       `yaml:"tcp_port"`
	NodeIP                  string    `yaml:"node_ip"`
	UseExternalIP           bool      `yaml:"use_external_ip"`
	EnableLoopbackCandidate bool      `yaml:"enable_loopback_candidate"`
	IPs                     ipsConfig `yaml:"ips"`
}

type ipsConfig struct {
	Includes []string `yaml:"includes"`
}

type loggingConfig struct {
	Level string `yaml:"level"`
	JSON  bool   `yaml:"json"`
}

func writeConfig(path string, port int, cfg Config) error {
	var hook *webhookConfig
	if len(cfg.WebhookURLs) > 0 {
		hook = &webhookConfig{APIKey: cfg.APIKey, URLs: cfg.WebhookURLs}
	}
	b, err := yaml.Marshal(config{
		Webhook:       hook,
		Port:          port,
		BindAddresses: []string{"127.0.0.1"},
		RTC: rtcConfig{
			// 0 turns the ICE/TCP listener (default 7881 on every
			// interface) off.
			TCPPort: 0,
			// A node IP given here also keeps the server from asking
			// public STUN servers for its address.
			NodeIP:                  "127.0.0.1",
			UseExternalIP:           false,
			EnableLoopbackCandidate: true,
			IPs:                     ipsConfig{Includes: []string{"127.0.0.1/32"}},
		},
		Keys:    map[string]string{cfg.APIKey: cfg.APISecret},
		Logging: loggingConfig{Level: "info", JSON: true},
	})
	if err != nil {
		return fmt.Errorf("livekit config: %w", err)
	}
	// The file holds the API secret.
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("livekit config: %w", err)
	}
	return nil
}

func randomString(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// ErrRefused is matched (errors.Is) by every *RefusedError.
var ErrRefused = errors.New("livekit refused the connection")
