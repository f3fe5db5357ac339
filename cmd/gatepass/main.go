// Command gatepass serves short-lived connection grants for real-time
// transports, and carries the operator tools around them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/gatepass/gatepass/foundation/suggest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		// --help asked for the usage, which is not a failure.
	case errors.As(err, new(*unknownCommandError)):
		// A command line gatepass cannot read is exit 2, as a shell's
		// builtins and the flag package have it.
		fmt.Fprintln(os.Stderr, "gatepass:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "gatepass:", err)
		os.Exit(1)
	}
}

// commands are gatepass's commands and the subcommands of each group, in
// the order of the usage: an unknown command is compared with them, and
// the shell completion offers them.
var commands = []struct {
	name string
	subs []string
}{
	{name: "serve"},
	{name: "keys", subs: []string{"generate", "public", "jwks"}},
	{name: "token", subs: []string{"inspect", "verify"}},
	{name: "dev-token"},
	{name: "policy", subs: []string{"default", "check"}},
	{name: "revoke"},
	{name: "completion", subs: completionShells},
	{name: "version"},
	{name: "help"},
}

func commandNames() []string {
	out := make([]string, len(commands))
	for i, c := range commands {
		out[i] = c.name
	}
	return out
}

// unknownCommandError is a command or subcommand gatepass does not have:
// one line with the closest one, instead of the whole usage.
type unknownCommandError struct {
	// group is the command whose subcommand was mistyped; "" for a command.
	group, name, suggestion string
}

func newUnknownCommand(group, name string, known []string) *unknownCommandError {
	s, _ := suggest.Closest(name, known)
	return &unknownCommandError{group: group, name: name, suggestion: s}
}

func (e *unknownCommandError) Error() string {
	name, meant, help := e.name, e.suggestion, "gatepass --help"
	if e.group != "" {
		name, meant, help = e.group+" "+e.name, e.group+" "+e.suggestion, "gatepass "+e.group+" --help"
	}
	if e.suggestion == "" {
		return fmt.Sprintf("unknown command %q; %s lists the commands", name, help)
	}
	return fmt.Sprintf("unknown command %q; did you mean `%s`?", name, meant)
}

const usage = `gatepass hands authenticated users short-lived connection grants.

Usage:
  gatepass serve                  start the HTTP server (configuration from the environment)
  gatepass keys generate|public|jwks
                                  make a key pair, print the signing key's public PEM or the JWK Set
  gatepass token inspect|verify   decode or verify a token
  gatepass dev-token [flags]      mint a development identity token (APP_ENV=development only)
  gatepass policy default|check   print the built-in transport policy, or validate a policy file
  gatepass revoke --user U (--org O | --all-organizations)
                                  revoke a user's access through the admin API (GATEPASS_ADMIN_URL)
  gatepass completion bash|zsh    print a shell completion script
  gatepass version                print the version, commit, build date and Go version
  gatepass help [COMMAND]         show this help, or a command's

Every command takes --help. Flags may come before or after the arguments.
docs/configuration.md describes every setting.

Flags:
  --version               same as gatepass version
  -h, --help              show this help
`

// run dispatches the subcommand in args.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a subcommand is required")
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "dev-token":
		return runDevToken(args[1:], stdout)
	case "keys":
		return runKeys(args[1:], stdout, stderr)
	case "token":
		return runToken(ctx, args[1:], stdin, stdout, stderr)
	case "policy":
		return runPolicy(args[1:], stdin, stdout, stderr)
	case "revoke":
		return runRevoke(ctx, args[1:], stdout)
	case "completion":
		return runCompletion(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		return runVersion(args[1:], stdout)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && !isHelpWord(args[1]) {
			// gatepass help token verify is gatepass token verify --help.
			return run(ctx, append(args[1:], "--help"), stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return newUnknownCommand("", args[0], commandNames())
	}
}

func isHelpWord(s string) bool {
	switch s {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// dispatch runs the subcommand of a command group (keys, token, policy),
// or prints the group's usage for help.
func dispatch(group, groupUsage string, args []string, stdout, stderr io.Writer, subs map[string]func([]string) error) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, groupUsage)
		return fmt.Errorf("%s: a subcommand is required", group)
	}
	if isHelpWord(args[0]) {
		fmt.Fprint(stdout, groupUsage)
		return nil
	}
	sub, ok := subs[args[0]]
	if !ok {
		return newUnknownCommand(group, args[0], slices.Sorted(maps.Keys(subs)))
	}
	return sub(args[1:])
}
