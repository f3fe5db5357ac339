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
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gatepass:", err)
		}
		os.Exit(1)
	}
}

const usage = `gatepass hands authenticated users short-lived connection grants.

Usage:
  gatepass serve                  start the HTTP server (configuration from the environment)
  gatepass keys generate|public|jwks
                                  make a key pair, print the signing key's public PEM or the JWK Set
  gatepass token inspect|verify    decode or verify a token (see gatepass token help)
  gatepass dev-token [flags]      mint a development identity token (APP_ENV=development only)
  gatepass policy default|check   print the built-in transport policy, or validate a policy file
  gatepass help                   show this help

See the README for every setting.
`

// run dispatches the subcommand in args.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a subcommand is required")
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "dev-token":
		return runDevToken(args[1:], stdout, stderr)
	case "keys":
		return runKeys(args[1:], stdout, stderr)
	case "token":
		return runToken(ctx, args[1:], os.Stdin, stdout, stderr)
	case "policy":
		return runPolicy(args[1:], os.Stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown subcommand %q", args[0])
	}
}
