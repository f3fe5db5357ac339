// Command gatepass serves short-lived connection grants for real-time
// transports, and carries the operator tools around them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		// --help asked for the usage, which is not a failure.
	default:
		fmt.Fprintln(os.Stderr, "gatepass:", err)
		os.Exit(1)
	}
}

const usage = `gatepass hands authenticated users short-lived connection grants.

Usage:
  gatepass serve                  start the HTTP server (configuration from the environment)
  gatepass keys generate|public|jwks
                                  make a key pair, print the signing key's public PEM or the JWK Set
  gatepass token inspect|verify   decode or verify a token
  gatepass dev-token [flags]      mint a development identity token (APP_ENV=development only)
  gatepass policy default|check   print the built-in transport policy, or validate a policy file
  gatepass version                print the version, commit, build date and Go version
  gatepass help [COMMAND]         show this help, or a command's

Every command takes --help. Flags may come before or after the arguments.
See the README for every setting.

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
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown subcommand %q", args[0])
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
		fmt.Fprint(stderr, groupUsage)
		return fmt.Errorf("%s: unknown subcommand %q", group, args[0])
	}
	return sub(args[1:])
}
