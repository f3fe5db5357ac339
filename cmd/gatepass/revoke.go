package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gatepass/gatepass/bootstrap"
)

const revokeUsage = `Usage:
  gatepass revoke --user U (--org O | --all-organizations) [--session S] [--reason R]

Records a revocation through the admin API: every grant for the user in the
organization (or in all of them), or only for the session, whose identity
token was issued before now is refused by every replica, until the client
fetches a new identity token. Prints the answer: the revocation's id and its
cut-off (not_before).

The admin API is reached at GATEPASS_ADMIN_URL (such as
http://127.0.0.1:9090 through kubectl port-forward) with the token in
ADMIN_API_TOKEN_FILE. docs/revoking.md says more.
`

// revokeTimeout bounds the admin API call.
const revokeTimeout = 10 * time.Second

func runRevoke(ctx context.Context, args []string, stdout io.Writer) error {
	c := newFlags("revoke", revokeUsage)
	user := c.String("user", "", "the user id (sub) to revoke")
	org := c.String("org", "", "the organization id to revoke the user in")
	all := c.Bool("all-organizations", false, "revoke the user in every organization")
	session := c.String("session", "", "revoke only this session (the identity token's sid)")
	reason := c.String("reason", "", "why, for the audit log")
	if err := c.parse(args, stdout); err != nil {
		return err
	}
	switch {
	case c.NArg() != 0:
		return errors.New("revoke: takes flags only (see gatepass revoke --help)")
	case *user == "":
		return errors.New("revoke: --user is required")
	case (*org == "") == !*all:
		return errors.New("revoke: give --org or --all-organizations, one of them")
	}
	admin, err := bootstrap.LoadAdminClient(nil)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	body, err := json.Marshal(map[string]any{
		"user_id": *user, "org_id": *org, "all_organizations": *all, "session_id": *session, "reason": *reason,
	})
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, admin.URL+"/admin/v1/revocations", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+string(admin.Token))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("revoke: the admin API at GATEPASS_ADMIN_URL did not answer: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("revoke: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusAccepted {
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		}
		if json.Unmarshal(answer, &p) == nil && p.Code != "" {
			return fmt.Errorf("revoke: %d %s: %s", resp.StatusCode, p.Code, p.Detail)
		}
		return fmt.Errorf("revoke: the admin API answered %s", resp.Status)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, answer, "", "  "); err != nil {
		return fmt.Errorf("revoke: the answer is not JSON: %w", err)
	}
	out.WriteByte('\n')
	_, err = stdout.Write(out.Bytes())
	return err
}
