// Command testsummary runs the test suites of `make test` and ends the run
// with one line over all of them: "N passed, M failed".
//
//	testsummary run -suite go -dir DIR [-keep-going] -- go test -json ./...
//	testsummary run -suite interop -dir DIR [-keep-going] -- bash test/interop/run.sh
//	testsummary total -dir DIR go interop
//
// run starts the command, shows its output as a person wants to read it
// (for `go test -json`: each package's result and the whole output of
// each failed test), counts its tests and records them in DIR/SUITE.json.
// A suite is read as `go test -json` events when the suite is named "go",
// otherwise as the summary lines of node --test ("# pass N", "# fail N",
// "# cancelled N"). Every test counts, subtests too, as node --test counts
// them; skipped ones count neither way. A suite that exits non-zero with
// no failed test counted (a package that does not build, a missing tool)
// counts one failure, so nothing fails unseen. With -keep-going, run exits
// 0 whatever the suite did, so the next suite still runs; total then
// fails the run.
//
// total reads the named suites' records, lists every failure, and prints
// the final line; it exits 1 when anything failed or a suite left no
// record.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var code int
	var err error
	switch os.Args[1] {
	case "run":
		code, err = run(os.Args[2:], os.Stdout)
	case "total":
		code, err = total(os.Args[2:], os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: testsummary run -suite NAME -dir DIR [-keep-going] -- COMMAND...\n       testsummary total -dir DIR SUITE...")
	os.Exit(2)
}

// Result is one suite's record.
type Result struct {
	Suite    string   `json:"suite"`
	Passed   int      `json:"passed"`
	Failed   int      `json:"failed"`
	Failures []string `json:"failures"`
	Exit     int      `json:"exit"`
}

// counter reads a suite's output, line by line, into a Result, writing what
// a person should see to out.
type counter interface {
	line(text string, out io.Writer)
	result() Result
}

func run(args []string, out io.Writer) (int, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	suite := fs.String("suite", "", "the suite's name")
	format := fs.String("format", "", "what the command prints: go (go test -json) or node (node --test); by default go for the suite named go, node for any other")
	dir := fs.String("dir", "", "folder of the records")
	keepGoing := fs.Bool("keep-going", false, "exit 0 whatever the suite did")
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	command := fs.Args()
	if *suite == "" || *dir == "" || len(command) == 0 {
		return 0, errors.New("run needs -suite, -dir and a command after --")
	}
	record := filepath.Join(*dir, *suite+".json")
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return 0, err
	}
	// A record left by an earlier run must not stand for this one.
	if err := os.Remove(record); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}

	if *format == "" {
		*format = "node"
		if *suite == "go" {
			*format = "go"
		}
	}
	var c counter
	switch *format {
	case "go":
		c = newGoCounter(*suite)
	case "node":
		c = &nodeCounter{suite: *suite}
	default:
		return 0, fmt.Errorf("-format %q: want go or node", *format)
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		c.line(sc.Text(), out)
	}
	scanErr := sc.Err()
	if scanErr != nil {
		// Keep the pipe drained so the suite is not blocked on a full one.
		_, _ = io.Copy(io.Discard, stdout)
	}
	waitErr := cmd.Wait()

	r := c.result()
	r.Suite = *suite
	var exit *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &exit):
		r.Exit = exit.ExitCode()
		if r.Exit < 0 {
			r.Exit = 1 // killed by a signal
		}
	default:
		return 0, waitErr
	}
	if scanErr != nil {
		r.Failed++
		r.Failures = append(r.Failures, fmt.Sprintf("%s: its output could not be read: %v", *suite, scanErr))
	}
	if r.Exit != 0 && r.Failed == 0 {
		r.Failed = 1
		r.Failures = append(r.Failures, fmt.Sprintf("%s: exited with status %d without a failed test (see its output above)", *suite, r.Exit))
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(record, b, 0o644); err != nil {
		return 0, err
	}
	fmt.Fprintf(out, "%s: %d passed, %d failed\n", *suite, r.Passed, r.Failed)
	if r.Failed > 0 && !*keepGoing {
		return 1, nil
	}
	return 0, nil
}

// maxListed bounds the failures total lists; the count stays exact.
const maxListed = 50

func total(args []string, out io.Writer) (int, error) {
	fs := flag.NewFlagSet("total", flag.ContinueOnError)
	dir := fs.String("dir", "", "folder of the records")
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	if *dir == "" || fs.NArg() == 0 {
		return 0, errors.New("total needs -dir and the suites' names")
	}
	var sum Result
	for _, suite := range fs.Args() {
		b, err := os.ReadFile(filepath.Join(*dir, suite+".json"))
		var r Result
		if err == nil {
			err = json.Unmarshal(b, &r)
		}
		if err != nil {
			r = Result{Failed: 1, Failures: []string{fmt.Sprintf("%s: left no record: %v", suite, err)}}
		}
		sum.Passed += r.Passed
		sum.Failed += r.Failed
		sum.Failures = append(sum.Failures, r.Failures...)
	}
	if len(sum.Failures) > 0 {
		fmt.Fprintln(out, "failed:")
		for i, f := range sum.Failures {
			if i == maxListed {
				fmt.Fprintf(out, "  ... and %d more\n", len(sum.Failures)-maxListed)
				break
			}
			fmt.Fprintln(out, "  "+f)
		}
	}
	fmt.Fprintf(out, "%d passed, %d failed\n", sum.Passed, sum.Failed)
	if sum.Failed > 0 {
		return 1, nil
	}
	return 0, nil
}

// event is one line of `go test -json` (cmd/test2json), with the build
// events go test writes since Go 1.24.
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string
}

// goCounter counts go test -json events. It shows each package's result
// line and, for a failed test, everything that test printed; a passing
// test's output is dropped.
type goCounter struct {
	suite string
	r     Result
	// output holds each running test's lines until it ends.
	output map[string][]string
	// failedTests counts failed tests per package, so a package that fails
	// with none (a build failure, a crash in TestMain, a timeout outside
	// any test) still counts.
	failedTests map[string]int
}

func newGoCounter(suite string) *goCounter {
	return &goCounter{suite: suite, output: map[string][]string{}, failedTests: map[string]int{}}
}

func (c *goCounter) line(text string, out io.Writer) {
	var e event
	if !strings.HasPrefix(text, "{") || json.Unmarshal([]byte(text), &e) != nil {
		fmt.Fprintln(out, text)
		return
	}
	key := e.Package + " " + e.Test
	switch {
	case e.Action == "build-output":
		fmt.Fprint(out, e.Output)
	case e.Action == "output" && e.Test != "":
		c.output[key] = append(c.output[key], e.Output)
	case e.Action == "output":
		// The package's own lines: ok, FAIL, no test files, and what a
		// crash printed. The bare PASS and FAIL lines add nothing.
		if e.Output != "PASS\n" && e.Output != "FAIL\n" {
			fmt.Fprint(out, e.Output)
		}
	case e.Test != "" && e.Action == "pass":
		c.r.Passed++
		delete(c.output, key)
	case e.Test != "" && e.Action == "fail":
		c.r.Failed++
		c.failedTests[e.Package]++
		c.r.Failures = append(c.r.Failures, c.suite+": "+e.Package+" "+e.Test)
		fmt.Fprint(out, strings.Join(c.output[key], ""))
		delete(c.output, key)
	case e.Test != "" && e.Action == "skip":
		delete(c.output, key)
	case e.Test == "" && e.Action == "fail" && c.failedTests[e.Package] == 0:
		c.r.Failed++
		c.r.Failures = append(c.r.Failures, c.suite+": "+e.Package+" failed outside any test (build, TestMain or timeout: see its output above)")
	}
}

func (c *goCounter) result() Result { return c.r }

// nodeSummary matches the counts node --test ends with: "# pass 3" in TAP,
// "ℹ pass 3" with the spec reporter.
var (
	nodeSummary = regexp.MustCompile(`^(?:#|ℹ) (pass|fail|cancelled) (\d+)$`)
	nodeNotOK   = regexp.MustCompile(`^\s*not ok \d+ - (.*)$`)
)

// nodeCounter passes node --test's output through and sums its summary
// counts (a run of several node processes prints several); a cancelled
// test, one that timed out, is a failure.
type nodeCounter struct {
	suite string
	r     Result
}

func (c *nodeCounter) line(text string, out io.Writer) {
	fmt.Fprintln(out, text)
	if m := nodeSummary.FindStringSubmatch(text); m != nil {
		n, _ := strconv.Atoi(m[2])
		if m[1] == "pass" {
			c.r.Passed += n
		} else {
			c.r.Failed += n
		}
		return
	}
	if m := nodeNotOK.FindStringSubmatch(text); m != nil {
		c.r.Failures = append(c.r.Failures, c.suite+": "+strings.TrimSpace(m[1]))
	}
}

func (c *nodeCounter) result() Result { return c.r }
