// Package centrifugoserver runs a real Centrifugo v6 server (built by
// test/peers) for tests: on a free loopback port, with a generated JSON
// configuration in a temporary folder, stopped when the test ends. The
// server verifies connection and subscription tokens against a JWKS the
// test serves, with a fixed issuer and audience, and has channel
// namespaces whose channels can only be subscribed to with a subscription
// token. Connect and Client.Subscribe drive a real client (centrifuge-go)
// against it.
package centrifugoserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatepass/gatepass/test/peers"
)

// Config is what the test chooses about the server.
type Config struct {
	// JWKSURL is where the server fetches the keys that verify connection
	// and subscription tokens (client.token.jwks_public_endpoint). It must
	// be on loopback. Required.
	JWKSURL string
	// Issuer and Audience are the iss and aud every token must carry
	// (client.token.issuer, client.token.audience). Required.
	Issuer   string
	Audience string
	// Namespaces are the channel namespaces; none means just "org".
	// Subscribing to a channel in them takes a subscription token.
	Namespaces []string
}

// Server is one running Centrifugo.
type Server struct {
	*peers.Process
	// APIKey authorizes calls to the server API (Publish).
	APIKey string
	cfg    Config
}

// Start runs centrifugo (see peers.Centrifugo for where the binary comes
// from) and returns once GET /health answers 200. It binds 127.0.0.1 only,
// sends no usage statistics, and turns off every transport but the
// WebSocket one.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.JWKSURL == "" || cfg.Issuer == "" || cfg.Audience == "" {
		t.Fatal("centrifugoserver: Config needs JWKSURL, Issuer and Audience")
	}
	if len(cfg.Namespaces) == 0 {
		cfg.Namespaces = []string{"org"}
	}
	apiKey := randomString(t)
	bin := peers.MustBinary(t, peers.Centrifugo)
	dir := t.TempDir()
	p := peers.Start(t, peers.Launch{
		Binary: bin,
		Dir:    dir,
		Args: func(port int) ([]string, error) {
			path := filepath.Join(dir, "config.json")
			if err := writeConfig(path, port, apiKey, cfg); err != nil {
				return nil, err
			}
			return []string{"--config", path}, nil
		},
		ReadyPath: "/health",
	})
	return &Server{Process: p, APIKey: apiKey, cfg: cfg}
}

// WebSocketURL is the client WebSocket endpoint, as clients are given it.
func (s *Server) WebSocketURL() string { return "ws://" + s.Addr() + "/connection/websocket" }

// HTTPURL is the server's HTTP base URL (health, server API).
func (s *Server) HTTPURL() string { return "http://" + s.Addr() }

// Config is the configuration the server was started with.
func (s *Server) Config() Config { return s.cfg }

// Publish sends data (marshalled to JSON) to channel through the server
// API, as a backend would; subscribers of the channel receive it.
func (s *Server) Publish(ctx context.Context, channel string, data any) error {
	body, err := json.Marshal(map[string]any{"channel": channel, "data": data})
	if err != nil {
		return fmt.Errorf("centrifugo publish: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.HTTPURL()+"/api/publish", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("centrifugo publish: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", s.APIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("centrifugo publish: %w", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("centrifugo publish: %s: %s", res.Status, bytes.TrimSpace(b))
	}
	// The API answers 200 with an error object when the command failed.
	var reply struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &reply); err != nil {
		return fmt.Errorf("centrifugo publish: decode reply: %w", err)
	}
	if reply.Error != nil {
		return fmt.Errorf("centrifugo publish: error %d: %s", reply.Error.Code, reply.Error.Message)
	}
	return nil
}

// writeConfig writes Centrifugo v6's JSON configuration.
func writeConfig(path string, port int, apiKey string, cfg Config) error {
	namespaces := make([]map[string]any, 0, len(cfg.Namespaces))
	for _, name := range cfg.Namespaces {
		namespaces = append(namespaces, map[string]any{
			"name": name,
			// Spelled out, though they are the defaults: no subscription
			// without a token, no publishing or presence from clients.
			"allow_subscribe_for_client":    false,
			"allow_subscribe_for_anonymous": false,
			"allow_publish_for_client":      false,
			"allow_presence_for_client":     false,
			"allow_history_for_client":      false,
		})
	}
	doc := map[string]any{
		"http_server": map[string]any{"address": "127.0.0.1", "port": port},
		"log":         map[string]any{"level": "info"},
		"client": map[string]any{
			"token": map[string]any{
				"jwks_public_endpoint": cfg.JWKSURL,
				"issuer":               cfg.Issuer,
				"audience":             cfg.Audience,
			},
			"allow_anonymous_connect_without_token": false,
			"disallow_anonymous_connection_tokens":  true,
		},
		"channel":     map[string]any{"namespaces": namespaces},
		"http_api":    map[string]any{"key": apiKey},
		"health":      map[string]any{"enabled": true},
		"usage_stats": map[string]any{"disabled": true},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("centrifugo config: %w", err)
	}
	// The file holds the API key.
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("centrifugo config: %w", err)
	}
	return nil
}

func randomString(t testing.TB) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
