// Command devstack runs gatepass's development stack (`make dev-stack`,
// through scripts/dev-stack.sh, which builds what it runs first): gatepass
// in development mode, livekit-server, Centrifugo, nats-server, the
// office-router Worker under Miniflare and the example page's static
// server, all on DEV_STACK_HOST. It checks every port before starting
// anything, waits until each answers, prints one ready line, and stops
// every process group it started on SIGINT or SIGTERM, or when one of them
// dies (then exiting 1, naming it).
//
// Settings are environment variables (see docs/development.md); every
// other variable is passed to gatepass.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatepass/gatepass/test/peers"
)

// port is one listening port the stack needs, and the setting that moves it.
type port struct {
	setting string
	def     int
	what    string
	value   int
}

// settings are the stack's, from the environment.
type settings struct {
	host   string
	nodeIP string
	root   string
	dir    string // DEV_STACK_DIR: everything the stack writes
	devDir string // gatepass's DEV_DIR
	ports  []*port
	// adminAddr is gatepass's admin listener (ADMIN_ADDR), checked too.
	adminAddr string
	bin       string
}

func (s *settings) port(setting string) int {
	for _, p := range s.ports {
		if p.setting == setting {
			return p.value
		}
	}
	panic("no port setting " + setting)
}

func (s *settings) addr(setting string) string {
	return net.JoinHostPort(s.host, strconv.Itoa(s.port(setting)))
}

func (s *settings) url(scheme, setting string) string { return scheme + "://" + s.addr(setting) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "dev-stack:", err)
		stop()
		os.Exit(1)
	}
}

func load() (*settings, error) {
	root, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	s := &settings{
		host:      env("DEV_STACK_HOST", "127.0.0.1"),
		nodeIP:    os.Getenv("DEV_LIVEKIT_NODE_IP"),
		root:      root,
		dir:       env("DEV_STACK_DIR", filepath.Join(root, ".gatepass-dev", "stack")),
		devDir:    env("DEV_DIR", filepath.Join(root, ".gatepass-dev")),
		adminAddr: env("ADMIN_ADDR", "127.0.0.1:9090"),
		bin:       env("GATEPASS_BIN", filepath.Join(root, "bin", "gatepass")),
		ports: []*port{
			{setting: "DEV_GATEPASS_PORT", def: 8080, what: "gatepass"},
			{setting: "DEV_LIVEKIT_PORT", def: 7880, what: "livekit-server"},
			{setting: "DEV_LIVEKIT_RTC_PORT", def: 7881, what: "livekit-server's ICE over TCP"},
			{setting: "DEV_CENTRIFUGO_PORT", def: 8000, what: "Centrifugo"},
			{setting: "DEV_NATS_PORT", def: 4222, what: "nats-server"},
			{setting: "DEV_NATS_WS_PORT", def: 4223, what: "nats-server's WebSocket"},
			{setting: "DEV_OFFICE_PORT", def: 8787, what: "the office-router Worker"},
			{setting: "DEV_WEB_PORT", def: 5173, what: "the example page"},
		},
	}
	if net.ParseIP(s.host) == nil {
		return nil, fmt.Errorf("DEV_STACK_HOST=%s: want an IP address, such as 127.0.0.1", s.host)
	}
	if s.nodeIP != "" && net.ParseIP(s.nodeIP) == nil {
		return nil, fmt.Errorf("DEV_LIVEKIT_NODE_IP=%s: want an IP address", s.nodeIP)
	}
	for _, p := range s.ports {
		p.value = p.def
		if v := os.Getenv(p.setting); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("%s=%s: want a port number", p.setting, v)
			}
			p.value = n
		}
	}
	for _, dir := range []*string{&s.dir, &s.devDir, &s.bin} {
		if !filepath.IsAbs(*dir) {
			*dir = filepath.Join(root, *dir)
		}
	}
	return s, nil
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// checkPorts refuses a busy port, naming the setting that moves it.
func (s *settings) checkPorts() error {
	seen := map[int]string{}
	for _, p := range s.ports {
		if other, dup := seen[p.value]; dup {
			return fmt.Errorf("%s and %s are both %d: give each its own port", other, p.setting, p.value)
		}
		seen[p.value] = p.setting
		if err := free(s.addr(p.setting)); err != nil {
			return fmt.Errorf("port %d on %s (%s) is busy: %v; move it with %s=PORT", p.value, s.host, p.what, err, p.setting)
		}
	}
	if err := free(s.adminAddr); err != nil {
		return fmt.Errorf("gatepass's admin address %s is busy: %v; move it with ADMIN_ADDR=HOST:PORT", s.adminAddr, err)
	}
	return nil
}

func free(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) {
			return se.Err
		}
		return err
	}
	return ln.Close()
}

func run(ctx context.Context) error {
	s, err := load()
	if err != nil {
		return err
	}
	if err := s.checkPorts(); err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	bins := map[string]string{}
	for _, p := range peers.All() {
		if bins[p.Name], err = p.Binary(); err != nil {
			return err
		}
	}
	st := &stack{s: s, died: make(chan *child, 8)}
	defer st.stopAll()
	runErr := st.start(ctx, bins)
	if runErr == nil {
		fmt.Printf("dev-stack: ready: open http://%s/ (gatepass %s, LiveKit %s, Centrifugo %s, NATS %s and %s, office-router %s; logs in %s; Ctrl-C stops it)\n",
			s.addr("DEV_WEB_PORT"), s.url("http", "DEV_GATEPASS_PORT"), s.url("ws", "DEV_LIVEKIT_PORT"), s.url("ws", "DEV_CENTRIFUGO_PORT"),
			s.url("nats", "DEV_NATS_PORT"), s.url("ws", "DEV_NATS_WS_PORT"), s.url("ws", "DEV_OFFICE_PORT"), s.dir)
		select {
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr, "dev-stack: stopping")
			return nil
		case c := <-st.died:
			runErr = c.exitError()
		}
	}
	return runErr
}

// stack is the processes started so far.
type stack struct {
	s        *settings
	children []*child
	died     chan *child
}

// child is one process group the stack started.
type child struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (c *child) exitError() error {
	how := "with status 0"
	if c.err != nil {
		how = c.err.Error()
	}
	return fmt.Errorf("%s exited (%s); the others were stopped; its log: %s%s", c.name, how, c.log, tail(c.log))
}

// tail is the end of a log, for a message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\n" + strings.TrimRight(string(b), "\n")
}

func (st *stack) spawn(name string, env []string, bin string, args ...string) (*child, error) {
	logPath := filepath.Join(st.s.dir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = st.s.root
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A group of its own: stopping it stops what it started too (workerd
	// under Miniflare), and a Ctrl-C in the terminal reaches only us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	st.children = append(st.children, c)
	go func() {
		c.err = cmd.Wait()
		logFile.Close()
		close(c.done)
		select {
		case st.died <- c:
		default:
		}
	}()
	return c, nil
}

// stopAll stops every process group, newest first: SIGTERM, then SIGKILL
// to what is left after a few seconds.
func (st *stack) stopAll() {
	for i := len(st.children) - 1; i >= 0; i-- {
		_ = syscall.Kill(-st.children[i].cmd.Process.Pid, syscall.SIGTERM)
	}
	deadline := time.After(10 * time.Second)
	for _, c := range st.children {
		select {
		case <-c.done:
		case <-deadline:
		}
	}
	for _, c := range st.children {
		// The group may outlive its leader (a runtime it started).
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	}
	// Exit only once every group is gone, so that whoever started the
	// stack finds its ports free; a few seconds at most.
	gone := time.Now().Add(5 * time.Second)
	for _, c := range st.children {
		for syscall.Kill(-c.cmd.Process.Pid, 0) == nil && time.Now().Before(gone) {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// waitFor polls check until it holds, the child dies, or ctx ends.
func (st *stack) waitFor(ctx context.Context, c *child, what string, check func() bool) error {
	deadline := time.Now().Add(90 * time.Second)
	for !check() {
		select {
		case <-ctx.Done():
			return errors.New("stopped before the stack was ready")
		case <-c.done:
			return c.exitError()
		case other := <-st.died:
			return other.exitError()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer %s in time; its log: %s%s", c.name, what, c.log, tail(c.log))
		}
	}
	return nil
}

var probe = &http.Client{Timeout: 2 * time.Second}

// answers reports whether url answers HTTP with a status in ok.
func answers(url string, ok func(int) bool) func() bool {
	return func() bool {
		resp, err := probe.Get(url)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return ok(resp.StatusCode)
	}
}

func is200(status int) bool { return status == http.StatusOK }
func anyStatus(int) bool    { return true }

// listening reports whether addr accepts TCP connections.
func listening(addr string) func() bool {
	return func() bool {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
		}
		return err == nil
	}
}

func (st *stack) start(ctx context.Context, bins map[string]string) error {
	s := st.s
	liveKitSecret, err := liveKitSecret(s.dir)
	if err != nil {
		return err
	}
	secretFile := filepath.Join(s.dir, "livekit-secret")
	gatepassURL := s.url("http", "DEV_GATEPASS_PORT")
	page := s.url("http", "DEV_WEB_PORT")

	// gatepass first: it makes the development folder the others read.
	gp, err := st.spawn("gatepass", gatepassEnv(s, page, secretFile), s.bin, "serve")
	if err != nil {
		return err
	}
	if err := st.waitFor(ctx, gp, "/healthz", answers(gatepassURL+"/healthz", is200)); err != nil {
		return err
	}

	lkConf := filepath.Join(s.dir, "livekit.yaml")
	if err := os.WriteFile(lkConf, liveKitConfig(s, liveKitSecret), 0o600); err != nil {
		return err
	}
	lk, err := st.spawn("livekit-server", os.Environ(), bins["livekit-server"], "--dev", "--config", lkConf)
	if err != nil {
		return err
	}

	cfConf := filepath.Join(s.dir, "centrifugo.json")
	if err := writeCentrifugoConfig(cfConf, s, gatepassURL, page); err != nil {
		return err
	}
	cf, err := st.spawn("centrifugo", os.Environ(), bins["centrifugo"], "--config", cfConf)
	if err != nil {
		return err
	}

	// gatepass wrote it for NATS_URL's addresses, at its start.
	nats, err := st.spawn("nats-server", os.Environ(), bins["nats-server"], "-c", filepath.Join(s.devDir, "nats-server.conf"))
	if err != nil {
		return err
	}

	office, err := st.spawn("office-router", os.Environ(), "node", filepath.Join("scripts", "dev-office-router.mjs"),
		s.host, strconv.Itoa(s.port("DEV_OFFICE_PORT")), env("JWT_ISSUER", "gatepass-dev"), env("JWT_AUDIENCE", "office-router"),
		gatepassURL+"/.well-known/jwks.json")
	if err != nil {
		return err
	}

	web, err := st.spawn("static", os.Environ(), "node", filepath.Join("scripts", "dev-static.mjs"),
		s.host, strconv.Itoa(s.port("DEV_WEB_PORT")), gatepassURL)
	if err != nil {
		return err
	}

	for _, w := range []struct {
		c     *child
		what  string
		check func() bool
	}{
		{lk, "/", answers(s.url("http", "DEV_LIVEKIT_PORT")+"/", is200)},
		{cf, "/health", answers(s.url("http", "DEV_CENTRIFUGO_PORT")+"/health", is200)},
		{nats, "its client port", listening(s.addr("DEV_NATS_PORT"))},
		{nats, "its WebSocket port", listening(s.addr("DEV_NATS_WS_PORT"))},
		{office, "HTTP", answers(s.url("http", "DEV_OFFICE_PORT")+"/", anyStatus)},
		{web, "/config.json", answers(page+"/config.json", is200)},
	} {
		if err := st.waitFor(ctx, w.c, w.what, w.check); err != nil {
			return err
		}
	}
	return nil
}

// gatepassEnv is gatepass's environment: the stack's own settings out,
// development on the stack's addresses in, every other variable passed.
func gatepassEnv(s *settings, page, liveKitSecretFile string) []string {
	var out []string
	cors := page
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		switch {
		case name == "CORS_ALLOWED_ORIGINS" && value != "":
			cors = value + "," + page
			continue
		case strings.HasPrefix(name, "DEV_") && name != "DEV_DIR", name == "GATEPASS_BIN":
			continue
		}
		out = append(out, kv)
	}
	return append(out,
		"APP_ENV=development",
		"DEV_DIR="+s.devDir,
		"HTTP_ADDR="+s.addr("DEV_GATEPASS_PORT"),
		"ADMIN_ADDR="+s.adminAddr,
		"CORS_ALLOWED_ORIGINS="+cors,
		"WEBSOCKET_BASE_URL="+s.url("ws", "DEV_OFFICE_PORT")+"/ws",
		"LIVEKIT_URL="+s.url("ws", "DEV_LIVEKIT_PORT"),
		"LIVEKIT_API_KEY=devkey",
		"LIVEKIT_API_SECRET_FILE="+liveKitSecretFile,
		"CENTRIFUGO_URL="+s.url("ws", "DEV_CENTRIFUGO_PORT")+"/connection/websocket",
		// Browsers connect through the WebSocket listener.
		"NATS_URL="+s.url("nats", "DEV_NATS_PORT")+","+s.url("ws", "DEV_NATS_WS_PORT"),
	)
}

// liveKitSecret is the stack's LiveKit API secret, made once and kept in
// dir, which livekit-server and gatepass are both given.
func liveKitSecret(dir string) (string, error) {
	path := filepath.Join(dir, "livekit-secret")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(b[:])
	return secret, os.WriteFile(path, []byte(secret+"\n"), 0o600)
}

// liveKitConfig is livekit-server's configuration: --dev's, bound to the
// stack's host and ports, with the stack's key, and with
// DEV_LIVEKIT_NODE_IP the address it advertises and gathers candidates on.
func liveKitConfig(s *settings, secret string) []byte {
	b := fmt.Appendf(nil, "port: %d\nbind_addresses: [%q]\nkeys:\n  devkey: %q\nrtc:\n  tcp_port: %d\n  port_range_start: 50000\n  port_range_end: 60000\n",
		s.port("DEV_LIVEKIT_PORT"), s.host, secret, s.port("DEV_LIVEKIT_RTC_PORT"))
	if s.nodeIP != "" {
		b = fmt.Appendf(b, "  node_ip: %q\n  use_external_ip: false\n  ips:\n    includes: [%q]\n", s.nodeIP, s.nodeIP+"/32")
	}
	return b
}

// writeCentrifugoConfig writes Centrifugo's configuration: the stack's
// address, gatepass's development tokens verified through its JWKS, the
// page's origin allowed, and the org namespace whose channels need a
// subscription token.
func writeCentrifugoConfig(path string, s *settings, gatepassURL, page string) error {
	doc := map[string]any{
		"http_server": map[string]any{"address": s.host, "port": s.port("DEV_CENTRIFUGO_PORT")},
		"client": map[string]any{
			"allowed_origins": []string{page},
			"token": map[string]any{
				"jwks_public_endpoint": gatepassURL + "/.well-known/jwks.json",
				"audience":             env("CENTRIFUGO_AUDIENCE", "centrifugo"),
				"issuer":               env("JWT_ISSUER", "gatepass-dev"),
			},
		},
		// Subscribers of an organization's channel may publish to it: the
		// example page's pages talk through it.
		"channel": map[string]any{"namespaces": []map[string]any{{"name": "org", "allow_publish_for_subscriber": true}}},
		"health":  map[string]any{"enabled": true},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}
