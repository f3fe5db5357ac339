// Package yamlpolicy reads and writes gatepass's transport policy as a YAML
// file (GATEPASS_POLICY_FILE) with go.yaml.in/yaml/v4: unknown fields and
// duplicate keys are refused, and every problem is named at once with its
// line.
package yamlpolicy

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/gatepass/gatepass/domain"
)

// MaxFileBytes bounds a policy file.
const MaxFileBytes = 1 << 20

// The file's shape. Rules are kept as nodes at first and decoded one by
// one, so a rule that fails to decode neither hides the others' problems
// nor shifts their indexes.
type document struct {
	Version    int         `yaml:"version"`
	LiveKit    []yaml.Node `yaml:"livekit"`
	Centrifugo struct {
		Connect             []yaml.Node `yaml:"connect"`
		Subscribe           []yaml.Node `yaml:"subscribe"`
		ServerSubscriptions []yaml.Node `yaml:"serverSubscriptions"`
	} `yaml:"centrifugo"`
}

type subjectsYAML struct {
	Roles       []string `yaml:"roles,omitempty,flow"`
	Permissions []string `yaml:"permissions,omitempty,flow"`
}

type liveKitRuleYAML struct {
	Roles       []string `yaml:"roles,omitempty,flow"`
	Permissions []string `yaml:"permissions,omitempty,flow"`
	Rights      []string `yaml:"rights,flow"`
}

type channelRuleYAML struct {
	Roles       []string `yaml:"roles,omitempty,flow"`
	Permissions []string `yaml:"permissions,omitempty,flow"`
	Channels    []string `yaml:"channels,flow"`
}

// Load reads and parses the policy file at path; see Parse.
func Load(path string) (domain.PolicyRules, error) {
	f, err := os.Open(path)
	if err != nil {
		return domain.PolicyRules{}, fmt.Errorf("policy file: %w", err)
	}
	defer f.Close()
	return Read(f)
}

// Read parses a policy from r, at most MaxFileBytes; see Parse.
func Read(r io.Reader) (domain.PolicyRules, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return domain.PolicyRules{}, fmt.Errorf("policy file: %w", err)
	}
	if len(data) > MaxFileBytes {
		return domain.PolicyRules{}, fmt.Errorf("%w: the file is over %d bytes", domain.ErrInvalidPolicy, MaxFileBytes)
	}
	return Parse(data)
}

// Parse parses and validates a policy file. A file that is not YAML gives
// an error wrapping domain.ErrInvalidPolicy; a YAML file with mistakes a
// *domain.PolicyError naming every mistake, with its line: unknown fields,
// wrong types, duplicate keys, and every problem of
// domain.PolicyRules.Problems.
func Parse(data []byte) (domain.PolicyRules, error) {
	var root yaml.Node
	if err := yaml.Load(data, &root); err != nil {
		return domain.PolicyRules{}, fmt.Errorf("%w: not YAML: %s", domain.ErrInvalidPolicy, loadMessage(err))
	}
	p := parser{root: &root}
	var doc document
	if root.Kind != 0 {
		p.decode(&root, &doc)
	}
	rules := domain.PolicyRules{Version: doc.Version}
	rules.LiveKit, p.liveKit = decodeRules(&p, doc.LiveKit, func(r liveKitRuleYAML) domain.LiveKitRule {
		var rights []domain.LiveKitRight
		for _, s := range r.Rights {
			rights = append(rights, domain.LiveKitRight(s))
		}
		return domain.LiveKitRule{Subjects: subjects(r.Roles, r.Permissions), Rights: rights}
	})
	rules.Centrifugo.Connect, p.connect = decodeRules(&p, doc.Centrifugo.Connect, func(r subjectsYAML) domain.Subjects {
		return subjects(r.Roles, r.Permissions)
	})
	channelRule := func(r channelRuleYAML) domain.ChannelRule {
		return domain.ChannelRule{Subjects: subjects(r.Roles, r.Permissions), Channels: nilIfEmpty(r.Channels)}
	}
	rules.Centrifugo.Subscribe, p.subscribe = decodeRules(&p, doc.Centrifugo.Subscribe, channelRule)
	rules.Centrifugo.ServerSubscriptions, p.server = decodeRules(&p, doc.Centrifugo.ServerSubscriptions, channelRule)

	for _, problem := range rules.Problems() {
		p.problems = append(p.problems, p.locate(problem))
	}
	if len(p.problems) > 0 {
		slices.SortStableFunc(p.problems, func(a, b domain.PolicyProblem) int { return cmp.Compare(a.Line, b.Line) })
		return domain.PolicyRules{}, &domain.PolicyError{Problems: p.problems}
	}
	return rules, nil
}

func subjects(roles, permissions []string) domain.Subjects {
	return domain.Subjects{Roles: nilIfEmpty(roles), Permissions: nilIfEmpty(permissions)}
}

// nilIfEmpty makes an empty list nil, as a missing one is.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

type parser struct {
	root     *yaml.Node
	problems []domain.PolicyProblem
	// The file index of each decoded rule, per list.
	liveKit, connect, subscribe, server []int
}

// decode loads node into out, strictly, and records every load error.
func (p *parser) decode(node *yaml.Node, out any) bool {
	err := node.Load(out, yaml.WithKnownFields())
	if err == nil {
		return true
	}
	var list *yaml.LoadErrors
	var one *yaml.LoadError
	switch {
	case errors.As(err, &list):
		for _, e := range list.Errors {
			p.problems = append(p.problems, domain.PolicyProblem{Line: e.Mark.Line, Message: friendly(e.Message)})
		}
	case errors.As(err, &one):
		p.problems = append(p.problems, domain.PolicyProblem{Line: one.Mark.Line, Message: friendly(one.Message)})
	default:
		p.problems = append(p.problems, domain.PolicyProblem{Line: node.Line, Message: err.Error()})
	}
	return false
}

// decodeRules decodes each rule node; a rule that does not decode is left
// out (its problems are recorded). It returns the rules and the file index
// of each.
func decodeRules[Y, R any](p *parser, nodes []yaml.Node, convert func(Y) R) ([]R, []int) {
	var rules []R
	var index []int
	for i := range nodes {
		var y Y
		if !p.decode(&nodes[i], &y) {
			// Its problems are recorded. When unknown fields are all
			// that is wrong, its known fields are still checked.
			y = *new(Y)
			if nodes[i].Load(&y) != nil {
				continue
			}
		}
		rules = append(rules, convert(y))
		index = append(index, i)
	}
	return rules, index
}

// locate turns the indexes of a problem's path into the file's and finds
// its line.
func (p *parser) locate(problem domain.PolicyProblem) domain.PolicyProblem {
	path := slices.Clone(problem.Path)
	if len(path) >= 2 && path[0].Field == "livekit" {
		path[1].Index = p.liveKit[path[1].Index]
	}
	if len(path) >= 3 && path[0].Field == "centrifugo" {
		switch path[1].Field {
		case "connect":
			path[2].Index = p.connect[path[2].Index]
		case "subscribe":
			path[2].Index = p.subscribe[path[2].Index]
		case "serverSubscriptions":
			path[2].Index = p.server[path[2].Index]
		}
	}
	problem.Path = path
	problem.Line = lineOf(p.root, path)
	return problem
}

// lineOf is the line of the value at path, or of the deepest value on the
// way that exists; 0 in an empty file.
func lineOf(root *yaml.Node, path domain.PolicyPath) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, step := range path {
		var next *yaml.Node
		switch {
		case step.Field != "" && n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == step.Field {
					next = n.Content[i+1]
					// An empty value sits on its key's line.
					line = n.Content[i].Line
				}
			}
		case step.Field == "" && n.Kind == yaml.SequenceNode && step.Index < len(n.Content):
			next = n.Content[step.Index]
		}
		if next == nil {
			break
		}
		n = next
		if n.Kind != yaml.ScalarNode || n.Value != "" || n.Tag != "!!null" {
			line = n.Line
		}
	}
	return line
}

var (
	unknownField = regexp.MustCompile(`^field (\S+) not found in type .*$`)
	wrongType    = regexp.MustCompile("^cannot (?:construct|unmarshal) !!(\\w+) (?:`(.*)` )?into (.+)$")
)

// friendly rewords the library's messages without Go type names.
func friendly(msg string) string {
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("unknown field %q", m[1])
	}
	if m := wrongType.FindStringSubmatch(msg); m != nil {
		what := map[string]string{"str": "a string", "int": "an integer", "bool": "a boolean", "float": "a number",
			"map": "a mapping", "seq": "a list", "null": "empty", "binary": "binary data", "timestamp": "a time"}[m[1]]
		if what == "" {
			what = "!!" + m[1]
		}
		if m[2] != "" {
			what = fmt.Sprintf("%q is %s", m[2], what)
		}
		return fmt.Sprintf("wrong type: %s, want %s", what, goTypeWords(m[3]))
	}
	return msg
}

func goTypeWords(t string) string {
	switch {
	case t == "string":
		return "a string"
	case t == "int":
		return "an integer"
	case t == "[]string":
		return "a list of strings"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	default:
		return "a mapping"
	}
}

// loadMessage is the library's message without its prefix.
func loadMessage(err error) string {
	var one *yaml.LoadError
	if errors.As(err, &one) {
		return fmt.Sprintf("line %d: %s", one.Mark.Line, one.Message)
	}
	return err.Error()
}

// header documents the format at the top of every file Format writes.
const header = `gatepass transport policy (GATEPASS_POLICY_FILE).

Rules map a caller's role and permissions to rights per transport. A rule
applies to callers whose role is one of "roles" ("*" for every role; an
identity that names no role has the role "member") or who hold one of
"permissions" (the identity's "permissions" claim). A caller's rights are
the union of the rules that apply to it; what no rule gives is refused.
Every transport grant (LiveKit, Centrifugo) needs an organization, and an organization or user id that goes
into a room or channel name must consist of A-Z a-z 0-9 _ - only.
Unknown fields are refused; "gatepass policy check FILE" validates a file.`

const liveKitComment = `LiveKit: rights in the caller's organization's rooms; joining is always
granted. Rights: canPublish, canSubscribe, canPublishData,
canUpdateOwnMetadata (lets a participant rewrite its own attributes),
roomAdmin (lets a participant, through LiveKit's RoomService API, remove,
mute and rewrite the attributes of every other participant of the room),
roomCreate (also allows a room configuration).`

const connectComment = `Who may connect to Centrifugo.`

const subscribeComment = `Channels a caller may subscribe to. A pattern is an exact channel, or
ends in ".*": that prefix, a dot, then one or more of A-Z a-z 0-9 _ -.
{orgId} and {userId} stand for the caller's verified ids; each stands
between the pattern's start or end and . : /, since ids hold _ and -.`

const serverComment = `Channels put in the connection token ("channels"): the caller is
subscribed on the server side. Exact patterns only (no ".*").`

// Format writes rules as a commented policy file that Parse reads back to
// the same rules.
func Format(rules domain.PolicyRules) ([]byte, error) {
	doc := document{Version: rules.Version}
	var err error
	if doc.LiveKit, err = encodeRules(rules.LiveKit, func(r domain.LiveKitRule) liveKitRuleYAML {
		rights := make([]string, len(r.Rights))
		for i, right := range r.Rights {
			rights[i] = string(right)
		}
		return liveKitRuleYAML{Roles: r.Roles, Permissions: r.Permissions, Rights: rights}
	}); err != nil {
		return nil, err
	}
	if doc.Centrifugo.Connect, err = encodeRules(rules.Centrifugo.Connect, func(s domain.Subjects) subjectsYAML {
		return subjectsYAML{Roles: s.Roles, Permissions: s.Permissions}
	}); err != nil {
		return nil, err
	}
	channelRule := func(r domain.ChannelRule) channelRuleYAML {
		return channelRuleYAML{Roles: r.Roles, Permissions: r.Permissions, Channels: r.Channels}
	}
	if doc.Centrifugo.Subscribe, err = encodeRules(rules.Centrifugo.Subscribe, channelRule); err != nil {
		return nil, err
	}
	if doc.Centrifugo.ServerSubscriptions, err = encodeRules(rules.Centrifugo.ServerSubscriptions, channelRule); err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := root.Dump(&doc); err != nil {
		return nil, fmt.Errorf("format policy: %w", err)
	}
	comment(&root, header, nil)
	comment(&root, liveKitComment, []string{"livekit"})
	comment(&root, connectComment, []string{"centrifugo", "connect"})
	comment(&root, subscribeComment, []string{"centrifugo", "subscribe"})
	comment(&root, serverComment, []string{"centrifugo", "serverSubscriptions"})
	var out bytes.Buffer
	enc, err := yaml.NewDumper(&out, yaml.WithIndent(2))
	if err != nil {
		return nil, fmt.Errorf("format policy: %w", err)
	}
	if err := enc.Dump(&root); err != nil {
		return nil, fmt.Errorf("format policy: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("format policy: %w", err)
	}
	return out.Bytes(), nil
}

func encodeRules[R, Y any](rules []R, convert func(R) Y) ([]yaml.Node, error) {
	nodes := make([]yaml.Node, len(rules))
	for i, r := range rules {
		if err := nodes[i].Dump(convert(r)); err != nil {
			return nil, fmt.Errorf("format policy: %w", err)
		}
	}
	return nodes, nil
}

// comment puts text above the key at path (above the document when path
// is empty).
func comment(root *yaml.Node, text string, path []string) {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if len(path) == 0 {
		n.HeadComment = text
		return
	}
	for depth, field := range path {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value != field {
				continue
			}
			if depth == len(path)-1 {
				n.Content[i].HeadComment = text
				return
			}
			n = n.Content[i+1]
			break
		}
	}
}
