// Package natscallout runs a real nats-server (built by test/peers) in
// operator mode, configured to ask an auth callout service on every
// connect, with every key and JWT the setup needs made by the test:
//
//   - an operator, and its system account, with a user whose credentials
//     gatepass's evictor connects with (NATS_SYSTEM_CREDS_FILE);
//   - the target account, whose signing key signs the user JWTs the callout
//     service hands out (gatepass's NATS_ACCOUNT and
//     NATS_ACCOUNT_SIGNING_KEY);
//   - the callout account, whose account JWT carries the `authorization`
//     section: its auth users (the callout service's own user), the
//     accounts its answers may place users in (the target account), and,
//     when asked for, the service's curve public key (xkey) so that
//     requests are encrypted;
//   - the issuer key, a signing key of the callout account, which signs the
//     authorization responses (NATS_CALLOUT_ISSUER_KEY_FILE);
//   - the callout service's credentials (NATS_CALLOUT_CREDS_FILE), and the
//     sentinel: a bearer user JWT of the callout account without
//     permissions, that every client connects with, its identity token in
//     the connect's auth_token.
//
// Env is gatepass's configuration for that server; Connect drives a real
// client (nats.go) through the callout.
package natscallout

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/natsserver"
	"github.com/gatepass/gatepass/test/peers"
)

// Config is what the test chooses about the server.
type Config struct {
	// Encrypted has the server encrypt its callout requests to the
	// service's curve key (the callout account's xkey).
	Encrypted bool
	// OneAccount makes the callout account the account users are placed
	// in, its one signing key both the users' issuer and the responses'.
	OneAccount bool
	// DefaultSentinel applies the sentinel to clients that present no
	// credentials (the server's default_sentinel).
	DefaultSentinel bool
	// AuthTimeout is how long the server waits for the callout's answer;
	// zero is the server's default (two seconds).
	AuthTimeout time.Duration
}

// Server is one running nats-server and the keys of its setup.
type Server struct {
	*peers.Process
	// URL is the client URL, nats://127.0.0.1:port.
	URL string

	// Account is the target account's public key; AccountSigningSeed is
	// the seed of its signing key, which signs the users' JWTs.
	Account            string
	AccountSigningSeed string
	// CalloutAccount is the callout account's public key.
	CalloutAccount string
	// IssuerFile holds the seed of the callout account's signing key that
	// signs authorization responses.
	IssuerFile string
	// ServiceCreds is the credentials file of the callout service's user.
	ServiceCreds string
	// SentinelCreds is the credentials file every client connects with.
	SentinelCreds string
	// XKeyFile holds the service's curve seed (SX...); "" unless
	// Config.Encrypted.
	XKeyFile string
	// SystemCreds is the credentials file of a system account user.
	SystemCreds string

	dir    string
	port   int
	launch peers.Launch
}

// Start makes the operator, the accounts, the users and the keys, and runs
// nats-server on free loopback ports until the test ends. It returns once
// the server's monitoring endpoint answers /healthz.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	bin := peers.MustBinary(t, peers.NATS)
	dir := t.TempDir()
	s := &Server{dir: dir}

	okp := natsserver.NewKey(t, nkeys.CreateOperator)
	opub := natsserver.PublicKey(t, okp)
	operator := jwt.NewOperatorClaims(opub)
	operator.Name = "gatepass-test"
	operatorJWT := encode(t, operator, okp)

	syskp := natsserver.NewKey(t, nkeys.CreateAccount)
	sys := jwt.NewAccountClaims(natsserver.PublicKey(t, syskp))
	sys.Name = "SYS"
	sysUser := natsserver.NewKey(t, nkeys.CreateUser)
	s.SystemCreds = s.write(t, "system.creds", creds(t, encode(t, jwt.NewUserClaims(natsserver.PublicKey(t, sysUser)), syskp), sysUser))

	akp := natsserver.NewKey(t, nkeys.CreateAccount)
	s.Account = natsserver.PublicKey(t, akp)
	signing := natsserver.NewKey(t, nkeys.CreateAccount)
	s.AccountSigningSeed = seed(t, signing)
	account := jwt.NewAccountClaims(s.Account)
	account.Name = "APP"
	account.SigningKeys.Add(natsserver.PublicKey(t, signing))

	ckp, issuer, callout := natsserver.NewKey(t, nkeys.CreateAccount), natsserver.NewKey(t, nkeys.CreateAccount), (*jwt.AccountClaims)(nil)
	if cfg.OneAccount {
		ckp, issuer, callout = akp, signing, account
	} else {
		callout = jwt.NewAccountClaims(natsserver.PublicKey(t, ckp))
		callout.Name = "AUTH"
		callout.SigningKeys.Add(natsserver.PublicKey(t, issuer))
	}
	s.CalloutAccount = natsserver.PublicKey(t, ckp)
	s.IssuerFile = s.write(t, "issuer.nk", seed(t, issuer))
	service := natsserver.NewKey(t, nkeys.CreateUser)
	callout.EnableExternalAuthorization(natsserver.PublicKey(t, service))
	callout.Authorization.AllowedAccounts.Add(s.Account)
	if cfg.Encrypted {
		xkp := natsserver.NewKey(t, nkeys.CreateCurveKeys)
		callout.Authorization.XKey = natsserver.PublicKey(t, xkp)
		s.XKeyFile = s.write(t, "callout.xk", seed(t, xkp))
	}

	serviceUser := jwt.NewUserClaims(natsserver.PublicKey(t, service))
	serviceUser.Name = "gatepass-callout"
	s.ServiceCreds = s.write(t, "service.creds", creds(t, encode(t, serviceUser, ckp), service))
	sentinel := Sentinel(t, ckp)
	s.SentinelCreds = s.write(t, "sentinel.creds", sentinel)

	preload := map[string]string{
		natsserver.PublicKey(t, syskp): encode(t, sys, okp),
		s.Account:                      encode(t, account, okp),
		s.CalloutAccount:               encode(t, callout, okp),
	}
	extra := ""
	if cfg.AuthTimeout > 0 {
		extra = fmt.Sprintf("authorization { timeout: %g }\n", cfg.AuthTimeout.Seconds())
	}
	if cfg.DefaultSentinel {
		userJWT, err := jwt.ParseDecoratedJWT([]byte(sentinel))
		if err != nil {
			t.Fatal(err)
		}
		extra += fmt.Sprintf("default_sentinel: %q\n", userJWT)
	}
	s.launch = peers.Launch{
		Binary: bin,
		Dir:    dir,
		Args: func(httpPort int) ([]string, error) {
			if s.port == 0 {
				port, err := peers.FreePort()
				if err != nil {
					return nil, err
				}
				s.URL = fmt.Sprintf("nats://127.0.0.1:%d", port)
				s.port = port
			}
			conf := fmt.Sprintf("listen: \"127.0.0.1:%d\"\nhttp: \"127.0.0.1:%d\"\noperator: %q\nsystem_account: %q\nresolver: MEMORY\nresolver_preload: {\n",
				s.port, httpPort, operatorJWT, natsserver.PublicKey(t, syskp))
			for k, v := range preload {
				conf += fmt.Sprintf("  %s: %q\n", k, v)
			}
			conf += "}\n" + extra
			path := filepath.Join(dir, "nats-server.conf")
			if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
				return nil, err
			}
			return []string{"-c", path}, nil
		},
		ReadyPath: "/healthz",
	}
	s.Process = peers.Start(t, s.launch)
	return s
}

// Restart stops the server and starts it again on the same client port,
// as a server restarted for an upgrade: its clients lose their
// connections and must reconnect.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Process.Stop()
	s.Process = peers.Start(t, s.launch)
}

// RunConfig runs nats-server on conf, a configuration written for the
// development addresses (clients on 127.0.0.1:4222, WebSocket on
// 127.0.0.1:4223), moved to free loopback ports, until the test ends. It
// returns the server and its client URL.
func RunConfig(t testing.TB, conf string) (*peers.Process, string) {
	t.Helper()
	bin := peers.MustBinary(t, peers.NATS)
	dir := t.TempDir()
	var url string
	p := peers.Start(t, peers.Launch{
		Binary: bin,
		Dir:    dir,
		Args: func(httpPort int) ([]string, error) {
			client, err := peers.FreePort()
			if err != nil {
				return nil, err
			}
			ws, err := peers.FreePort()
			if err != nil {
				return nil, err
			}
			url = fmt.Sprintf("nats://127.0.0.1:%d", client)
			moved := strings.NewReplacer(`"127.0.0.1:4222"`, fmt.Sprintf(`"127.0.0.1:%d"`, client), `"127.0.0.1:4223"`, fmt.Sprintf(`"127.0.0.1:%d"`, ws)).Replace(conf)
			moved += fmt.Sprintf("\nhttp: \"127.0.0.1:%d\"\n", httpPort)
			path := filepath.Join(dir, "nats-server.conf")
			if err := os.WriteFile(path, []byte(moved), 0o600); err != nil {
				return nil, err
			}
			return []string{"-c", path}, nil
		},
		ReadyPath: "/healthz",
	})
	return p, url
}

// Sentinel is the credentials of the sentinel user of the callout account
// whose key is account: a bearer user JWT (the server does not ask for
// the user key's signature) that may publish and subscribe to nothing;
// the server asks the callout about every client that presents it.
func Sentinel(t testing.TB, account nkeys.KeyPair) string {
	t.Helper()
	ukp := natsserver.NewKey(t, nkeys.CreateUser)
	u := jwt.NewUserClaims(natsserver.PublicKey(t, ukp))
	u.Name = "sentinel"
	u.BearerToken = true
	u.Pub.Deny.Add(">")
	u.Sub.Deny.Add(">")
	return creds(t, encode(t, u, account), ukp)
}

// Env is gatepass's configuration for this server: the NATS grant on its
// target account, and the auth callout with the service's credentials,
// the issuer key and, for an encrypted callout, the curve key.
func (s *Server) Env() map[string]string {
	env := map[string]string{
		"NATS_URL":                     s.URL,
		"NATS_ACCOUNT":                 s.Account,
		"NATS_ACCOUNT_SIGNING_KEY":     s.AccountSigningSeed,
		"NATS_AUTH_CALLOUT":            "true",
		"NATS_CALLOUT_URL":             s.URL,
		"NATS_CALLOUT_CREDS_FILE":      s.ServiceCreds,
		"NATS_CALLOUT_ISSUER_KEY_FILE": s.IssuerFile,
	}
	if s.XKeyFile != "" {
		env["NATS_CALLOUT_XKEY_FILE"] = s.XKeyFile
	}
	return env
}

// Connect connects a client with the sentinel credentials and token as
// the connect's auth_token, without reconnecting: the error is the
// server's refusal. The connection is closed when the test ends.
func (s *Server) Connect(t testing.TB, token string, opts ...nats.Option) (*nats.Conn, error) {
	t.Helper()
	opts = append([]nats.Option{
		nats.UserCredentials(s.SentinelCreds), nats.Token(token), nats.NoReconnect(),
		nats.Timeout(5 * time.Second), nats.Name("natscallout-test"),
	}, opts...)
	nc, err := nats.Connect(s.URL, opts...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(nc.Close)
	return nc, nil
}

// ConnectWhenServed is Connect, retried until the callout service answers
// (a connect the server times out waiting for it is refused as any other)
// or timeout passes: the first connect after gatepass started.
func (s *Server) ConnectWhenServed(t testing.TB, token string, timeout time.Duration, opts ...nats.Option) *nats.Conn {
	t.Helper()
	var (
		nc   *nats.Conn
		last error
	)
	if !kit.Eventually(timeout, 50*time.Millisecond, func() bool {
		nc, last = s.Connect(t, token, opts...)
		return last == nil
	}) {
		t.Fatalf("connect through the callout: %v\nserver log:\n%s", last, s.Logs())
	}
	return nc
}

// UserSeed is a fresh user seed (SU...): a key of the wrong type where an
// account or curve seed is expected.
func UserSeed(t testing.TB) string {
	t.Helper()
	return seed(t, natsserver.NewKey(t, nkeys.CreateUser))
}

// WriteFile writes content to a file of its own in a temporary folder and
// returns its path.
func WriteFile(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (s *Server) write(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(s.dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func seed(t testing.TB, kp nkeys.KeyPair) string {
	t.Helper()
	s, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

func encode(t testing.TB, c jwt.Claims, kp nkeys.KeyPair) string {
	t.Helper()
	tok, err := c.Encode(kp)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func creds(t testing.TB, userJWT string, user nkeys.KeyPair) string {
	t.Helper()
	b, err := jwt.FormatUserConfig(userJWT, []byte(seed(t, user)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
