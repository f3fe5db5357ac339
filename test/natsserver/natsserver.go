// Package natsserver runs a real nats-server (built by test/peers) for
// tests, in operator mode: on free loopback ports, with a configuration in
// a temporary folder, stopped when the test ends. The test's operator signs
// one account, preloaded into a memory resolver, whose JWT lists a signing
// key the test hands to gatepass (NATS_ACCOUNT_SIGNING_KEY), and a system
// account with a user whose credentials file the test hands to gatepass
// (NATS_SYSTEM_CREDS_FILE). Connect drives a real client (nats.go) against
// it.
package natsserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/gatepass/gatepass/test/peers"
)

// Config is what the test chooses about the server.
type Config struct {
	// DisallowBearer makes the account refuse bearer user JWTs
	// (disallow_bearer): only a JWT for a key the client holds connects.
	DisallowBearer bool
	// WebSocket adds a WebSocket listener without TLS on a free loopback
	// port (WebSocketURL).
	WebSocket bool
}

// Server is one running nats-server.
type Server struct {
	*peers.Process
	// ClientPort is the port of the NATS protocol listener; the embedded
	// Process's Port is the monitoring listener's.
	ClientPort int
	// WebSocketPort is the WebSocket listener's port; 0 without one.
	WebSocketPort int
	// Operator, Account and SigningKey are the keys the test made; the
	// account's JWT lists SigningKey as a signing key.
	Operator, Account, SigningKey nkeys.KeyPair
	// AccountPublic is the account's public key (NATS_ACCOUNT).
	AccountPublic string
	// SigningSeed is SigningKey's seed (NATS_ACCOUNT_SIGNING_KEY).
	SigningSeed string
	// SystemCreds is the path of a system account user's credentials file
	// (NATS_SYSTEM_CREDS_FILE).
	SystemCreds string
}

// Start runs nats-server (see peers.NATS for where the binary comes from)
// and returns once its monitoring endpoint GET /healthz answers 200.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s := &Server{Operator: NewKey(t, nkeys.CreateOperator), Account: NewKey(t, nkeys.CreateAccount), SigningKey: NewKey(t, nkeys.CreateAccount)}
	s.AccountPublic = PublicKey(t, s.Account)
	seed, err := s.SigningKey.Seed()
	if err != nil {
		t.Fatal(err)
	}
	s.SigningSeed = string(seed)
	operatorJWT, accountJWT := s.jwts(t, cfg)
	dir := t.TempDir()
	system := s.systemAccount(t, dir)
	bin := peers.MustBinary(t, peers.NATS)
	s.Process = peers.Start(t, peers.Launch{
		Binary: bin,
		Dir:    dir,
		Args: func(port int) ([]string, error) {
			client, err := peers.FreePort()
			if err != nil {
				return nil, err
			}
			s.ClientPort = client
			ws := 0
			if cfg.WebSocket {
				if ws, err = peers.FreePort(); err != nil {
					return nil, err
				}
			}
			s.WebSocketPort = ws
			path := filepath.Join(dir, "nats-server.conf")
			if err := os.WriteFile(path, Conf(client, port, ws, operatorJWT, s.AccountPublic, accountJWT, system), 0o600); err != nil {
				return nil, err
			}
			return []string{"-c", path}, nil
		},
		ReadyPath: "/healthz",
	})
	return s
}

// jwts are the operator's JWT and the account's, signed by the operator.
func (s *Server) jwts(t testing.TB, cfg Config) (operatorJWT, accountJWT string) {
	t.Helper()
	oc := jwt.NewOperatorClaims(PublicKey(t, s.Operator))
	oc.Name = "test-operator"
	operatorJWT, err := oc.Encode(s.Operator)
	if err != nil {
		t.Fatal(err)
	}
	ac := jwt.NewAccountClaims(s.AccountPublic)
	ac.Name = "test-account"
	ac.SigningKeys.Add(PublicKey(t, s.SigningKey))
	ac.Limits.DisallowBearer = cfg.DisallowBearer
	if accountJWT, err = ac.Encode(s.Operator); err != nil {
		t.Fatal(err)
	}
	return operatorJWT, accountJWT
}

// SystemAccount is a system account and its JWT.
type SystemAccount struct {
	Public, JWT string
}

// systemAccount makes the system account, signed by the operator, and
// writes a credentials file for a user of it into dir.
func (s *Server) systemAccount(t testing.TB, dir string) SystemAccount {
	t.Helper()
	account := NewKey(t, nkeys.CreateAccount)
	ac := jwt.NewAccountClaims(PublicKey(t, account))
	ac.Name = "SYS"
	accountJWT, err := ac.Encode(s.Operator)
	if err != nil {
		t.Fatal(err)
	}
	user := NewKey(t, nkeys.CreateUser)
	uc := jwt.NewUserClaims(PublicKey(t, user))
	uc.Name = "gatepass-system"
	userJWT, err := uc.Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := user.Seed()
	if err != nil {
		t.Fatal(err)
	}
	creds, err := jwt.FormatUserConfig(userJWT, seed)
	if err != nil {
		t.Fatal(err)
	}
	s.SystemCreds = filepath.Join(dir, "system.creds")
	if err := os.WriteFile(s.SystemCreds, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	return SystemAccount{Public: PublicKey(t, account), JWT: accountJWT}
}

// Conf is a nats-server configuration in operator mode: clients on
// 127.0.0.1:client, monitoring on 127.0.0.1:monitor, a WebSocket listener
// without TLS on 127.0.0.1:ws unless ws is 0, and a memory resolver
// preloaded with one account and the system account.
func Conf(client, monitor, ws int, operatorJWT, account, accountJWT string, system SystemAccount) []byte {
	b := fmt.Appendf(nil, "listen: \"127.0.0.1:%d\"\n", client)
	if monitor != 0 {
		b = fmt.Appendf(b, "http: \"127.0.0.1:%d\"\n", monitor)
	}
	b = fmt.Appendf(b, "operator: %q\nsystem_account: %s\nresolver: MEMORY\nresolver_preload: {\n  %s: %q\n  %s: %q\n}\n",
		operatorJWT, system.Public, account, accountJWT, system.Public, system.JWT)
	if ws != 0 {
		b = fmt.Appendf(b, "websocket {\n  listen: \"127.0.0.1:%d\"\n  no_tls: true\n}\n", ws)
	}
	return b
}

// URL is the NATS protocol URL clients connect to.
func (s *Server) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(s.ClientPort) }

// WebSocketURL is the WebSocket listener's URL; "" without one.
func (s *Server) WebSocketURL() string {
	if s.WebSocketPort == 0 {
		return ""
	}
	return "ws://127.0.0.1:" + strconv.Itoa(s.WebSocketPort)
}

// Client is a connection to the server and the asynchronous errors the
// server sent it (permission violations).
type Client struct {
	*nats.Conn
	errs chan error
}

// Connect connects to url with userJWT. With seed (a user key) the client
// signs the server's nonce with it; without, it signs nothing, as a
// client with a bearer JWT does. The connection is closed when the test
// ends; a refused connect is the error.
func Connect(t testing.TB, url, userJWT string, seed nkeys.KeyPair, opts ...nats.Option) (*Client, error) {
	t.Helper()
	c := &Client{errs: make(chan error, 16)}
	sign := func(nonce []byte) ([]byte, error) {
		if seed == nil {
			return nil, nil
		}
		return seed.Sign(nonce)
	}
	opts = append([]nats.Option{
		nats.UserJWT(func() (string, error) { return userJWT, nil }, sign),
		nats.NoReconnect(),
		nats.Timeout(10 * time.Second),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case c.errs <- err:
			default:
			}
		}),
	}, opts...)
	conn, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, err
	}
	c.Conn = conn
	t.Cleanup(conn.Close)
	return c, nil
}

// ErrNoViolation means the server reported no permission violation in time.
var ErrNoViolation = errors.New("no permission violation reported")

// Violation waits, up to timeout, for the server's next asynchronous error:
// nil when it is a permission violation, ErrNoViolation otherwise.
func (c *Client) Violation(timeout time.Duration) error {
	select {
	case err := <-c.errs:
		if errors.Is(err, nats.ErrPermissionViolation) {
			return nil
		}
		return fmt.Errorf("%w: the server reported %v", ErrNoViolation, err)
	case <-time.After(timeout):
		return ErrNoViolation
	}
}

// NewKey is a new NATS key made by create (nkeys.CreateAccount, …).
func NewKey(t testing.TB, create func() (nkeys.KeyPair, error)) nkeys.KeyPair {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// PublicKey is kp's public key.
func PublicKey(t testing.TB, kp nkeys.KeyPair) string {
	t.Helper()
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}
