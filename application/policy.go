package application

import (
	"fmt"

	"github.com/gatepass/gatepass/domain"
)

// DefaultPolicyRules are the rules gatepass applies when no policy file is
// given: the default section of every kind (see domain.PolicySections).
func DefaultPolicyRules() domain.PolicyRules {
	rules := domain.PolicyRules{Version: domain.PolicyVersion}
	for _, s := range domain.PolicySections() {
		rules.Sections = append(rules.Sections, s.DefaultSection())
	}
	return rules
}

// Policy answers what a caller may do under each kind's section of the
// policy. It is built once from validated rules and is safe for concurrent
// use. Every grant needs a caller that acts in an organization, and a rule
// that applies to it.
type Policy struct {
	rules domain.PolicyRules
}

// NewPolicy validates rules and builds the Policy; the error is a
// *domain.PolicyError naming every problem.
func NewPolicy(rules domain.PolicyRules) (*Policy, error) {
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	return &Policy{rules: prepared(rules)}, nil
}

// DefaultPolicy is the Policy of DefaultPolicyRules.
func DefaultPolicy() *Policy {
	p, err := NewPolicy(DefaultPolicyRules())
	if err != nil {
		panic(fmt.Sprintf("the default policy is invalid: %v", err))
	}
	return p
}

// Rules are the rules the Policy applies (a copy).
func (p *Policy) Rules() domain.PolicyRules { return prepared(p.rules) }

// prepared copies every section, so a Policy never shares its lists, and
// readies it to answer.
func prepared(r domain.PolicyRules) domain.PolicyRules {
	out := domain.PolicyRules{Version: r.Version, Sections: make([]domain.PolicySection, 0, len(r.Sections))}
	for _, s := range r.Sections {
		if s != nil {
			out.Sections = append(out.Sections, s.Prepared())
		}
	}
	return out
}

// PolicySectionOf is p's section of type S, the zero S (no rule) when p
// has none: the kind's own rules answer what a caller may do. The section
// is p's own; read it, never change it.
func PolicySectionOf[S domain.PolicySection](p *Policy) S {
	return domain.PolicySectionOf[S](p.rules)
}
