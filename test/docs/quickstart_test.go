package docs_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatepass/gatepass/test/kit"
	"github.com/gatepass/gatepass/test/peers"
)

// block is one ```sh code block of the README's quickstart.
type block struct {
	line int
	code string
	// server names the program of a block that starts a server (one
	// command, left running in a terminal of its own), or is empty.
	server string
}

// servers are the programs a quickstart block may start and leave running.
var servers = map[string]peers.Peer{"livekit-server": peers.LiveKit, "centrifugo": peers.Centrifugo}

// devFile is a path into the development folder in a quickstart block.
var devFile = regexp.MustCompile(`\.gatepass-dev/[\w.-]+`)

var shBlock = regexp.MustCompile("(?s)\n```sh\n(.*?)\n```\n")

// quickstartBlocks returns the ```sh blocks of the README's "Quickstart"
// section, in order.
func quickstartBlocks(t *testing.T) []block {
	t.Helper()
	readme := readDoc(t, "README.md")
	start := strings.Index(readme, "\n## Quickstart\n")
	if start < 0 {
		t.Fatal("README.md has no \"## Quickstart\" section")
	}
	section := readme[start:]
	if end := strings.Index(section[1:], "\n## "); end >= 0 {
		section = section[:end+1]
	}
	var out []block
	for _, m := range shBlock.FindAllStringSubmatchIndex(section, -1) {
		code := section[m[2]:m[3]]
		b := block{line: strings.Count(readme[:start+m[2]], "\n") + 1, code: code}
		if first, _, _ := strings.Cut(code, " "); servers[first].Name != "" && !strings.Contains(code, "\n") {
			b.server = first
		}
		out = append(out, b)
	}
	return out
}

// TestQuickstartRuns runs every command of the README's quickstart, as a
// newcomer would after `make run`, and fails on the first that fails.
//
// What runs: the gatepass binary serves as `make run` starts it
// (APP_ENV=development, the development folder beside the commands, which
// run in a fresh folder holding bin/gatepass). Then every ```sh block of
// the README's "## Quickstart" section runs in order with bash, -e and
// -o pipefail, each in the environment the blocks before it exported
// (ACCESS_TOKEN): `gatepass dev-token`, the curls to every grant endpoint
// and to the token exchange, each piped into `gatepass token verify`, and
// the curl that has livekit-server validate a LiveKit token. A block that
// is one `livekit-server ...` or `centrifugo ...` command is started in
// the background, as its own terminal would run it, with the peer binary
// make test builds, and waited for until it accepts connections.
//
// What the test changes: the development addresses, to free ports of its
// own, so that it never meets another server on the machine:
// 127.0.0.1:8080 (gatepass), 127.0.0.1:7880 (LiveKit) and Centrifugo's
// port 8000 are replaced in the blocks' text, and livekit-server gets its
// ports through LIVEKIT_CONFIG, which its command line leaves to the
// environment. Nothing else of a command is changed.
//
// What it checks: every block exits 0, every `token verify` printed VALID,
// and livekit-server answered "success".
func TestQuickstartRuns(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's quickstart needs %s, which is not on PATH: install it (apt-get install %s)", tool, tool)
		}
	}
	blocks := quickstartBlocks(t)
	serverBlocks := map[string]bool{}
	for _, b := range blocks {
		serverBlocks[b.server] = true
	}
	if len(blocks) < 6 || !serverBlocks["livekit-server"] || !serverBlocks["centrifugo"] {
		t.Fatalf("the quickstart has %d sh blocks, servers %v; want the commands of every transport, livekit-server and centrifugo among them", len(blocks), serverBlocks)
	}

	work := t.TempDir()
	if err := os.Mkdir(filepath.Join(work, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(kit.Binary(t), filepath.Join(work, "bin", "gatepass")); err != nil {
		t.Fatal(err)
	}
	peerBin := t.TempDir()
	for name, p := range servers {
		if err := os.Symlink(peers.MustBinary(t, p), filepath.Join(peerBin, name)); err != nil {
			t.Fatal(err)
		}
	}

	gp := kit.Start(t, map[string]string{"APP_ENV": "development", "DEV_DIR": filepath.Join(work, ".gatepass-dev")})
	liveKitAddr, centrifugoAddr := kit.FreeAddr(t), kit.FreeAddr(t)
	_, centrifugoPort, _ := net.SplitHostPort(centrifugoAddr)
	rewrite := strings.NewReplacer(
		"127.0.0.1:8080", gp.Addr,
		"127.0.0.1:7880", liveKitAddr,
		`"port": 8000`, `"port": `+centrifugoPort,
	)
	_, liveKitPort, _ := net.SplitHostPort(liveKitAddr)
	_, liveKitTCP, _ := net.SplitHostPort(kit.FreeAddr(t))
	serverEnv := map[string][]string{
		"livekit-server": {fmt.Sprintf("LIVEKIT_CONFIG=port: %s\nrtc:\n  tcp_port: %s\n  udp_port: %d\n", liveKitPort, liveKitTCP, freeUDPPort(t))},
		"centrifugo":     nil,
	}
	serverAddr := map[string]string{"livekit-server": liveKitAddr, "centrifugo": centrifugoAddr}

	env := []string{"PATH=" + peerBin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	state := filepath.Join(t.TempDir(), "exported")
	if err := os.WriteFile(state, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var output bytes.Buffer
	for _, b := range blocks {
		code := rewrite.Replace(b.code)
		if b.server != "" {
			// A server started from a file `make run` wrote there (Centrifugo's
			// configuration) listens where the file says: moved as the code is.
			for _, name := range devFile.FindAllString(code, -1) {
				path := filepath.Join(work, name)
				text, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("README.md:%d: %v", b.line, err)
				}
				if err := os.WriteFile(path, []byte(rewrite.Replace(string(text))), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			startServer(t, work, append(env, serverEnv[b.server]...), code, serverAddr[b.server], b)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		script := "set -eo pipefail\nsource " + strconv.Quote(state) + "\n" + code + "\nexport -p > " + strconv.Quote(state) + "\n"
		cmd := exec.CommandContext(ctx, "bash", "-c", script)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		cancel()
		output.Write(out)
		if err != nil {
			t.Fatalf("README.md:%d: the quickstart block fails: %v\n%s\n--- output:\n%s\n--- gatepass log:\n%s", b.line, err, code, out, gp.Logs())
		}
	}

	verifies := 0
	for _, b := range blocks {
		verifies += strings.Count(b.code, "gatepass token verify")
	}
	valid := 0
	for _, l := range strings.Split(output.String(), "\n") {
		if l == "VALID" {
			valid++
		}
	}
	if got := valid; got != verifies {
		t.Errorf("%d of the quickstart's %d `token verify` commands printed VALID:\n%s", got, verifies, output.String())
	}
	if !regexp.MustCompile(`(?m)^success$`).MatchString(output.String()) {
		t.Errorf("livekit-server did not answer success to the LiveKit token:\n%s", output.String())
	}
}

// startServer starts a server block in the background in dir, as a
// terminal of its own would run it, waits until addr accepts connections,
// and stops it when the test ends.
func startServer(t *testing.T, dir string, env []string, code, addr string, b block) {
	t.Helper()
	var logs kit.Buffer
	cmd := exec.Command("bash", "-c", "exec "+code)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
	})
	exited := false
	up := kit.Eventually(60*time.Second, 50*time.Millisecond, func() bool {
		select {
		case <-done:
			exited = true
			return true
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	if exited || !up {
		t.Fatalf("README.md:%d: %s did not come up on %s (exited: %v):\n%s\n--- its output:\n%s", b.line, b.server, addr, exited, code, logs.String())
	}
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
