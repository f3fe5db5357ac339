package startup_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/centrifugoserver"
	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/natsserver"
)

// devStackPorts are the stack's port settings.
var devStackPorts = []string{"DEV_GATEPASS_PORT", "DEV_LIVEKIT_PORT", "DEV_LIVEKIT_RTC_PORT", "DEV_CENTRIFUGO_PORT",
	"DEV_NATS_PORT", "DEV_NATS_WS_PORT", "DEV_OFFICE_PORT", "DEV_WEB_PORT"}

// devStack is scripts/dev-stack.sh started by a test.
type devStack struct {
	cmd    *exec.Cmd
	ports  map[string]string // setting: host:port
	dir    string            // DEV_STACK_DIR
	stderr *kit.Buffer
	ready  chan string // the ready line
	done   chan struct{}
	err    error
}

// startDevStack runs scripts/dev-stack.sh on free loopback ports, its
// files in folders of the test, with the test's gatepass binary.
func startDevStack(t *testing.T, over map[string]string) *devStack {
	t.Helper()
	s := &devStack{ports: map[string]string{}, dir: t.TempDir(), stderr: &kit.Buffer{}, ready: make(chan string, 1), done: make(chan struct{})}
	env := []string{"GATEPASS_BIN=" + kit.Binary(t), "DEV_STACK_DIR=" + s.dir, "DEV_DIR=" + t.TempDir(), "ADMIN_ADDR=" + kit.FreeAddr(t)}
	for _, name := range devStackPorts {
		s.ports[name] = kit.FreeAddr(t)
		_, port, _ := net.SplitHostPort(s.ports[name])
		env = append(env, name+"="+port)
	}
	for k, v := range over {
		env = append(env, k+"="+v)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DEV_") && !strings.HasPrefix(kv, "GATEPASS_BIN=") && !strings.HasPrefix(kv, "ADMIN_ADDR=") {
			env = append(env, kv)
		}
	}
	s.cmd = exec.Command("scripts/dev-stack.sh")
	s.cmd.Dir = repoRoot()
	s.cmd.Env = env
	s.cmd.Stderr = s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "dev-stack: ready: open http://") {
				s.ready <- line
			}
		}
	}()
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			<-s.done
		}
	})
	return s
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// children are the process groups the stack started: its children, each
// the leader of its own group.
func (s *devStack) children(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 2 && fields[1] == strconv.Itoa(s.cmd.Process.Pid) && fields[2] == strconv.Itoa(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// TestDevStackServesEveryTransportAndStopsOnCtrlC: the stack prints its
// ready line once gatepass, LiveKit, Centrifugo, NATS (over its WebSocket
// port too), the office-router Worker and the page's server all answer,
// each with a grant from gatepass where it takes one; SIGINT stops every
// process it started.
func TestDevStackServesEveryTransportAndStopsOnCtrlC(t *testing.T) {
	t.Parallel()
	s := startDevStack(t, nil)
	var ready string
	select {
	case ready = <-s.ready:
	case <-s.done:
		t.Fatalf("dev-stack exited before it was ready: %v\n%s", s.err, s.stderr)
	case <-time.After(5 * time.Minute):
		t.Fatalf("no ready line\n%s", s.stderr)
	}
	gatepass, page := "http://"+s.ports["DEV_GATEPASS_PORT"], "http://"+s.ports["DEV_WEB_PORT"]
	if !strings.HasPrefix(ready, "dev-stack: ready: open "+page+"/") {
		t.Errorf("ready line %q does not open %s/", ready, page)
	}

	// gatepass: a development user signs in without an identity provider.
	r := kit.Post(t, gatepass+kit.DevIdentityPath, kit.JSONBody(`{"user":"user_stack","org":"org_stack","role":"member"}`))
	kit.WantStatus(t, "identity token", r, http.StatusOK)
	bearer, _ := r.JSON(t)["access_token"].(string)
	kit.WantStatus(t, "realtime token", kit.Post(t, gatepass+kit.RealtimePath, kit.Bearer(bearer)), http.StatusOK)

	t.Run("LiveKit", func(t *testing.T) {
		r := kit.Post(t, gatepass+"/api/v1/livekit/token", kit.Bearer(bearer), kit.JSONBody(`{"room_name":"standup"}`))
		kit.WantStatus(t, "livekit token", r, http.StatusCreated)
		m := r.JSON(t)
		if m["server_url"] != "ws://"+s.ports["DEV_LIVEKIT_PORT"] {
			t.Errorf("server_url %v", m["server_url"])
		}
		v := kit.Get(t, fmt.Sprintf("http://%s/rtc/validate?access_token=%s", s.ports["DEV_LIVEKIT_PORT"], m["participant_token"]))
		if v.Status != http.StatusOK || !strings.Contains(string(v.Body), "success") {
			t.Errorf("livekit-server validates the grant: %s", v)
		}
	})
	t.Run("Centrifugo", func(t *testing.T) {
		r := kit.Post(t, gatepass+"/api/v1/centrifugo/connection-token", kit.Bearer(bearer))
		kit.WantStatus(t, "connection token", r, http.StatusOK)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := centrifugoserver.Connect(ctx, "ws://"+s.ports["DEV_CENTRIFUGO_PORT"]+"/connection/websocket", r.Token(t))
		if err != nil {
			t.Fatalf("connect with the grant: %v", err)
		}
		c.Close()
	})
	t.Run("NATS over WebSocket", func(t *testing.T) {
		r := kit.Post(t, gatepass+"/api/v1/nats/token", kit.Bearer(bearer))
		kit.WantStatus(t, "nats token", r, http.StatusCreated)
		m := r.JSON(t)
		ws := "ws://" + s.ports["DEV_NATS_WS_PORT"]
		if servers := fmt.Sprint(m["servers"]); !strings.Contains(servers, ws) || !strings.Contains(servers, "nats://"+s.ports["DEV_NATS_PORT"]) {
			t.Errorf("servers %s, want the stack's nats:// and %s", servers, ws)
		}
		c, err := natsserver.Connect(t, ws, m["user_jwt"].(string), nil)
		if err != nil {
			t.Fatalf("connect over WebSocket with the grant: %v", err)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("office-router Worker", func(t *testing.T) {
		r := kit.Post(t, gatepass+kit.OfficePath, kit.Bearer(bearer))
		kit.WantStatus(t, "office grant", r, http.StatusOK)
		m := r.JSON(t)
		if want := "ws://" + s.ports["DEV_OFFICE_PORT"] + "/ws"; !strings.HasPrefix(fmt.Sprint(m["url"]), want) {
			t.Fatalf("url %v, want %s", m["url"], want)
		}
		status := upgrade(t, "http://"+strings.TrimPrefix(fmt.Sprint(m["url"]), "ws://"), r.Token(t))
		if status != http.StatusSwitchingProtocols {
			t.Errorf("the Worker answers the upgrade with the grant %d, want 101", status)
		}
		if status := upgrade(t, "http://"+s.ports["DEV_OFFICE_PORT"]+"/ws", "not-a-grant"); status == http.StatusSwitchingProtocols {
			t.Error("the Worker upgrades without a grant")
		}
	})
	t.Run("the page's server", func(t *testing.T) {
		cfg := kit.Get(t, page+"/config.json")
		if cfg.Status != http.StatusOK || cfg.JSON(t)["gatepassUrl"] != gatepass {
			t.Errorf("/config.json %s, want gatepassUrl %s", cfg, gatepass)
		}
		if p := kit.Get(t, page+"/"); p.Status != http.StatusOK || !strings.HasPrefix(strings.ToLower(string(p.Body)), "<!doctype html") {
			t.Errorf("the page: %s", p)
		}
	})

	groups := s.children(t)
	if len(groups) != 6 {
		t.Errorf("%d child process groups, want 6 (gatepass, livekit, centrifugo, nats, the Worker, the page)", len(groups))
	}
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		t.Fatalf("dev-stack did not stop on SIGINT\n%s", s.stderr)
	}
	if s.err != nil {
		t.Errorf("dev-stack exited with %v after SIGINT, want 0\n%s", s.err, s.stderr)
	}
	for _, g := range groups {
		// The stack waits for them; a killed process may take a moment
		// to be reaped.
		if !kit.Eventually(5*time.Second, 20*time.Millisecond, func() bool { return errors.Is(syscall.Kill(-g, 0), syscall.ESRCH) }) {
			t.Errorf("process group %d is still there after the stack stopped", g)
		}
	}
	for name, addr := range s.ports {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s (%s) still answers after the stack stopped", addr, name)
		}
	}
}

// upgrade asks for a WebSocket upgrade of url with token as a bearer
// credential and returns the answer's status.
func upgrade(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := kit.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestDevStackRefusesABusyPort: a busy port stops the stack before it
// starts anything, naming the port and the setting that moves it.
func TestDevStackRefusesABusyPort(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, port, _ := net.SplitHostPort(busy.Addr().String())
	s := startDevStack(t, map[string]string{"DEV_CENTRIFUGO_PORT": port})
	select {
	case <-s.done:
	case <-time.After(5 * time.Minute):
		t.Fatalf("dev-stack did not stop on a busy port\n%s", s.stderr)
	}
	if s.err == nil {
		t.Fatal("dev-stack exited 0 with a busy port")
	}
	msg := s.stderr.String()
	if !strings.Contains(msg, "port "+port) || !strings.Contains(msg, "DEV_CENTRIFUGO_PORT=") {
		t.Errorf("the message names neither the port %s nor DEV_CENTRIFUGO_PORT:\n%s", port, msg)
	}
	if entries, _ := os.ReadDir(s.dir); len(entries) != 0 {
		t.Errorf("something was started: %s holds %v", s.dir, entries)
	}
	for name, addr := range s.ports {
		if name == "DEV_CENTRIFUGO_PORT" {
			continue
		}
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s (%s) answers: something was started", addr, name)
		}
	}
}
