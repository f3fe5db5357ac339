package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/bootstrap"
)

const devTokenUsage = `Usage:
  gatepass dev-token [--user U] [--org O | --org ""] [--role R] [--ttl D]

Mints an identity token the development server accepts, as the identity
provider would for a signed-in user, and prints it. It works only with
APP_ENV=development and no AUTH_JWKS_URL, once the server has made its
development folder (DEV_DIR, default .gatepass-dev in the current folder).
--org "" mints a user in no organization (no org_id claim): the office grant
refuses it with 403 no_organization, the Supabase Realtime token comes without
app_metadata. --ttl is the token's lifetime, from 1s to 168h; a short one
(--ttl 5s) lets you watch an expired token be refused, once AUTH_LEEWAY
(30s by default) has also passed.
`

func runDevToken(args []string, stdout io.Writer) error {
	fs := newFlags("dev-token", devTokenUsage)
	user := fs.String("user", devidentity.Default.UserID, "`id` of the user (sub)")
	org := fs.String("org", devidentity.Default.OrgID, "`id` of the organization (org_id); \"\" for none")
	role := fs.String("role", devidentity.Default.Role, "`role` in the organization")
	ttl := fs.Duration("ttl", devidentity.DefaultTTL, "`lifetime` of the token, 1s to 168h")
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New("dev-token: takes no argument")
	}
	cfg, err := bootstrap.LoadDev(nil)
	if err != nil {
		return fmt.Errorf("dev-token: %w", err)
	}
	// The same path as the development server's POST /dev/identity-token.
	token, err := devidentity.Issue(cfg.DevIdentityKey, devidentity.Identity{UserID: *user, OrgID: *org, Role: *role}, time.Now(), *ttl)
	if fe := (*devidentity.FieldError)(nil); errors.As(err, &fe) {
		return fmt.Errorf("--%s %s", fe.Field, fe.Reason)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, token)
	return err
}
