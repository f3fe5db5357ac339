package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gatepass/gatepass/adapters/yamlpolicy"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

const policyUsage = `Usage:
  gatepass policy default       print the built-in transport policy as a policy file (YAML, commented)
  gatepass policy check FILE|-  validate a policy file (GATEPASS_POLICY_FILE); print every problem with its line and exit 1
A FILE of "-" is read from standard input.
`

func runPolicy(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return dispatch("policy", policyUsage, args, stdout, stderr, map[string]func([]string) error{
		"default": func(a []string) error { return runPolicyDefault(a, stdout) },
		"check":   func(a []string) error { return runPolicyCheck(a, stdin, stdout, stderr) },
	})
}

const policyDefaultUsage = `Usage:
  gatepass policy default

Prints the built-in transport policy as a policy file (YAML, commented): a
starting point for GATEPASS_POLICY_FILE.
`

const policyCheckUsage = `Usage:
  gatepass policy check FILE|-

Validates a policy file (GATEPASS_POLICY_FILE) as serve would; prints every
problem with its line and exits 1. A FILE of "-" is read from standard input.
`

func runPolicyDefault(args []string, stdout io.Writer) error {
	fs := newFlags("policy default", policyDefaultUsage)
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New("policy default: takes no argument")
	}
	out, err := yamlpolicy.Format(application.DefaultPolicyRules())
	if err != nil {
		return fmt.Errorf("policy default: %w", err)
	}
	_, err = stdout.Write(out)
	return err
}

func runPolicyCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("policy check", policyCheckUsage)
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("policy check: exactly one FILE (or -) is required")
	}
	name := fs.Arg(0)
	var rules domain.PolicyRules
	var err error
	if name == "-" {
		name = "standard input"
		rules, err = yamlpolicy.Read(stdin)
	} else {
		rules, err = yamlpolicy.Load(name)
	}
	if err == nil {
		_, err = application.NewPolicy(rules)
	}
	if pe := (*domain.PolicyError)(nil); errors.As(err, &pe) {
		for _, p := range pe.Problems {
			fmt.Fprintf(stderr, "%s: %s\n", name, p)
		}
		return fmt.Errorf("policy check: %s: %d problem(s)", name, len(pe.Problems))
	}
	if err != nil {
		return fmt.Errorf("policy check: %s: %w", name, err)
	}
	summaries := make([]string, len(rules.Sections))
	for i, section := range rules.Sections {
		summaries[i] = section.PolicySummary()
	}
	fmt.Fprintf(stdout, "ok: %s: policy version %d: %s\n", name, rules.Version, strings.Join(summaries, "; "))
	return nil
}
