package bootstrap

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/gatepass/gatepass/application"
)

// problems collects what is wrong with the settings, one line per problem,
// each naming its variable and never its value, so one message can name
// them all. A variable that failed to parse is not judged again.
type problems struct {
	lines    []problem
	unparsed map[string]bool
}

type problem struct{ name, text string }

func (p *problems) add(name, format string, args ...any) {
	if p.unparsed[name] {
		return
	}
	p.lines = append(p.lines, problem{name: name, text: fmt.Sprintf(format, args...)})
}

// has reports whether name has a problem already.
func (p *problems) has(name string) bool {
	return p.unparsed[name] || slices.ContainsFunc(p.lines, func(l problem) bool { return l.name == name })
}

// err is nil when there is no problem; otherwise one error listing every
// problem, APP_ENV's first, then by variable.
func (p *problems) err() error {
	if len(p.lines) == 0 {
		return nil
	}
	slices.SortStableFunc(p.lines, func(a, b problem) int {
		if (a.name == "APP_ENV") != (b.name == "APP_ENV") {
			if a.name == "APP_ENV" {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	errs := make(lineErrors, len(p.lines))
	for i, l := range p.lines {
		errs[i] = fmt.Errorf("%s: %s", l.name, l.text)
	}
	return fmt.Errorf("invalid configuration:\n  %w", errs)
}

// lineErrors prints one problem per line.
type lineErrors []error

func (l lineErrors) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n  ")
}

func (l lineErrors) Unwrap() []error { return l }

// parseEnvironment reads environ into the declaration. A value that does
// not parse is a problem naming its variable and what was expected; the
// rest is still read, so every problem is reported at once.
func parseEnvironment(environ map[string]string, p *problems) environment {
	p.unparsed = map[string]bool{}
	refuseQuoted(environ, p)
	// env parses a value just after calling OnSet for its variable, so the
	// parsers below know which variable they read.
	var current string
	named := func(what string, parse func(string) (any, error)) env.ParserFunc {
		return func(v string) (any, error) {
			out, err := parse(v)
			if err != nil {
				p.lines = append(p.lines, problem{name: current, text: "is not " + what})
				p.unparsed[current] = true
				return nil, errors.New(current)
			}
			return out, nil
		}
	}
	opts := env.Options{
		Environment: environ,
		OnSet:       func(key string, _ any, _ bool) { current = key },
		FuncMap: map[reflect.Type]env.ParserFunc{
			reflect.TypeFor[time.Duration](): named("a duration such as 30s or 1m", func(v string) (any, error) { return time.ParseDuration(v) }),
			reflect.TypeFor[int64]():         named("a whole number", func(v string) (any, error) { return strconv.ParseInt(v, 10, 64) }),
			reflect.TypeFor[bool]():          named("true or false", func(v string) (any, error) { return strconv.ParseBool(v) }),
			reflect.TypeFor[int](): named("a whole number", func(v string) (any, error) {
				n, err := strconv.Atoi(v)
				return n, err
			}),
		},
	}
	e, err := env.ParseAsWithOptions[environment](opts)
	errs := []error{err}
	e.Transports = newTransportEnvs()
	for _, t := range e.Transports {
		errs = append(errs, env.ParseWithOptions(t, opts))
	}
	for _, err := range errs {
		var agg env.AggregateError
		if !errors.As(err, &agg) {
			continue
		}
		for _, one := range agg.Errors {
			// Parse errors were recorded by name above; anything else is
			// reported without the value it may quote.
			if !errors.As(one, new(env.ParseError)) {
				p.lines = append(p.lines, problem{name: "environment", text: "cannot be read"})
			}
		}
	}
	resolveSecrets(&e, environ, p)
	refuseSharedSecrets(reflect.ValueOf(&e).Elem(), p)
	return e
}

// addSettings reports the policy fields a constructor refused (see
// application.SettingError), each under the variable that sets it; a
// field missing from variables, or an error of another kind, is reported
// under fallback.
func (p *problems) addSettings(err error, variables map[string]string, fallback string) {
	settings := application.SettingErrors(err)
	if err != nil && len(settings) == 0 {
		p.add(fallback, "%v", err)
	}
	for _, s := range settings {
		name, ok := variables[s.Field]
		if !ok {
			name = fallback
		}
		p.add(name, "%s", s.Reason)
	}
}
