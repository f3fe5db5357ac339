// Package peers builds and finds the real servers that gatepass's grants are
// proven against (LiveKit, Centrifugo, NATS). Each is built once with `go install`
// at a pinned version into a git-ignored cache folder at the repository
// root, and reused from there; an environment variable can name another
// binary instead.
package peers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Peer is one server program built from its Go module at a pinned version.
type Peer struct {
	// Name is the binary's name in the cache, without the version.
	Name string
	// Package is the main package that `go install` builds.
	Package string
	// Version is the module version, as `go install` takes it.
	Version string
	// Env names the variable that overrides the cached binary.
	Env string
}

var (
	// LiveKit is livekit-server. Newer versions cannot be built from the
	// module proxy.
	LiveKit = Peer{
		Name:    "livekit-server",
		Package: "github.com/livekit/livekit-server/cmd/server",
		Version: "v1.13.5",
		Env:     "LIVEKIT_SERVER_BIN",
	}
	// Centrifugo is the Centrifugo server, major version 6.
	Centrifugo = Peer{
		Name:    "centrifugo",
		Package: "github.com/centrifugal/centrifugo/v6",
		Version: "v6.9.1",
		Env:     "CENTRIFUGO_BIN",
	}
	// NATS is nats-server, the version whose libraries (jwt/v2, nkeys)
	// gatepass signs user JWTs with.
	NATS = Peer{
		Name:    "nats-server",
		Package: "github.com/nats-io/nats-server/v2",
		Version: "v2.15.3",
		Env:     "NATS_SERVER_BIN",
	}
)

// All lists every peer, in build order.
func All() []Peer { return []Peer{LiveKit, Centrifugo, NATS} }

// ByName returns the peer called name.
func ByName(name string) (Peer, bool) {
	for _, p := range All() {
		if p.Name == name {
			return p, true
		}
	}
	return Peer{}, false
}

// ErrMissing reports a peer binary that is neither named by its variable
// nor in the cache.
var ErrMissing = errors.New("peer binary is missing")

// CacheDir is the folder of built peers: .cache/peers at the repository
// root.
func CacheDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", ".cache", "peers")
}

// CachePath is where the peer's binary is cached, its version in the name.
func (p Peer) CachePath() string {
	return filepath.Join(CacheDir(), p.Name+"-"+p.Version)
}

// BuildCommand is the command that builds the missing peers, for messages.
const BuildCommand = "scripts/deps.sh peers (or: go run ./test/peers/buildpeers)"

// Binary returns the binary to run: the file named by p.Env when that is
// set, otherwise the cached build. It never builds: an absent binary is an
// error that says how to build it.
func (p Peer) Binary() (string, error) {
	if path := os.Getenv(p.Env); path != "" {
		if err := executable(path); err != nil {
			return "", fmt.Errorf("%s=%s: %w", p.Env, path, err)
		}
		return path, nil
	}
	path := p.CachePath()
	if err := executable(path); err != nil {
		return "", fmt.Errorf("%w: %s %s is not built at %s (%v); run %s, or set %s",
			ErrMissing, p.Name, p.Version, path, err, BuildCommand, p.Env)
	}
	return path, nil
}

// MustBinary is Binary that fails the test when the binary is absent. The
// peers are part of the suite: a missing one is a failure, never a skip.
func MustBinary(t testing.TB, p Peer) string {
	t.Helper()
	path, err := p.Binary()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func executable(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if info.IsDir() || info.Mode()&0o111 == 0 {
		return errors.New("not an executable file")
	}
	return nil
}

// Build makes sure the peer's binary is in the cache: it does nothing when
// it is there already, otherwise it runs `go install p.Package@p.Version`
// into a fresh folder of the cache and moves the result into place, so a
// build that fails or runs twice at once never leaves a half-written
// binary. The go command's output goes to log. It returns the binary's path
// and whether it was built now.
func (p Peer) Build(ctx context.Context, log io.Writer) (path string, built bool, err error) {
	path = p.CachePath()
	if executable(path) == nil {
		return path, false, nil
	}
	if err := os.MkdirAll(CacheDir(), 0o755); err != nil {
		return "", false, fmt.Errorf("build %s: %w", p.Name, err)
	}
	gobin, err := os.MkdirTemp(CacheDir(), "build-"+p.Name+"-")
	if err != nil {
		return "", false, fmt.Errorf("build %s: %w", p.Name, err)
	}
	defer os.RemoveAll(gobin)

	cmd := exec.CommandContext(ctx, "go", "install", p.Package+"@"+p.Version)
	// GOFLAGS of the calling module (-mod=vendor, say) have no meaning for
	// a module built at a version; GOBIN catches the binary.
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-buildvcs=false")
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Run(); err != nil {
		return "", false, fmt.Errorf("build %s: go install %s@%s: %w", p.Name, p.Package, p.Version, err)
	}
	entries, err := os.ReadDir(gobin)
	if err != nil {
		return "", false, fmt.Errorf("build %s: %w", p.Name, err)
	}
	if len(entries) != 1 {
		return "", false, fmt.Errorf("build %s: go install left %d files, want one binary", p.Name, len(entries))
	}
	if err := os.Rename(filepath.Join(gobin, entries[0].Name()), path); err != nil {
		return "", false, fmt.Errorf("build %s: %w", p.Name, err)
	}
	return path, true, nil
}

// BuildAll builds each missing peer of ps in turn and reports on log what
// it found or built, with the time each build took.
func BuildAll(ctx context.Context, log io.Writer, ps ...Peer) error {
	for _, p := range ps {
		start := time.Now()
		if executable(p.CachePath()) != nil {
			fmt.Fprintf(log, "peers: building %s %s (a cold build takes minutes and about 1 GB of memory)\n", p.Name, p.Version)
		}
		path, built, err := p.Build(ctx, log)
		if err != nil {
			return err
		}
		if built {
			fmt.Fprintf(log, "peers: built %s %s in %s: %s\n", p.Name, p.Version, time.Since(start).Round(time.Second), path)
		} else {
			fmt.Fprintf(log, "peers: %s %s is cached: %s\n", p.Name, p.Version, path)
		}
	}
	return nil
}
