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
	"time"

	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/adapters/jwtinspect"
)

const tokenUsage = `Usage:
  gatepass token inspect TOKEN|-      decode a token (NOT verified) and print its header and claims
  gatepass token verify (--jwks URL | --public-key FILE | --secret-file FILE) --issuer ISS [--audience AUD | --no-audience]
                        [--alg ALG[,ALG...]] [--leeway D] [--org-claim C] [--role-claim C] TOKEN|-
                                      verify a token with the service's own rules, print its header
                                      and claims; exit 1 on any failure
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
	jwksURL := fs.String("jwks", "", "URL of a JWK Set (https://, or http:// on loopback; redirects are not followed)")
	pubFile := fs.String("public-key", "", "PEM file of the public key")
	secretFile := fs.String("secret-file", "", "file holding an HMAC secret (Supabase tokens)")
	issuer := fs.String("issuer", "", "required iss, exact (required)")
	audience := fs.String("audience", "", "aud must contain it")
	noAudience := fs.Bool("no-audience", false, "the token must carry no aud (AUTH_AUDIENCE_REQUIRED=false)")
	alg := fs.String("alg", "", "allowed algorithms, comma-separated (default: RS256, PS256, ES256, EdDSA for keys; HS256 for a secret)")
	leeway := fs.Duration("leeway", 30*time.Second, "clock skew allowed on exp, nbf and iat (AUTH_LEEWAY)")
	orgClaim := fs.String("org-claim", "org_id", "claim naming the organization (AUTH_ORG_CLAIM)")
	roleClaim := fs.String("role-claim", "role", "claim naming the role (AUTH_ROLE_CLAIM)")
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
	if *issuer == "" {
		return errors.New("token verify: --issuer is required: the service checks iss exactly")
	}
	if *audience == "" && !*noAudience {
		fmt.Fprintln(stderr, "aud NOT checked: give --audience AUD, or --no-audience for tokens that must carry none.")
	}
	o := jwksidentity.Options{Issuer: *issuer, Audience: *audience, NoAudience: *noAudience, Leeway: *leeway,
		OrgClaim: *orgClaim, RoleClaim: *roleClaim, Algorithms: jwtinspect.AsymmetricAlgorithms}
	if *alg != "" {
		o.Algorithms = strings.Split(*alg, ",")
	}
	var v *jwksidentity.Verifier
	switch {
	case *jwksURL != "":
		var keys jwksidentity.KeySource
		if keys, err = jwksidentity.FetchKeys(ctx, *jwksURL, jwksidentity.RemoteOptions{}); err == nil {
			v, err = jwksidentity.New(keys, o)
		}
	case *pubFile != "":
		var key jwtinspect.FixedKey
		if key, err = jwtinspect.KeyFromPEMFile(*pubFile); err == nil {
			v, err = jwksidentity.New(key, o)
		}
	default:
		if *alg == "" {
			o.Algorithms = []string{"HS256"}
		}
		var secret []byte
		if secret, err = jwtinspect.SecretFromFile(*secretFile); err == nil {
			v, err = jwksidentity.NewWithSecret(secret, o)
		}
	}
	if err != nil {
		return fmt.Errorf("token verify: %w", err)
	}
	token = strings.TrimSpace(token)
	if _, err := v.VerifyIdentity(ctx, token); err != nil {
		return fmt.Errorf("token verify: INVALID: %w", err)
	}
	p, err := jwtinspect.Decode(token)
	if err != nil {
		return fmt.Errorf("token verify: %w", err)
	}
	fmt.Fprintln(stderr, "VALID")
	return printParts(stdout, p)
}
