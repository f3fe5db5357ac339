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
	"iter"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/gatepass/gatepass/domain"
)

// MaxFileBytes bounds a policy file.
const MaxFileBytes = 1 << 20

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
	sections := domain.PolicySections()
	p := parser{root: &root, index: map[string][]int{}, types: typesOf(sections)}
	doc := reflect.New(documentOf(sections))
	if root.Kind != 0 {
		p.decode(&root, doc.Interface())
	}
	rules := domain.PolicyRules{Version: int(doc.Elem().Field(0).Int())}
	for i, s := range sections {
		section := reflect.New(reflect.TypeOf(s)).Elem()
		p.fill(doc.Elem().Field(i+1), section, domain.PolicyPath{{Field: s.PolicyKey()}})
		rules.Sections = append(rules.Sections, section.Interface().(domain.PolicySection))
	}

	for _, problem := range rules.Problems() {
		p.problems = append(p.problems, p.locate(problem))
	}
	if len(p.problems) > 0 {
		slices.SortStableFunc(p.problems, func(a, b domain.PolicyProblem) int { return cmp.Compare(a.Line, b.Line) })
		return domain.PolicyRules{}, &domain.PolicyError{Problems: p.problems}
	}
	return rules, nil
}

// The file's shape is built from the sections' types: the document holds
// the version and each section under its key, and every list of rules is
// kept as nodes at first and decoded one rule at a time, so a rule that
// fails to decode neither hides the others' problems nor shifts their
// indexes.

var nodesType = reflect.TypeFor[[]yaml.Node]()

// ruleList reports whether t is a list of rules: a list of mappings.
func ruleList(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct
}

// documentOf is the shape of a policy file with sections.
func documentOf(sections []domain.PolicySection) reflect.Type {
	fields := []reflect.StructField{{Name: "Version", Type: reflect.TypeFor[int](), Tag: `yaml:"version"`}}
	for i, s := range sections {
		fields = append(fields, reflect.StructField{
			Name: "Section" + strconv.Itoa(i),
			Type: shapeOf(reflect.TypeOf(s)),
			Tag:  reflect.StructTag(`yaml:"` + s.PolicyKey() + `"`),
		})
	}
	return reflect.StructOf(fields)
}

// shapeOf is t with every list of rules as nodes.
func shapeOf(t reflect.Type) reflect.Type {
	switch {
	case ruleList(t):
		return nodesType
	case t.Kind() == reflect.Struct:
		var fields []reflect.StructField
		for f := range fieldsOf(t) {
			fields = append(fields, reflect.StructField{Name: f.Name, Type: shapeOf(f.Type), Tag: f.Tag})
		}
		return reflect.StructOf(fields)
	default:
		return t
	}
}

// fieldsOf yields the exported fields of the struct type t, which are the
// policy file's.
func fieldsOf(t reflect.Type) iter.Seq[reflect.StructField] {
	return func(yield func(reflect.StructField) bool) {
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && !yield(f) {
				return
			}
		}
	}
}

// keyOf is the policy file's name of a field.
func keyOf(f reflect.StructField) string {
	if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" {
		return name
	}
	return strings.ToLower(f.Name)
}

func fieldPath(path domain.PolicyPath, name string) domain.PolicyPath {
	return append(slices.Clip(path), domain.PathStep{Field: name})
}

// fill decodes shape, a value of shapeOf(out.Type()), into out, one rule at
// a time; a rule that does not decode is left out (its problems are
// recorded). It records the file index of each rule of each list.
func (p *parser) fill(shape, out reflect.Value, path domain.PolicyPath) {
	switch t := out.Type(); {
	case ruleList(t):
		nodes := shape.Interface().([]yaml.Node)
		var index []int
		for i := range nodes {
			rule := reflect.New(t.Elem())
			if !p.decode(&nodes[i], rule.Interface()) {
				// Its problems are recorded. When unknown fields are all
				// that is wrong, its known fields are still checked.
				rule = reflect.New(t.Elem())
				if nodes[i].Load(rule.Interface()) != nil {
					continue
				}
			}
			emptyToNil(rule.Elem())
			out.Set(reflect.Append(out, rule.Elem()))
			index = append(index, i)
		}
		p.index[path.String()] = index
	case t.Kind() == reflect.Struct:
		for f := range fieldsOf(t) {
			p.fill(shape.FieldByName(f.Name), out.FieldByIndex(f.Index), fieldPath(path, keyOf(f)))
		}
	default:
		out.Set(shape)
	}
}

// emptyToNil makes every empty list of a rule nil, as a missing one is.
func emptyToNil(v reflect.Value) {
	for f := range fieldsOf(v.Type()) {
		switch field := v.FieldByIndex(f.Index); field.Kind() {
		case reflect.Slice:
			if field.Len() == 0 {
				field.SetZero()
			}
		case reflect.Struct:
			emptyToNil(field)
		}
	}
}

type parser struct {
	root     *yaml.Node
	problems []domain.PolicyProblem
	// index holds the file index of each decoded rule, per list path.
	index map[string][]int
	// types are the sections' types by name, to word the library's
	// messages.
	types map[string]reflect.Type
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
			p.problems = append(p.problems, domain.PolicyProblem{Line: e.Mark.Line, Message: p.friendly(e.Message)})
		}
	case errors.As(err, &one):
		p.problems = append(p.problems, domain.PolicyProblem{Line: one.Mark.Line, Message: p.friendly(one.Message)})
	default:
		p.problems = append(p.problems, domain.PolicyProblem{Line: node.Line, Message: err.Error()})
	}
	return false
}

// locate turns the indexes of a problem's path into the file's and finds
// its line.
func (p *parser) locate(problem domain.PolicyProblem) domain.PolicyProblem {
	path := slices.Clone(problem.Path)
	for k, step := range path {
		if step.Field != "" {
			continue
		}
		if index, ok := p.index[path[:k].String()]; ok && step.Index < len(index) {
			path[k].Index = index[step.Index]
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
func (p *parser) friendly(msg string) string {
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
		return fmt.Sprintf("wrong type: %s, want %s", what, p.typeWords(m[3]))
	}
	return msg
}

// typeWords names a Go type the way a policy file's author sees it.
func (p *parser) typeWords(t string) string {
	if elem, ok := strings.CutPrefix(t, "[]"); ok {
		if p.kindOf(elem) == reflect.String {
			return "a list of strings"
		}
		return "a list"
	}
	switch p.kindOf(t) {
	case reflect.String:
		return "a string"
	case reflect.Int:
		return "an integer"
	default:
		return "a mapping"
	}
}

func (p *parser) kindOf(t string) reflect.Kind {
	switch t {
	case "string":
		return reflect.String
	case "int":
		return reflect.Int
	}
	if typ, ok := p.types[t]; ok {
		return typ.Kind()
	}
	return reflect.Invalid
}

// typesOf names every type the sections are made of.
func typesOf(sections []domain.PolicySection) map[string]reflect.Type {
	types := map[string]reflect.Type{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		if _, seen := types[t.String()]; seen {
			return
		}
		types[t.String()] = t
		switch t.Kind() {
		case reflect.Slice:
			walk(t.Elem())
		case reflect.Struct:
			for f := range fieldsOf(t) {
				walk(f.Type)
			}
		}
	}
	for _, s := range sections {
		walk(reflect.TypeOf(s))
	}
	return types
}

// loadMessage is the library's message without its prefix.
func loadMessage(err error) string {
	var one *yaml.LoadError
	if errors.As(err, &one) {
		return fmt.Sprintf("line %d: %s", one.Mark.Line, one.Message)
	}
	return err.Error()
}

// header documents the format at the top of every file Format writes;
// %s names the transports.
const header = `gatepass transport policy (GATEPASS_POLICY_FILE).

Rules map a caller's role and permissions to rights per transport. A rule
applies to callers whose role is one of "roles" ("*" for every role; an
identity that names no role has the role "member") or who hold one of
"permissions" (the identity's "permissions" claim). A caller's rights are
the union of the rules that apply to it; what no rule gives is refused.
Every transport grant (%s) needs an organization, and an organization or user id that goes
into a room or channel name must consist of A-Z a-z 0-9 _ - only.
Unknown fields are refused; "gatepass policy check FILE" validates a file.`

// Format writes rules as a commented policy file that Parse reads back to
// the same rules. It writes every section this build knows, a section rules
// lack as an empty one.
func Format(rules domain.PolicyRules) ([]byte, error) {
	sections := domain.PolicySections()
	doc := reflect.New(documentOf(sections)).Elem()
	doc.Field(0).SetInt(int64(rules.Version))
	titles := make([]string, len(sections))
	for i, empty := range sections {
		titles[i] = empty.PolicyTitle()
		s, ok := rules.Section(empty.PolicyKey())
		if !ok || reflect.TypeOf(s) != reflect.TypeOf(empty) {
			s = empty
		}
		if err := encode(reflect.ValueOf(s), doc.Field(i+1)); err != nil {
			return nil, err
		}
	}
	var root yaml.Node
	if err := root.Dump(doc.Addr().Interface()); err != nil {
		return nil, fmt.Errorf("format policy: %w", err)
	}
	comment(&root, fmt.Sprintf(header, strings.Join(titles, ", ")), nil)
	for _, s := range sections {
		for _, c := range s.PolicyComments() {
			comment(&root, c.Text, append([]string{s.PolicyKey()}, c.Path...))
		}
	}
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

// encode sets shape, a value of shapeOf(v.Type()), from v: every rule of
// a list as a node.
func encode(v, shape reflect.Value) error {
	switch t := v.Type(); {
	case ruleList(t):
		nodes := make([]yaml.Node, v.Len())
		for i := range nodes {
			if err := nodes[i].Dump(v.Index(i).Interface()); err != nil {
				return fmt.Errorf("format policy: %w", err)
			}
		}
		shape.Set(reflect.ValueOf(nodes))
	case t.Kind() == reflect.Struct:
		for f := range fieldsOf(t) {
			if err := encode(v.FieldByIndex(f.Index), shape.FieldByName(f.Name)); err != nil {
				return err
			}
		}
	default:
		shape.Set(v)
	}
	return nil
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
