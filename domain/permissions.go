package domain

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a caller's permissions, so that a verified identity cannot make
// every policy decision walk an unbounded list.
const (
	MaxPermissions     = 64
	MaxPermissionBytes = 128
)

// permissionSeparator joins the canonical list; it is a control character,
// which no permission may hold.
const permissionSeparator = "\x00"

// Permissions is the set of permission slugs a verified identity carries
// (WorkOS's "permissions" claim). It is an immutable, comparable value, so a
// Principal holding it stays comparable with ==: the set is kept as one
// canonical string, sorted and without duplicates. The zero value is the
// empty set.
type Permissions struct {
	joined string
}

// NewPermissions builds the set from a claim's list. It refuses an empty
// entry, an entry holding white space, a control character or invalid
// UTF-8, an entry over MaxPermissionBytes bytes and a list of more than
// MaxPermissions entries. Duplicates are dropped; order does not matter.
func NewPermissions(list []string) (Permissions, error) {
	if len(list) > MaxPermissions {
		return Permissions{}, fmt.Errorf("%w: %d entries, at most %d", ErrInvalidPermissions, len(list), MaxPermissions)
	}
	for i, p := range list {
		if err := validPermission(p); err != nil {
			return Permissions{}, fmt.Errorf("%w: entry %d %v", ErrInvalidPermissions, i, err)
		}
	}
	sorted := slices.Clone(list)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	return Permissions{joined: strings.Join(sorted, permissionSeparator)}, nil
}

// validPermission reports why s cannot be a permission (or a role name in a
// policy, which follows the same rule). Its messages never quote s.
func validPermission(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("is empty")
	case len(s) > MaxPermissionBytes:
		return fmt.Errorf("is %d bytes, at most %d", len(s), MaxPermissionBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("is not valid UTF-8")
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Errorf("holds white space or a control character")
	}
	return nil
}

// Has reports whether the set holds permission.
func (p Permissions) Has(permission string) bool {
	if p.joined == "" || permission == "" || strings.Contains(permission, permissionSeparator) {
		return false
	}
	for s := range strings.SplitSeq(p.joined, permissionSeparator) {
		if s == permission {
			return true
		}
	}
	return false
}

// List returns the permissions, sorted; nil for the empty set. The caller
// owns the slice.
func (p Permissions) List() []string {
	if p.joined == "" {
		return nil
	}
	return strings.Split(p.joined, permissionSeparator)
}

// Len is the number of permissions in the set.
func (p Permissions) Len() int {
	if p.joined == "" {
		return 0
	}
	return strings.Count(p.joined, permissionSeparator) + 1
}
