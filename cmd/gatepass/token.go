package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/adapters/jwtinspect"
)

const tokenUsage = `Usage:
  gatepass token inspect TOKEN|-      decode a token (NOT verified) and print its header and claims
  gatepass token verify (--jwks URL | --public-key FILE | --secret-file FILE) [--issuer ISS] [--audience AUD] [--alg ALG] TOKEN|-
                                      verify a token, print its header and claims; exit 1 on any failure
A TOKEN of "-" is read from standard input, which keeps it out of shell history.
`

func runToken(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokenUsage)
		return errors.New("token: a subcommand is required")
	}
	switch args[0] {
	case "inspect":
		return runTokenInspect(args[1:], stdin, stdout, stderr)
	case "verify":
		return runTokenVerify(ctx, args[1:], stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, tokenUsage)
		return nil
	default:
		fmt.Fprint(stderr, tokenUsage)
		return fmt.Errorf("token: unknown subcommand %q", args[0])
	}
}

func tokenArg(fs *flag.FlagSet, stdin io.Reader) (string, error) {
	if fs.NArg() != 1 {
		return "", errors.New("exactly one TOKEN (or -) is required")
	}
	if fs.Arg(0) != "-" {
		return fs.Arg(0), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

func printParts(w io.Writer, p jwtinspect.Parts) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

func runTokenInspect(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	token, err := tokenArg(fs, stdin)
	if err != nil {
		return fmt.Errorf("token inspect: %w", err)
	}
	p, err := jwtinspect.Decode(token)
	if err != nil {
		return fmt.Errorf("token inspect: %w", err)
	}
	fmt.Fprintln(stderr, "NOT VERIFIED: use `gatepass token verify` to check the signature.")
	return printParts(stdout, p)
}

func runTokenVerify(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jwksURL := fs.String("jwks", "", "URL of a JWK Set (e.g. http://127.0.0.1:8080/.well-known/jwks.json)")
	pubFile := fs.String("public-key", "", "PEM file of the public key")
	secretFile := fs.String("secret-file", "", "file holding an HMAC secret (Supabase tokens)")
	issuer := fs.String("issuer", "", "required iss, exact")
	audience := fs.String("audience", "", "required aud")
	alg := fs.String("alg", "", "allowed algorithm (default: RS256, PS256, ES256, EdDSA for keys; HS256 for a secret)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	token, err := tokenArg(fs, stdin)
	if err != nil {
		return fmt.Errorf("token verify: %w", err)
	}
	sources := 0
	for _, s := range []string{*jwksURL, *pubFile, *secretFile} {
		if s != "" {
			sources++
		}
	}
	if sources != 1 {
		return errors.New("token verify: give exactly one of --jwks, --public-key, --secret-file")
	}
	var keys jwt.Keyfunc
	algs := jwtinspect.AsymmetricAlgorithms
	switch {
	case *jwksURL != "":
		keys, err = jwtinspect.KeysFromJWKS(ctx, *jwksURL)
	case *pubFile != "":
		keys, err = jwtinspect.KeysFromPEMFile(*pubFile)
	default:
		keys, err = jwtinspect.KeysFromSecretFile(*secretFile)
		algs = []string{"HS256"}
	}
	if err != nil {
		return fmt.Errorf("token verify: %w", err)
	}
	if *alg != "" {
		algs = []string{*alg}
	}
	p, err := jwtinspect.Verify(token, jwtinspect.Options{Keys: keys, Algorithms: algs, Issuer: *issuer, Audience: *audience})
	if err != nil {
		return fmt.Errorf("token verify: INVALID: %w", err)
	}
	fmt.Fprintln(stderr, "VALID")
	return printParts(stdout, p)
}
