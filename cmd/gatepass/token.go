package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/gatepass/gatepass/adapters/jwksidentity"
	"github.com/gatepass/gatepass/bootstrap"
	"github.com/gatepass/gatepass/foundation/jwtinspect"
)

const tokenUsage = `Usage:
  gatepass token inspect TOKEN|-      decode a token (NOT verified) and print its header, claims and times
  gatepass token verify (--jwks URL | --public-key FILE | --secret-file FILE) --issuer ISS [--audience AUD | --no-audience]
                        [--alg ALG[,ALG...]] [--leeway D] [--org-claim C] [--role-claim C] TOKEN|-
                                      verify a token with the service's own rules, print its header
                                      and claims; exit 1 on any failure
A TOKEN of "-" is read from standard input, which keeps it out of shell history;
a pasted "Bearer TOKEN" (or "Authorization: Bearer TOKEN") is taken as TOKEN.
Flags may come after TOKEN. Each command takes --help.
`

func runToken(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatch("token", tokenUsage, args, stdout, stderr, map[string]func([]string) error{
		"inspect": func(a []string) error { return runTokenInspect(a, stdin, stdout, stderr) },
		"verify":  func(a []string) error { return runTokenVerify(ctx, a, stdin, stdout, stderr) },
	})
}

// tokenArg is the one TOKEN of args: "-" reads it from stdin, and an
// Authorization header's value, pasted whole, is reduced to the token.
func tokenArg(args []string, stdin io.Reader) (string, error) {
	// An unquoted paste of "Bearer eyJ..." arrives as two arguments.
	if len(args) == 2 && strings.EqualFold(args[0], "bearer") {
		args = args[1:]
	}
	if len(args) != 1 {
		return "", errors.New("exactly one TOKEN (or -) is required")
	}
	if args[0] != "-" {
		return bareToken(args[0]), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return bareToken(line), nil
}

// bareToken strips what is pasted around a token copied from a request:
// white space, an "Authorization:" header name and the "Bearer" scheme
// (case-insensitive, as RFC 9110 has it).
func bareToken(s string) string {
	s = strings.TrimSpace(s)
	if name, rest, ok := strings.Cut(s, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "authorization") {
		s = strings.TrimSpace(rest)
	}
	if scheme, rest, ok := strings.Cut(s, " "); ok && strings.EqualFold(scheme, "bearer") {
		s = strings.TrimSpace(rest)
	}
	return s
}

// timeClaims are the claims holding a NumericDate (RFC 7519 section 2;
// auth_time from OpenID Connect), shown as RFC 3339 beside the number.
var timeClaims = []string{"iat", "nbf", "exp", "auth_time"}

// shown is a token as the token commands print it: the decoded parts,
// and each time claim in RFC 3339 (UTC).
type shown struct {
	Header map[string]any    `json:"header"`
	Claims map[string]any    `json:"claims"`
	Times  map[string]string `json:"times,omitempty"`
}

// printParts writes the token as JSON to w, and one line per time claim,
// with how long ago or ahead of now it is, to notes.
func printParts(w, notes io.Writer, p jwtinspect.Parts, now time.Time) error {
	out := shown{Header: p.Header, Claims: p.Claims}
	for _, name := range timeClaims {
		v, ok := p.Claims[name]
		if !ok {
			continue
		}
		if out.Times == nil {
			out.Times = map[string]string{}
		}
		t, ok := numericDate(v)
		if !ok {
			out.Times[name] = "not a NumericDate"
			fmt.Fprintf(notes, "%-9s %v is not a NumericDate (seconds since 1970)\n", name, v)
			continue
		}
		out.Times[name] = t.Format(time.RFC3339Nano)
		fmt.Fprintf(notes, "%-9s %v = %s (%s)\n", name, v, out.Times[name], relative(t, now))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// numericDate reads a NumericDate claim: seconds since the epoch, maybe
// fractional, within years 1 to 9999 (what RFC 3339 can write).
func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f < -62135596800 || f > 253402300799 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), true
}

// relative says how far t is from now, to the second.
func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return "in " + d.String()
	case d < 0:
		return (-d).String() + " ago"
	}
	return "now"
}

const tokenInspectUsage = `Usage:
  gatepass token inspect TOKEN|-

Decodes a token WITHOUT verifying it and prints its header, claims and
times (iat, nbf, exp, auth_time in RFC 3339, UTC) as JSON; standard error
gets each time beside its number, with how long ago or ahead it is.
A TOKEN of "-" is read from standard input; "Bearer TOKEN" is taken as TOKEN.
`

func runTokenInspect(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c := newFlags("token inspect", tokenInspectUsage)
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	token, err := tokenArg(c.Args(), stdin)
	if err != nil {
		return fmt.Errorf("token inspect: %w", err)
	}
	p, err := jwtinspect.Decode(token)
	if err != nil {
		return fmt.Errorf("token inspect: %w", err)
	}
	fmt.Fprintln(stderr, "NOT VERIFIED: use `gatepass token verify` to check the signature.")
	return printParts(stdout, stderr, p, time.Now())
}

const tokenVerifyUsage = `Usage:
  gatepass token verify (--jwks URL | --public-key FILE | --secret-file FILE) --issuer ISS
                        [--audience AUD | --no-audience] [flags] TOKEN|-
  gatepass token verify --<transport flag below> VALUE TOKEN|-

Verifies a token with the service's own strict rules and prints its header,
claims and times as token inspect does; exits 1 on any failure. Flags may
come after TOKEN. A TOKEN of "-" is read from standard input; "Bearer TOKEN"
is taken as TOKEN.
`

func runTokenVerify(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("token verify", tokenVerifyUsage)
	jwksURL := fs.String("jwks", "", "`URL` of a JWK Set (https://, or http:// on loopback; redirects are not followed)")
	pubFile := fs.String("public-key", "", "PEM `file` of the public key")
	secretFile := fs.String("secret-file", "", "`file` holding an HMAC secret (Supabase tokens)")
	issuer := fs.String("issuer", "", "`issuer`: iss must equal it (required)")
	audience := fs.String("audience", "", "`audience`: aud must contain it")
	noAudience := fs.Bool("no-audience", false, "the token must carry no aud (AUTH_AUDIENCE_REQUIRED=false)")
	alg := fs.String("alg", "", "allowed `algorithms`, comma-separated (default: RS256, PS256, ES256, EdDSA for keys; HS256 for a secret)")
	leeway := fs.Duration("leeway", 30*time.Second, "clock `skew` allowed on exp, nbf and iat (AUTH_LEEWAY)")
	orgClaim := fs.String("org-claim", "org_id", "`claim` naming the organization (AUTH_ORG_CLAIM)")
	roleClaim := fs.String("role-claim", "role", "`claim` naming the role (AUTH_ROLE_CLAIM)")
	// A transport whose tokens gatepass's keys do not sign registers how
	// they are checked.
	registered := bootstrap.TokenVerifiers()
	against := make([]*string, len(registered))
	names := "--jwks, --public-key, --secret-file"
	for i, r := range registered {
		against[i] = fs.String(r.Flag, "", r.Usage)
		names += ", --" + r.Flag
	}
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	token, err := tokenArg(fs.Args(), stdin)
	if err != nil {
		return fmt.Errorf("token verify: %w", err)
	}
	sources := 0
	for _, s := range append([]*string{jwksURL, pubFile, secretFile}, against...) {
		if *s != "" {
			sources++
		}
	}
	if sources != 1 {
		return errors.New("token verify: give exactly one of " + names)
	}
	for i, r := range registered {
		if *against[i] != "" {
			return verifyRegistered(r, *against[i], strings.TrimSpace(token), stdout, stderr)
		}
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
	return printParts(stdout, stderr, p, time.Now())
}

// verifyRegistered checks token with a registered verifier, then prints it
// as token inspect does.
func verifyRegistered(r bootstrap.TokenVerifier, value, token string, stdout, stderr io.Writer) error {
	if err := r.Verify(token, value, time.Now()); err != nil {
		return fmt.Errorf("token verify: INVALID: %w", err)
	}
	p, err := jwtinspect.Decode(token)
	if err != nil {
		return fmt.Errorf("token verify: %w", err)
	}
	fmt.Fprintln(stderr, "VALID")
	return printParts(stdout, stderr, p, time.Now())
}
