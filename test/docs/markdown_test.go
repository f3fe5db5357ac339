// Package docs_test keeps gatepass's documentation true: every link in the
// README and docs/ reaches a file and a heading that exist, docs/
// configuration.md documents exactly the variables gatepass declares, and
// the README's quickstart runs, command by command, against the real
// binary and the real LiveKit and Centrifugo servers.
package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// root is the repository root.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// readDoc returns the text of the repository file at rel (a slash path).
func readDoc(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// line is one line of a Markdown file outside fenced code blocks, with its
// 1-based number.
type line struct {
	n    int
	text string
}

var fence = regexp.MustCompile("^ {0,3}(```+|~~~+)")

// prose returns the lines of a Markdown text that are not inside fenced
// code blocks (nor fences themselves).
func prose(text string) []line {
	var out []line
	var open string
	for i, l := range strings.Split(text, "\n") {
		if m := fence.FindStringSubmatch(l); m != nil {
			switch {
			case open == "":
				open = m[1]
			case strings.HasPrefix(m[1], open[:1]) && len(m[1]) >= len(open):
				open = ""
			}
			continue
		}
		if open == "" {
			out = append(out, line{n: i + 1, text: l})
		}
	}
	return out
}

var atxHeading = regexp.MustCompile(`^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$`)

// heading is one ATX heading of a Markdown text.
type heading struct {
	level int
	text  string
	line  int
}

// headings returns the ATX headings of a Markdown text, outside code
// blocks, in order.
func headings(text string) []heading {
	var out []heading
	for _, l := range prose(text) {
		if m := atxHeading.FindStringSubmatch(l.text); m != nil {
			out = append(out, heading{level: len(m[1]), text: m[2], line: l.n})
		}
	}
	return out
}

var (
	inlineLink = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]+)\)`)
	codeSpan   = regexp.MustCompile("`[^`]*`")
)

// headingText is what GitHub makes of a heading's Markdown before it
// slugs it: links become their text, the backticks of code spans go.
func headingText(md string) string {
	md = inlineLink.ReplaceAllString(md, "$1")
	return strings.ReplaceAll(md, "`", "")
}

// slug is GitHub's anchor of a heading text: lower case, every character
// but letters, digits, spaces, hyphens and underscores removed, spaces
// turned into hyphens.
func slug(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(headingText(text)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns every anchor of a Markdown text's headings, GitHub's way:
// the second heading with a slug already taken gets "-1", the third "-2".
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, h := range headings(text) {
		s := slug(h.text)
		a := s
		if n := seen[s]; n > 0 {
			a = s + "-" + strconv.Itoa(n)
		}
		seen[s]++
		out[a] = true
	}
	return out
}

// link is one inline link of a Markdown file.
type link struct {
	target string
	line   int
}

// links returns the inline links of a Markdown text outside code blocks
// and code spans.
func links(text string) []link {
	var out []link
	for _, l := range prose(text) {
		// A code span's text is no link, but a link's text may hold one:
		// drop the spans' contents and keep the rest of the line.
		bare := codeSpan.ReplaceAllString(l.text, "")
		for _, m := range inlineLink.FindAllStringSubmatch(bare, -1) {
			out = append(out, link{target: m[2], line: l.n})
		}
	}
	return out
}
