package bootstrap_test

import (
	"path/filepath"
	"testing"

	"github.com/gatepass/gatepass/bootstrap"
)

// TestTransportBanner pins what the development banner prints for the
// transports, each at its place: the lines come from the transports'
// settings blocks, and a disabled transport prints none.
func TestTransportBanner(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"APP_ENV": "development", "DEV_DIR": dir}
	if err := bootstrap.PrepareDevelopment(env); err != nil {
		t.Fatal(err)
	}
	cfg, err := bootstrap.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	w := bootstrap.Welcome{Base: "http://127.0.0.1:8080", Token: "TOKEN", DevDir: dir}
	secret := filepath.Join(dir, "livekit-secret")
	officeRouter := "Office-router grant. Start the Worker, get a grant, verify it:\n" +
		"  (cd deploy/office-router && npm ci && npx wrangler dev --ip 127.0.0.1 --port 8787 --var CONN_JWT_ISSUER:gatepass-dev --var CONN_JWT_AUDIENCE:office-router --var CONN_JWKS_URL:http://127.0.0.1:8080/.well-known/jwks.json)\n" +
		"  curl -sS -X POST http://127.0.0.1:8080/api/v1/cloudflare/request-access -H 'Authorization: Bearer TOKEN'\n" +
		"  bin/gatepass token verify --jwks http://127.0.0.1:8080/.well-known/jwks.json --issuer gatepass-dev --audience office-router TOKEN\n\n"
	realtime := "Supabase Realtime token. Get a token, verify it:\n" +
		"  curl -sS -X POST http://127.0.0.1:8080/api/v1/realtime/token -H 'Authorization: Bearer TOKEN'\n" +
		"  bin/gatepass token verify --secret-file " + filepath.Join(dir, "supabase-secret") + " --issuer qubital-backend --audience authenticated TOKEN\n\n"
	withGrants := officeRouter + realtime + "LiveKit token (ws://127.0.0.1:7880). Start the server, get a token, verify it:\n" +
		"  livekit-server --dev --bind 127.0.0.1 --keys \"devkey: $(cat " + secret + ")\"\n" +
		"  curl -sS -X POST http://127.0.0.1:8080/api/v1/livekit/token -H 'Authorization: Bearer TOKEN' -H 'Content-Type: application/json' -d '{\"room_name\":\"standup\"}'\n" +
		"  bin/gatepass token verify --secret-file " + secret + " --issuer devkey --no-audience TOKEN\n\n"
	afterExchange := "Centrifugo connection and subscription tokens (ws://127.0.0.1:8000/connection/websocket). Start the server, get tokens, verify them:\n" +
		"  centrifugo --config " + filepath.Join(dir, "centrifugo.json") + "\n" +
		"  curl -sS -X POST http://127.0.0.1:8080/api/v1/centrifugo/connection-token -H 'Authorization: Bearer TOKEN'\n" +
		"  curl -sS -X POST http://127.0.0.1:8080/api/v1/centrifugo/subscription-token -H 'Authorization: Bearer TOKEN' -H 'Content-Type: application/json' -d '{\"channel\":\"org:org_dev_01\"}'\n" +
		"  bin/gatepass token verify --jwks http://127.0.0.1:8080/.well-known/jwks.json --issuer gatepass-dev --audience centrifugo TOKEN\n\n"
	if cfg.NATS() == nil {
		t.Fatal("development leaves NATS off")
	}
	natsLines := "NATS user JWT (nats://127.0.0.1:4222,ws://127.0.0.1:4223). Start the server, get a user JWT, verify it:\n" +
		"  nats-server -c " + filepath.Join(dir, "nats-server.conf") + "\n" +
		"  curl -sS -X POST http://127.0.0.1:8080/api/v1/nats/token -H 'Authorization: Bearer TOKEN'\n" +
		"  bin/gatepass token verify --nats-account " + cfg.NATS().Account + " TOKEN\n\n"
	afterExchange += natsLines
	if got := cfg.TransportBanner(bootstrap.BannerWithGrants, w); got != withGrants {
		t.Errorf("beside the grants:\n%s\nwant\n%s", got, withGrants)
	}
	if got := cfg.TransportBanner(bootstrap.BannerAfterExchange, w); got != afterExchange {
		t.Errorf("after the token exchange:\n%s\nwant\n%s", got, afterExchange)
	}

	// PS256 is one Centrifugo cannot verify: development leaves it off.
	env["JWT_ALGORITHM"] = "PS256"
	if err := bootstrap.PrepareDevelopment(env); err != nil {
		t.Fatal(err)
	}
	if cfg, err = bootstrap.Load(env); err != nil {
		t.Fatal(err)
	}
	if got := cfg.TransportBanner(bootstrap.BannerAfterExchange, w); got != natsLines {
		t.Errorf("a disabled transport prints its lines:\n%s\nwant only\n%s", got, natsLines)
	}
}
