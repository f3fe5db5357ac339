package bootstrap

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gatepass/gatepass/foundation/suggest"
)

// UnknownVariable is a variable of the environment that looks like one of
// gatepass's, its name beginning with the prefix of a declared variable,
// but that gatepass does not read: most often a typo, which would
// otherwise leave its setting at the default without a word.
type UnknownVariable struct {
	Name string
	// Suggestion is the closest declared name; "" when none is close.
	Suggestion string
}

// String names the variable and the closest declared name, never its
// value.
func (u UnknownVariable) String() string {
	if u.Suggestion == "" {
		return u.Name
	}
	return fmt.Sprintf("%s (did you mean %s?)", u.Name, u.Suggestion)
}

// proxyVariables are read by the HTTP client of every Go program, in
// either case, and one shares the HTTP_ prefix: known, never warned about.
var proxyVariables = []string{"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"}

// unknownVariables are the variables of environ whose name, in any case,
// begins with the prefix (up to the first underscore) of a declared
// variable but is not declared itself, sorted by name. The CLI reads its
// variables through the same declaration, so they count as declared.
func unknownVariables(environ map[string]string) []UnknownVariable {
	var declared []string
	prefixes := map[string]bool{}
	for _, v := range Variables() {
		declared = append(declared, v.Name)
		if i := strings.IndexByte(v.Name, '_'); i > 0 {
			prefixes[v.Name[:i+1]] = true
		}
	}
	var out []UnknownVariable
	for _, name := range slices.Sorted(maps.Keys(environ)) {
		upper := strings.ToUpper(name)
		i := strings.IndexByte(upper, '_')
		if i <= 0 || !prefixes[upper[:i+1]] || slices.Contains(declared, name) || slices.Contains(proxyVariables, upper) {
			continue
		}
		s, _ := suggest.Closest(name, declared)
		out = append(out, UnknownVariable{Name: name, Suggestion: s})
	}
	return out
}

// quoteChars are the quotes a .env file or a shell would have removed.
const quoteChars = `"'`

// quoted reports whether v begins and ends with the same quote character:
// a value copied from a .env file that an env_file loader or Kubernetes
// takes verbatim, quotes and all.
func quoted(v string) bool {
	return len(v) >= 2 && v[0] == v[len(v)-1] && strings.IndexByte(quoteChars, v[0]) >= 0
}

// errQuoted is the problem of a quoted value; the value is never printed.
const errQuoted = "is quoted; remove the quotes (the value is taken verbatim, quotes included)"

// refuseQuoted reports every declared variable of environ whose value is
// quoted, and removes it from environ so that no other check judges it
// again.
func refuseQuoted(environ map[string]string, p *problems) {
	for _, v := range Variables() {
		if quoted(environ[v.Name]) {
			p.add(v.Name, errQuoted)
			p.unparsed[v.Name] = true
			delete(environ, v.Name)
		}
	}
}

// unknownProblem is the refusal of an unknown variable under
// GATEPASS_STRICT_ENV=true.
func unknownProblem(u UnknownVariable) string {
	text := "is not a gatepass variable"
	if u.Suggestion != "" {
		text += "; did you mean " + u.Suggestion + "?"
	}
	return text + " (GATEPASS_STRICT_ENV=true refuses variables gatepass does not read)"
}
