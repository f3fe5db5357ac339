package domain

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Sentinel errors of the transport policy and of the LiveKit and Centrifugo
// grants. The inbound adapter maps them to HTTP answers with errors.Is.
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
	// ErrChannelNotAllowed means no rule of the policy lets the caller
	// subscribe to a channel.
	ErrChannelNotAllowed = errors.New("channel not allowed by policy")
	// ErrUnsupportedIdentifier means an organization or user id that a room
	// or channel name would carry holds characters other than
	// A-Z a-z 0-9 _ -, so a name built from it could reach another's.
	ErrUnsupportedIdentifier = errors.New("identifier unsupported in room and channel names")
	// ErrInvalidChannel means a channel name is missing, too long, or holds
	// white space or control characters.
	ErrInvalidChannel = errors.New("invalid channel")
	// ErrInvalidRoom means a room name or room configuration is malformed.
	ErrInvalidRoom = errors.New("invalid room")
	// ErrInvalidParticipant means a participant's name, metadata or
	// attributes are malformed or over their limits.
	ErrInvalidParticipant = errors.New("invalid participant")
	// ErrIdentityMismatch means a requested participant identity is not the
	// caller's user id, alone or with a device label.
	ErrIdentityMismatch = errors.New("identity does not match the caller")
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
	Roles       []string
	Permissions []string
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

// LiveKitRight is one right of LiveKit's video grant that a policy may
// give, spelled as LiveKit spells it. Joining the room is not among them: a
// LiveKit grant always joins.
type LiveKitRight string

// The LiveKit rights.
const (
	CanPublish           LiveKitRight = "canPublish"
	CanSubscribe         LiveKitRight = "canSubscribe"
	CanPublishData       LiveKitRight = "canPublishData"
	CanUpdateOwnMetadata LiveKitRight = "canUpdateOwnMetadata"
	RoomAdmin            LiveKitRight = "roomAdmin"
	RoomCreate           LiveKitRight = "roomCreate"
)

// LiveKitRightNames lists every LiveKitRight, in the order LiveKit's
// documentation gives them.
func LiveKitRightNames() []LiveKitRight {
	return []LiveKitRight{CanPublish, CanSubscribe, CanPublishData, CanUpdateOwnMetadata, RoomAdmin, RoomCreate}
}

// Valid reports whether r is a known right.
func (r LiveKitRight) Valid() bool { return slices.Contains(LiveKitRightNames(), r) }

// LiveKitRights are what a caller may do in its LiveKit room, besides
// joining it (always granted).
type LiveKitRights struct {
	CanPublish           bool
	CanSubscribe         bool
	CanPublishData       bool
	CanUpdateOwnMetadata bool
	RoomAdmin            bool
	RoomCreate           bool
}

// With returns r with right added; an unknown right adds nothing.
func (r LiveKitRights) With(right LiveKitRight) LiveKitRights {
	switch right {
	case CanPublish:
		r.CanPublish = true
	case CanSubscribe:
		r.CanSubscribe = true
	case CanPublishData:
		r.CanPublishData = true
	case CanUpdateOwnMetadata:
		r.CanUpdateOwnMetadata = true
	case RoomAdmin:
		r.RoomAdmin = true
	case RoomCreate:
		r.RoomCreate = true
	}
	return r
}

// LiveKitRule gives Rights to its Subjects. A caller's rights are the union
// of the rights of every rule that applies to it.
type LiveKitRule struct {
	Subjects
	Rights []LiveKitRight
}

// ChannelRule lets its Subjects use the channels of Channels, each a
// channel pattern (see ParseChannelPattern).
type ChannelRule struct {
	Subjects
	Channels []string
}

// CentrifugoRules say who connects to Centrifugo, which channels one may
// subscribe to, and which channels the connection token subscribes one to
// on the server side.
type CentrifugoRules struct {
	Connect             []Subjects
	Subscribe           []ChannelRule
	ServerSubscriptions []ChannelRule
}

// PolicyRules map a caller's role and permissions to rights per transport.
// Every grant needs a matching rule: what no rule gives is refused. The
// field names of the policy file are those of the paths in PolicyProblem.
type PolicyRules struct {
	Version    int
	LiveKit    []LiveKitRule
	Centrifugo CentrifugoRules
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

// String spells the path as "livekit[2].rights[0]".
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
	lk := PolicyPath{{Field: "livekit"}}
	for i, rule := range r.LiveKit {
		v.liveKitRule(lk.index(i), rule)
	}
	cf := PolicyPath{{Field: "centrifugo"}}
	for i, s := range r.Centrifugo.Connect {
		v.subjects(cf.field("connect").index(i), s)
	}
	for i, rule := range r.Centrifugo.Subscribe {
		v.channelRule(cf.field("subscribe").index(i), rule, true)
	}
	for i, rule := range r.Centrifugo.ServerSubscriptions {
		v.channelRule(cf.field("serverSubscriptions").index(i), rule, false)
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

func (v *validator) liveKitRule(path PolicyPath, r LiveKitRule) {
	v.subjects(path, r.Subjects)
	if len(r.Rights) == 0 {
		v.add(path.field("rights"), "the rule grants no right")
	}
	seen := map[LiveKitRight]bool{}
	for i, right := range r.Rights {
		p := path.field("rights").index(i)
		if !right.Valid() {
			v.add(p, "unknown right %q (known: %s, and joining is always granted)", right, joinRights(LiveKitRightNames()))
			continue
		}
		if seen[right] {
			v.add(p, "duplicate right %q", right)
		}
		seen[right] = true
	}
}

func (v *validator) channelRule(path PolicyPath, r ChannelRule, wildcards bool) {
	v.subjects(path, r.Subjects)
	if len(r.Channels) == 0 {
		v.add(path.field("channels"), "the rule names no channel")
	}
	seen := map[string]bool{}
	for i, ch := range r.Channels {
		p := path.field("channels").index(i)
		pattern, err := parseChannelPattern(ch)
		if err != nil {
			v.add(p, "pattern %q: %v", ch, err)
			continue
		}
		if !wildcards && pattern.Wildcard() {
			v.add(p, "pattern %q ends in .*: a server-side subscription names one channel", ch)
			continue
		}
		if seen[ch] {
			v.add(p, "duplicate channel %q", ch)
		}
		seen[ch] = true
	}
}

func joinRights(rights []LiveKitRight) string {
	s := make([]string, len(rights))
	for i, r := range rights {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}
