package domain

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Sentinel errors of the transport policy and of the grants it governs,
// shared by every transport; a transport's own errors sit in its file. The
// inbound adapter maps them to HTTP answers with errors.Is.
var (
	// ErrInvalidPermissions means a verified identity's permissions claim
	// cannot be a set of permissions.
	ErrInvalidPermissions = errors.New("invalid permissions")
	// ErrInvalidPolicy means a policy breaks its own rules; PolicyError
	// lists every problem.
	ErrInvalidPolicy = errors.New("invalid policy")
	// ErrTransportNotAllowed means no rule of the policy lets the caller use
	// a transport at all.
	ErrTransportNotAllowed = errors.New("transport not allowed by policy")
	// ErrUnsupportedIdentifier means an organization or user id that a room
	// or channel name would carry holds characters other than
	// A-Z a-z 0-9 _ -, so a name built from it could reach another's.
	ErrUnsupportedIdentifier = errors.New("identifier unsupported in room and channel names")
	// ErrForbiddenField means the request sets a field the caller's rights
	// do not cover.
	ErrForbiddenField = errors.New("field not allowed for the caller")
)

// PolicyVersion is the version of the policy format this build reads.
const PolicyVersion = 1

// AnyRole in a rule's roles matches every role.
const AnyRole = "*"

// MaxIdentifierBytes bounds an organization or user id that goes into a
// room or channel name.
const MaxIdentifierBytes = 128

// SafeIdentifier reports whether s may go into a room or channel name: 1 to
// MaxIdentifierBytes characters of A-Z a-z 0-9 _ -. WorkOS ids are.
func SafeIdentifier(s string) bool {
	return s != "" && len(s) <= MaxIdentifierBytes && safeChars(s)
}

func safeChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// EffectiveRole is the role a policy sees: the caller's, or DefaultRole for
// a member whose identity names none.
func (p Principal) EffectiveRole() string {
	if p.Role == "" {
		return DefaultRole
	}
	return p.Role
}

// Subjects names whom a rule applies to: callers with one of Roles (AnyRole
// for every role) or holding one of Permissions.
type Subjects struct {
	Roles       []string `yaml:"roles,omitempty,flow"`
	Permissions []string `yaml:"permissions,omitempty,flow"`
}

// Matches reports whether the rule applies to p.
func (s Subjects) Matches(p Principal) bool {
	role := p.EffectiveRole()
	for _, r := range s.Roles {
		if r == AnyRole || r == role {
			return true
		}
	}
	for _, perm := range s.Permissions {
		if p.Permissions.Has(perm) {
			return true
		}
	}
	return false
}

// PolicySection is one grant kind's part of the policy: the rules of that
// kind, under one key of the policy file. Each kind's file defines its
// section; the policy machinery (validation, the policy file, the Policy
// that answers) walks the sections of PolicySections without naming them.
//
// A section is a list of rules, or a struct whose fields are lists of
// rules (or such structs). Its yaml tags name its fields in the policy
// file, and they are the field names of its problems' paths.
type PolicySection interface {
	// PolicyKey is the section's key in the policy file and the first
	// step of its problems' paths.
	PolicyKey() string
	// PolicyTitle names the section's transport in prose.
	PolicyTitle() string
	// PolicyComments document the section in the file "gatepass policy
	// default" writes.
	PolicyComments() []PolicyComment
	// PolicySummary counts the section's rules for "gatepass policy check".
	PolicySummary() string
	// DefaultSection is the section gatepass applies when no policy file
	// is given.
	DefaultSection() PolicySection
	// SectionProblems lists the section's mistakes, in the order of the
	// policy file, with paths under at.
	SectionProblems(at PolicyPath) []PolicyProblem
	// Prepared is a deep copy of a valid section, sharing no list with it,
	// ready to answer (whatever it parses, parsed once).
	Prepared() PolicySection
}

// PolicyComment documents part of a section: Text goes above the key at
// Path, the field names below the section's key (none for the key itself).
type PolicyComment struct {
	Path []string
	Text string
}

// PolicyRules map a caller's role and permissions to rights per grant
// kind, one section per kind. Every grant needs a matching rule: what no
// rule gives is refused, and a section left out gives nothing.
type PolicyRules struct {
	Version  int
	Sections []PolicySection
}

// Section is r's section under key, if r has one.
func (r PolicyRules) Section(key string) (PolicySection, bool) {
	for _, s := range r.Sections {
		if s != nil && s.PolicyKey() == key {
			return s, true
		}
	}
	return nil, false
}

// PolicySectionOf is r's section of type S, or the zero S (no rule) when
// r has none. The section shares its lists with r.
func PolicySectionOf[S PolicySection](r PolicyRules) S {
	for _, s := range r.Sections {
		if s, ok := s.(S); ok {
			return s
		}
	}
	return *new(S)
}

// PathStep is one step of a PolicyPath: a field name, or an index in a
// list when Field is empty.
type PathStep struct {
	Field string
	Index int
}

// PolicyPath locates a value in a policy, in the policy file's names.
type PolicyPath []PathStep

func (p PolicyPath) field(name string) PolicyPath {
	return append(slices.Clip(p), PathStep{Field: name})
}

func (p PolicyPath) index(i int) PolicyPath {
	return append(slices.Clip(p), PathStep{Index: i})
}

// String spells the path as "section[2].rights[0]".
func (p PolicyPath) String() string {
	var b strings.Builder
	for _, s := range p {
		if s.Field == "" {
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Field)
	}
	return b.String()
}

// PolicyProblem is one mistake in a policy.
type PolicyProblem struct {
	Path PolicyPath
	// Line is the line of the policy file where the mistake is, 0 when
	// unknown (a policy that came from no file).
	Line    int
	Message string
}

func (p PolicyProblem) String() string {
	var parts []string
	if p.Line > 0 {
		parts = append(parts, "line "+strconv.Itoa(p.Line))
	}
	if len(p.Path) > 0 {
		parts = append(parts, p.Path.String())
	}
	return strings.Join(append(parts, p.Message), ": ")
}

// PolicyError lists every problem of a policy; it unwraps to
// ErrInvalidPolicy.
type PolicyError struct {
	Problems []PolicyProblem
}

func (e *PolicyError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.String()
	}
	return fmt.Sprintf("%s: %d problem(s): %s", ErrInvalidPolicy, len(e.Problems), strings.Join(msgs, "; "))
}

// Unwrap makes errors.Is(err, ErrInvalidPolicy) hold.
func (e *PolicyError) Unwrap() error { return ErrInvalidPolicy }

// Problems lists every mistake of the rules, in the order of the policy
// file; none for valid rules.
func (r PolicyRules) Problems() []PolicyProblem {
	var v validator
	switch r.Version {
	case PolicyVersion:
	case 0:
		v.add(PolicyPath{{Field: "version"}}, "version is missing: set it to %d", PolicyVersion)
	default:
		v.add(PolicyPath{{Field: "version"}}, "%d is not a supported version, use %d", r.Version, PolicyVersion)
	}
	seen := map[string]bool{}
	for _, section := range r.Sections {
		if section == nil {
			continue
		}
		key := section.PolicyKey()
		at := PolicyPath{{Field: key}}
		if seen[key] {
			v.add(at, "the section appears twice")
			continue
		}
		seen[key] = true
		v.problems = append(v.problems, section.SectionProblems(at)...)
	}
	return v.problems
}

// Validate returns a *PolicyError naming every problem, or nil.
func (r PolicyRules) Validate() error {
	if problems := r.Problems(); len(problems) > 0 {
		return &PolicyError{Problems: problems}
	}
	return nil
}

type validator struct {
	problems []PolicyProblem
}

func (v *validator) add(path PolicyPath, format string, args ...any) {
	v.problems = append(v.problems, PolicyProblem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) subjects(path PolicyPath, s Subjects) {
	if len(s.Roles) == 0 && len(s.Permissions) == 0 {
		v.add(path, "empty rule: name the roles or the permissions it applies to")
	}
	seen := map[string]bool{}
	for i, role := range s.Roles {
		p := path.field("roles").index(i)
		if role != AnyRole {
			if err := validPermission(role); err != nil {
				v.add(p, "role %v", err)
				continue
			}
		}
		if seen[role] {
			v.add(p, "duplicate role %q", role)
		}
		seen[role] = true
	}
	seen = map[string]bool{}
	for i, perm := range s.Permissions {
		p := path.field("permissions").index(i)
		if err := validPermission(perm); err != nil {
			v.add(p, "permission %v", err)
			continue
		}
		if perm == AnyRole {
			v.add(p, "%q stands for every role and is no permission", AnyRole)
			continue
		}
		if seen[perm] {
			v.add(p, "duplicate permission %q", perm)
		}
		seen[perm] = true
	}
}

// clone copies the lists.
func (s Subjects) clone() Subjects {
	return Subjects{Roles: slices.Clone(s.Roles), Permissions: slices.Clone(s.Permissions)}
}
