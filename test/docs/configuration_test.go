package docs_test

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/bootstrap"
)

// configurationPage is the page that documents every setting.
const configurationPage = "docs/configuration.md"

// documentedVariable is one variable of a row of the configuration page's
// tables: the row's line, and its default cell.
type documentedVariable struct {
	line        int
	defaultCell string
}

var variableName = regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")

// documentedVariables reads the tables of the configuration page: a row
// whose first cell names variables in backticks (`NAME` / `NAME_FILE`)
// documents each of them, with the row's default cell.
func documentedVariables(t *testing.T) map[string]documentedVariable {
	t.Helper()
	out := map[string]documentedVariable{}
	for _, l := range prose(readDoc(t, configurationPage)) {
		if !strings.HasPrefix(l.text, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(l.text, "| "), " | ")
		if len(cells) != 3 {
			t.Errorf("%s:%d: a row of %d cells, want variable | default | meaning", configurationPage, l.n, len(cells))
			continue
		}
		names := variableName.FindAllStringSubmatch(cells[0], -1)
		if len(names) == 0 {
			t.Errorf("%s:%d: the first cell names no variable: %q", configurationPage, l.n, cells[0])
		}
		for _, m := range names {
			if prev, dup := out[m[1]]; dup {
				t.Errorf("%s:%d: %s is documented twice (first on line %d)", configurationPage, l.n, m[1], prev.line)
			}
			out[m[1]] = documentedVariable{line: l.n, defaultCell: strings.TrimSpace(cells[1])}
		}
	}
	return out
}

var firstCode = regexp.MustCompile("^`([^`]*)`")

// TestConfigurationDocumentsEveryVariable keeps docs/configuration.md and
// the declaration of bootstrap.Variables in step, as .env.example is kept:
// every variable gatepass reads has a row (a NAME_FILE twin shares its
// NAME's), no row names a variable gatepass does not read, and the default
// column shows the declared default first, or "—" for a variable without
// one.
func TestConfigurationDocumentsEveryVariable(t *testing.T) {
	t.Parallel()
	documented := documentedVariables(t)
	declared := map[string]bootstrap.Variable{}
	for _, v := range bootstrap.Variables() {
		declared[v.Name] = v
	}
	if len(declared) < 50 {
		t.Fatalf("bootstrap.Variables lists %d variables; the walk of the declaration misses some", len(declared))
	}
	for _, name := range slices.Sorted(maps.Keys(declared)) {
		v := declared[name]
		d, ok := documented[name]
		if !ok {
			t.Errorf("%s is not in %s: add a row for it (variable | default | meaning)", name, configurationPage)
			continue
		}
		m := firstCode.FindStringSubmatch(d.defaultCell)
		switch {
		case v.HasDefault && m == nil:
			t.Errorf("%s:%d: %s's default cell %q does not begin with its default `%s`", configurationPage, d.line, name, d.defaultCell, v.Default)
		case v.HasDefault && m[1] != v.Default:
			t.Errorf("%s:%d: %s's default is shown as `%s`, but it is %q", configurationPage, d.line, name, m[1], v.Default)
		case !v.HasDefault && !strings.HasPrefix(d.defaultCell, "—"):
			t.Errorf("%s:%d: %s has no default, but its default cell is %q (want it to begin with —)", configurationPage, d.line, name, d.defaultCell)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(documented)) {
		if _, ok := declared[name]; !ok {
			t.Errorf("%s:%d documents %s, which gatepass does not read", configurationPage, documented[name].line, name)
		}
	}
}
