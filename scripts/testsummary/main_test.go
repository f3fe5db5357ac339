package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readRecord(t *testing.T, dir, suite string) Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, suite+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGoSuite runs the real go test -json over a module with passing,
// failing, skipped and unbuildable packages.
func TestGoSuite(t *testing.T) {
	mod := t.TempDir()
	writeFiles(t, mod, map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.26\n",
		"good/good_test.go": `package good
import "testing"
func TestA(t *testing.T) { t.Log("quiet when it passes") }
func TestB(t *testing.T) {
	t.Run("one", func(t *testing.T) {})
	t.Run("two", func(t *testing.T) {})
}
func TestSkipped(t *testing.T) { t.Skip("not counted") }
`,
		"bad/bad_test.go": `package bad
import "testing"
func TestOK(t *testing.T) {}
func TestBad(t *testing.T) {
	t.Run("ok", func(t *testing.T) {})
	t.Run("no", func(t *testing.T) { t.Error("the reason it failed") })
}
`,
		"broken/broken_test.go": "package broken\nimport \"testing\"\nfunc TestX(t *testing.T) { undefined() }\n",
	})
	dir := t.TempDir()
	var out bytes.Buffer
	code, err := run([]string{"-suite", "go", "-dir", dir, "-keep-going", "--", "go", "-C", mod, "test", "-count=1", "-json", "./..."}, &out)
	if err != nil || code != 0 {
		t.Fatalf("run with -keep-going: code %d, %v", code, err)
	}
	r := readRecord(t, dir, "go")
	if r.Passed != 6 || r.Failed != 3 || r.Exit == 0 {
		t.Errorf("record %+v, want 6 passed (TestA, TestB and its 2, TestOK, TestBad/ok), 3 failed (TestBad/no, TestBad, broken), a non-zero exit", r)
	}
	for _, f := range []string{"go: example.com/m/bad TestBad/no", "go: example.com/m/bad TestBad"} {
		if !slices.Contains(r.Failures, f) {
			t.Errorf("failures %q do not list %q", r.Failures, f)
		}
	}
	if !slices.ContainsFunc(r.Failures, func(f string) bool { return strings.HasPrefix(f, "go: example.com/m/broken failed outside any test") }) {
		t.Errorf("failures %q do not list the package that does not build", r.Failures)
	}
	shown := out.String()
	for _, want := range []string{"the reason it failed", "ok  \texample.com/m/good", "FAIL\texample.com/m/bad", "undefined: undefined", "go: 6 passed, 3 failed\n"} {
		if !strings.Contains(shown, want) {
			t.Errorf("output does not show %q:\n%s", want, shown)
		}
	}
	if strings.Contains(shown, "quiet when it passes") || strings.Contains(shown, `"Action"`) {
		t.Errorf("output shows a passing test's log or raw events:\n%s", shown)
	}

	// Without -keep-going the failure is the exit status.
	code, err = run([]string{"-suite", "go", "-dir", dir, "--", "go", "-C", mod, "test", "-count=1", "-json", "./bad/"}, &out)
	if err != nil || code != 1 {
		t.Errorf("run without -keep-going on a failing suite: code %d, %v; want 1", code, err)
	}
}

// A suite of another name that runs go test -json (make allocs) is read
// as go's when asked: its tests are counted, its raw events not shown,
// its failures named under its own name.
func TestGoFormatUnderAnotherName(t *testing.T) {
	mod := t.TempDir()
	writeFiles(t, mod, map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.26\n",
		"a/a_test.go": `package a
import "testing"
func TestAllocsOne(t *testing.T) {}
func TestAllocsTwo(t *testing.T) { t.Error("over budget") }
`,
	})
	dir := t.TempDir()
	var out bytes.Buffer
	code, err := run([]string{"-suite", "allocs", "-format", "go", "-dir", dir, "-keep-going", "--", "go", "-C", mod, "test", "-count=1", "-run", "Allocs", "-json", "./..."}, &out)
	if err != nil || code != 0 {
		t.Fatalf("run: code %d, %v", code, err)
	}
	r := readRecord(t, dir, "allocs")
	if r.Passed != 1 || r.Failed != 1 || !slices.Contains(r.Failures, "allocs: example.com/m/a TestAllocsTwo") {
		t.Errorf("record %+v, want 1 passed, 1 failed named allocs: example.com/m/a TestAllocsTwo", r)
	}
	if shown := out.String(); strings.Contains(shown, `"Action"`) || !strings.Contains(shown, "allocs: 1 passed, 1 failed\n") {
		t.Errorf("output:\n%s", shown)
	}
	if _, err := run([]string{"-suite", "x", "-format", "tap", "-dir", dir, "--", "true"}, &out); err == nil {
		t.Error("an unknown -format was taken")
	}
}

// TestNodeSuite runs the real node --test, whose TAP summary counts
// subtests as go's does.
func TestNodeSuite(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"a.test.mjs": `import test from 'node:test';
import assert from 'node:assert';
test('top', async (t) => { await t.test('sub1', () => {}); await t.test('sub2', () => {}); });
test('bad', () => { assert.equal(1, 2); });
test('skipped', { skip: true }, () => {});
`})
	dir := t.TempDir()
	var out bytes.Buffer
	code, err := run([]string{"-suite", "interop", "-dir", dir, "-keep-going", "--", "node", "--test", filepath.Join(src, "a.test.mjs")}, &out)
	if err != nil || code != 0 {
		t.Fatalf("run: code %d, %v\n%s", code, err, out.String())
	}
	r := readRecord(t, dir, "interop")
	if r.Passed != 3 || r.Failed != 1 || r.Exit == 0 || !slices.Contains(r.Failures, "interop: bad") {
		t.Errorf("record %+v, want 3 passed (top, sub1, sub2), 1 failed (bad)\n%s", r, out.String())
	}
	if !strings.Contains(out.String(), "# pass 3") {
		t.Errorf("node's own output is not passed through:\n%s", out.String())
	}
}

func TestSuiteThatFailsWithoutATest(t *testing.T) {
	tests := []struct {
		name, script string
		wantPassed   int
		wantFailed   int
	}{
		{"exits non-zero before any test", "echo deps: need node >&2; exit 3", 0, 1},
		{"cancelled tests are failures", "echo '# pass 2'; echo '# fail 0'; echo '# cancelled 1'; exit 1", 2, 1},
		{"two node runs add up", "printf '# pass 2\\n# fail 1\\n# pass 5\\n# fail 0\\n'; exit 1", 7, 1},
		{"all passed", "echo '# pass 4'; echo '# fail 0'", 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := run([]string{"-suite", "interop", "-dir", dir, "-keep-going", "--", "sh", "-c", tt.script}, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			if r := readRecord(t, dir, "interop"); r.Passed != tt.wantPassed || r.Failed != tt.wantFailed {
				t.Errorf("record %+v, want %d passed, %d failed", r, tt.wantPassed, tt.wantFailed)
			}
		})
	}
}

func TestTotal(t *testing.T) {
	dir := t.TempDir()
	for _, r := range []Result{
		{Suite: "go", Passed: 10, Failed: 1, Failures: []string{"go: p TestX"}, Exit: 1},
		{Suite: "interop", Passed: 5},
	} {
		b, _ := json.Marshal(r)
		writeFiles(t, dir, map[string]string{r.Suite + ".json": string(b)})
	}
	tests := []struct {
		name     string
		suites   []string
		wantLast string
		wantCode int
		want     string
	}{
		{"all passed", []string{"interop"}, "5 passed, 0 failed", 0, ""},
		{"one failed", []string{"go", "interop"}, "15 passed, 1 failed", 1, "  go: p TestX\n"},
		{"a suite left no record", []string{"interop", "lint"}, "5 passed, 1 failed", 1, "lint: left no record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code, err := total(append([]string{"-dir", dir}, tt.suites...), &out)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if last := lines[len(lines)-1]; last != tt.wantLast || code != tt.wantCode || !strings.Contains(out.String(), tt.want) {
				t.Errorf("total printed\n%s(code %d), want last line %q, code %d, and %q", out.String(), code, tt.wantLast, tt.wantCode, tt.want)
			}
		})
	}
}
