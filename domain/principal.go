package domain

import (
	"fmt"
	"strings"
)

// DefaultRole is the role given to an organization member whose identity
// names none; it is the default role slug of WorkOS organizations.
const DefaultRole = "member"

// Principal is a verified caller: the user, the organization it currently
// acts in (may be empty) and its role in that organization.
type Principal struct {
	UserID string
	OrgID  string
	Role   string
	// Permissions are the permission slugs the identity carries; empty
	// when it names none.
	Permissions Permissions
}

// NewPrincipal builds a Principal from verified identity values. A user id is
// required; a member of an organization without a role gets DefaultRole.
func NewPrincipal(userID, orgID, role string) (Principal, error) {
	userID, orgID, role = strings.TrimSpace(userID), strings.TrimSpace(orgID), strings.TrimSpace(role)
	if userID == "" {
		return Principal{}, fmt.Errorf("%w: user id is empty", ErrInvalidPrincipal)
	}
	if orgID == "" {
		role = ""
	} else if role == "" {
		role = DefaultRole
	}
	return Principal{UserID: userID, OrgID: orgID, Role: role}, nil
}

// HasOrganization reports whether the caller acts in an organization.
func (p Principal) HasOrganization() bool { return p.OrgID != "" }
