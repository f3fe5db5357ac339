package natscallout_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/bootstrap"
	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/natscallout"
)

// What a newcomer runs: NATS_AUTH_CALLOUT=true in development writes a
// callout-ready server configuration and the sentinel credentials; the
// real server on that configuration (moved to free ports) asks gatepass,
// and a client with the sentinel and a development token talks on its
// organization's subjects. The banner says how.
func TestDevelopmentCalloutIsReadyToRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"APP_ENV": "development", "DEV_DIR": dir, "NATS_AUTH_CALLOUT": "true"}
	if err := bootstrap.PrepareDevelopment(env); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(dir, bootstrap.NATSCalloutDevConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	_, url := natscallout.RunConfig(t, string(conf))

	cfg, err := bootstrap.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	banner := cfg.TransportBanner(bootstrap.BannerAfterExchange, bootstrap.Welcome{Base: "http://127.0.0.1:8080", Token: "TOKEN", DevDir: dir})
	for _, want := range []string{
		"nats-server -c " + filepath.Join(dir, bootstrap.NATSCalloutDevConfigFile),
		"--creds " + filepath.Join(dir, bootstrap.NATSSentinelDevFile) + " --token TOKEN",
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner lacks %q:\n%s", want, banner)
		}
	}

	inproc.Serve(t, kit.With(env, map[string]string{"NATS_CALLOUT_URL": url}))
	m, err := devidentity.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	token, err := devidentity.Mint(m.IdentityKey, devidentity.Identity{UserID: "user_dev_01", OrgID: "org_dev_01", Role: "member"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sentinel := filepath.Join(dir, bootstrap.NATSSentinelDevFile)
	connect := func() (*nats.Conn, error) {
		return nats.Connect(url, nats.UserCredentials(sentinel), nats.Token(token), nats.NoReconnect())
	}
	var nc *nats.Conn
	if !kit.Eventually(20*time.Second, 50*time.Millisecond, func() bool {
		nc, err = connect()
		return err == nil
	}) {
		t.Fatalf("connect with the development sentinel: %v", err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("org.org_dev_01.chat")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("org.org_dev_01.chat", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if msg, err := sub.NextMsg(10 * time.Second); err != nil || string(msg.Data) != "hello" {
		t.Fatalf("received %v, %v; want hello", msg, err)
	}
}
