package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gatepass/gatepass/adapters/devidentity"
	"github.com/gatepass/gatepass/bootstrap"
)

func runDevToken(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "user_dev_01", "user id (sub)")
	org := fs.String("org", "org_dev_01", "organization id (org_id); empty for none")
	role := fs.String("role", "member", "role in the organization")
	ttl := fs.Duration("ttl", 12*time.Hour, "lifetime of the token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := bootstrap.LoadDev(nil)
	if err != nil {
		return fmt.Errorf("dev-token: %w", err)
	}
	if *ttl <= 0 || *ttl > 7*24*time.Hour {
		return errors.New("--ttl must be between 1s and 168h")
	}
	token, err := devidentity.Mint(cfg.DevIdentityKey, devidentity.Identity{UserID: *user, OrgID: *org, Role: *role}, time.Now(), *ttl)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, token)
	return err
}
