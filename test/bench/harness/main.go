// Command harness is the Go side of scripts/bench.sh. The load itself comes
// from libraries and tools: wrk for the one-core HTTP runs, vegeta's
// library for the reconnect storm. The harness mints the users' tokens,
// measures what the load cost (the server's CPU and memory, the load
// generator's own CPU, how busy each core was) and prints the table.
//
//	harness tokens -dev-dir DIR -users 1000 -out tokens.txt
//	harness probe -wait 30s -server-pid PID -method GET -url http://127.0.0.1:8080/healthz
//	harness wrk -url URL -tokens tokens.txt -c 32 -warmup 2s -duration 10s -server-pid PID -out run.json
//	harness storm -gatepass ./gatepass -users 10000 -conns 512 -out-dir DIR
//	harness wait-idle 10s
//	harness report -server-core 0 DIR
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/gatepass/gatepass/adapters/devidentity"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage: harness tokens|probe|wrk|revoke|storm|wait-idle|report [flags]")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	fs := flag.NewFlagSet("harness "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "tokens":
		return tokensCmd(ctx, fs, args[1:])
	case "probe":
		return probeCmd(ctx, fs, args[1:], stdout)
	case "wrk":
		return wrkCmd(ctx, fs, args[1:], stdout, stderr)
	case "storm":
		return stormCmd(ctx, fs, args[1:], stderr)
	case "revoke":
		return revokeCmd(ctx, fs, args[1:])
	case "wait-idle":
		limit := 10 * time.Second
		if len(args) > 1 {
			d, err := time.ParseDuration(args[1])
			if err != nil {
				return err
			}
			limit = d
		}
		waitIdle(ctx, limit, stderr)
		return nil
	case "report":
		core := fs.Int("server-core", 0, "the CPU the servers were pinned to, -1 for none")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New("report needs the results folder")
		}
		return report(fs.Arg(0), *core, stdout)
	}
	return errUsage
}

// tokensCmd writes one development access token per line for as many
// distinct users, signed with the identity key of a development folder.
func tokensCmd(ctx context.Context, fs *flag.FlagSet, args []string) error {
	devDir := fs.String("dev-dir", "", "development `folder` whose identity key signs the tokens (created if missing)")
	users := fs.Int("users", 1000, "distinct users")
	out := fs.String("out", "", "`file` to write the tokens to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *devDir == "" || *out == "" || *users < 1 || *users > 1_000_000 {
		return errors.New("tokens needs -dev-dir, -out and -users between 1 and 1000000")
	}
	material, err := devidentity.LoadOrCreate(*devDir)
	if err != nil {
		return err
	}
	tokens, err := mintTokens(ctx, material.IdentityKey, *users, time.Now(), time.Hour)
	if err != nil {
		return err
	}
	return os.WriteFile(*out, []byte(strings.Join(tokens, "\n")+"\n"), 0o600)
}

// probeCmd sends one request and prints the response body; it fails unless
// the status is 2xx. With -wait it first waits for the server to answer at
// all, and gives up at once when the server process has exited.
func probeCmd(ctx context.Context, fs *flag.FlagSet, args []string, stdout io.Writer) error {
	target := fs.String("url", "", "`URL` to ask")
	method := fs.String("method", http.MethodPost, "request method")
	body := fs.String("body", "", "JSON request body")
	tokens := fs.String("tokens", "", "`file` of tokens; the first is sent as the bearer")
	wait := fs.Duration("wait", 0, "first wait up to this long for the server to answer")
	pid := fs.Int("server-pid", 0, "`pid` of the server, to stop waiting when it exits")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var bearer string
	if *tokens != "" {
		b, err := os.ReadFile(*tokens)
		if err != nil {
			return err
		}
		bearer, _, _ = strings.Cut(string(b), "\n")
	}
	do := func() (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, *method, *target, strings.NewReader(*body))
		if err != nil {
			return nil, err
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if *body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return probeClient.Do(req)
	}
	deadline := time.Now().Add(*wait)
	for {
		resp, err := do()
		if err == nil {
			defer resp.Body.Close()
			if _, err := io.Copy(stdout, resp.Body); err != nil {
				return err
			}
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				return fmt.Errorf("%s %s: status %d", *method, *target, resp.StatusCode)
			}
			return nil
		}
		if *pid > 0 && !processAlive(*pid) {
			return fmt.Errorf("server process %d exited", *pid)
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

var probeClient = &http.Client{Timeout: 5 * time.Second}
