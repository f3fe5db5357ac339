package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set at build time (make build does):
//
//	go build -ldflags "-X main.version=v0.1.0 -X main.commit=$(git rev-parse HEAD) -X main.date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
//
// What is left unset comes from the build information the Go toolchain
// records in every binary (debug.ReadBuildInfo).
var (
	version string
	commit  string
	date    string
)

// build is what `gatepass version` reports.
type build struct {
	Module    string
	Version   string
	Commit    string
	Date      string // when the binary was built; empty if not given
	Committed string // when the commit was made, from the VCS stamp
	GoVersion string
	Platform  string
}

// currentBuild merges the -ldflags values with the recorded build
// information; info is nil when the binary carries none.
func currentBuild(info *debug.BuildInfo) build {
	b := build{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info == nil {
		return b
	}
	b.Module = info.Main.Path
	if b.Version == "" {
		b.Version = info.Main.Version
	}
	if info.GoVersion != "" {
		b.GoVersion = info.GoVersion
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			b.Committed = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if b.Commit == "" && revision != "" {
		b.Commit = revision
		if modified == "true" {
			b.Commit += " (modified)"
		}
	}
	return b
}

func (b build) write(w io.Writer) error {
	or := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	var s strings.Builder
	fmt.Fprintf(&s, "gatepass %s\n", or(b.Version))
	fmt.Fprintf(&s, "  module     %s\n", or(b.Module))
	fmt.Fprintf(&s, "  commit     %s\n", or(b.Commit))
	fmt.Fprintf(&s, "  built      %s\n", or(b.Date))
	if b.Committed != "" {
		fmt.Fprintf(&s, "  committed  %s\n", b.Committed)
	}
	fmt.Fprintf(&s, "  go         %s\n", b.GoVersion)
	fmt.Fprintf(&s, "  platform   %s\n", b.Platform)
	_, err := io.WriteString(w, s.String())
	return err
}

const versionUsage = `Usage:
  gatepass version      print the version, commit, build date and Go version (also: gatepass --version)
`

func runVersion(args []string, stdout io.Writer) error {
	c := newFlags("version", versionUsage)
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	if c.NArg() != 0 {
		return fmt.Errorf("version: takes no argument")
	}
	info, _ := debug.ReadBuildInfo()
	return currentBuild(info).write(stdout)
}
