package peers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Launch says how to start one peer server and how to tell it serves.
type Launch struct {
	// Binary is the program to run (see Peer.Binary).
	Binary string
	// Dir is the working folder; the log file is written there too.
	Dir string
	// Args returns the arguments for a server on the loopback port given;
	// it may write a configuration file into Dir first.
	Args func(port int) ([]string, error)
	// ReadyPath is fetched over HTTP on that port until it answers 200.
	ReadyPath string
	// ReadyTimeout bounds the wait; zero means 30 seconds.
	ReadyTimeout time.Duration
}

// Process is a peer server started for one test and stopped when it ends.
type Process struct {
	// Port is the loopback port the server's HTTP listener serves on.
	Port int

	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited

	stopOnce sync.Once
}

// Start runs the server on a free loopback port and returns once ReadyPath
// answers 200. A port free a moment ago can be taken before the server
// binds it, so a server that exits before it is ready is started again on
// another port, a few times. Failures call t.Fatal with the end of the
// server's log.
func Start(t testing.TB, l Launch) *Process {
	t.Helper()
	if l.ReadyTimeout == 0 {
		l.ReadyTimeout = 30 * time.Second
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var p *Process
		p, err = launch(l)
		if err == nil {
			t.Cleanup(p.Stop)
			return p
		}
		if !errors.Is(err, errExited) {
			break
		}
	}
	t.Fatalf("start %s: %v", filepath.Base(l.Binary), err)
	return nil
}

var errExited = errors.New("exited before it was ready")

func launch(l Launch) (*Process, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	args, err := l.Args(port)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(l.Dir, fmt.Sprintf("%s-%d.log", filepath.Base(l.Binary), port))
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd := exec.Command(l.Binary, args...)
	cmd.Dir = l.Dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + l.Dir}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{Port: port, name: filepath.Base(l.Binary), logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), l.ReadyTimeout)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d%s", port, l.ReadyPath)
	var last error
	for {
		if last = ready(ctx, url); last == nil {
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%w (%s):\n%s", errExited, cmd.ProcessState, p.Logs())
		case <-ctx.Done():
			p.Stop()
			return nil, fmt.Errorf("not ready within %s (%v):\n%s", l.ReadyTimeout, last, p.Logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func ready(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s answered %s", url, res.Status)
	}
	return nil
}

// Addr is the server's loopback host:port.
func (p *Process) Addr() string { return fmt.Sprintf("127.0.0.1:%d", p.Port) }

// Stop ends the server, gently first (SIGTERM), then for sure after five
// seconds (SIGKILL), and waits until it has exited. Stopping twice does
// nothing.
func (p *Process) Stop() {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// Exited reports whether the server has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Logs returns the end of the server's output, for failure messages.
func (p *Process) Logs() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	const keep = 4096
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return strings.TrimSpace(string(b))
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
