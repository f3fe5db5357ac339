package docs_test

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// linkedDocs are the Markdown files whose links are kept: the README, every
// page of docs/, and the other documents a reader reaches from them.
// CHANGELOG.md is left out: it records each release as it was written.
func linkedDocs(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md", "SECURITY.md", "BENCHMARKS.md", "deploy/README.md",
		"deploy/office-router/README.md", "deploy/monitoring/README.md"}
	pages, err := filepath.Glob(filepath.Join(root(), "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("docs/ holds no Markdown page")
	}
	for _, p := range pages {
		files = append(files, "docs/"+filepath.Base(p))
	}
	return files
}

// TestLinksResolve: every relative link in the documentation names a file
// or folder that exists, and every #anchor, in the same file or another
// Markdown file, names a heading of that file as GitHub slugs it.
func TestLinksResolve(t *testing.T) {
	t.Parallel()
	anchorsOf := map[string]map[string]bool{}
	anchorsIn := func(rel string) map[string]bool {
		if a, ok := anchorsOf[rel]; ok {
			return a
		}
		a := anchors(readDoc(t, rel))
		anchorsOf[rel] = a
		return a
	}
	checked := 0
	for _, file := range linkedDocs(t) {
		for _, l := range links(readDoc(t, file)) {
			if strings.Contains(l.target, "://") || strings.HasPrefix(l.target, "mailto:") {
				continue
			}
			checked++
			where := file + ":" + strconv.Itoa(l.line)
			target, anchor, _ := strings.Cut(l.target, "#")
			rel := file
			if target != "" {
				rel = path.Clean(path.Join(path.Dir(file), target))
				if strings.HasPrefix(rel, "../") {
					t.Errorf("%s: %s leaves the repository", where, l.target)
					continue
				}
				info, err := os.Stat(filepath.Join(root(), filepath.FromSlash(rel)))
				if err != nil {
					t.Errorf("%s: %s: no such file or folder (%s)", where, l.target, rel)
					continue
				}
				if anchor != "" && (info.IsDir() || !strings.HasSuffix(rel, ".md")) {
					t.Errorf("%s: %s: an anchor into %s, which is no Markdown file", where, l.target, rel)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if a := anchorsIn(rel); !a[anchor] {
				t.Errorf("%s: %s: %s has no heading #%s (its anchors: %s)", where, l.target, rel, anchor, strings.Join(sortedKeys(a), " "))
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d local links found in the documentation; the parser misses links", checked)
	}
}

// TestSlugsAsGitHubMakesThem pins the anchor rules the link check relies
// on, with headings of this documentation and GitHub's own examples.
func TestSlugsAsGitHubMakesThem(t *testing.T) {
	t.Parallel()
	tests := []struct{ heading, want string }{
		{"Troubleshooting: why was I refused?", "troubleshooting-why-was-i-refused"},
		{"`POST /api/v1/cloudflare/request-access`", "post-apiv1cloudflarerequest-access"},
		{"`GET /healthz`, `GET /readyz`", "get-healthz-get-readyz"},
		{"OAuth 2.0 token exchange: `POST /oauth2/token` (RFC 8693)", "oauth-20-token-exchange-post-oauth2token-rfc-8693"},
		{"Grants and the identity's lifetime", "grants-and-the-identitys-lifetime"},
		{"PKCS#11", "pkcs11"},
		{"Reading `bench/out/<time>/`", "reading-benchouttime"},
		{"snake_case stays", "snake_case-stays"},
		{"A [link](x.md) in a heading", "a-link-in-a-heading"},
	}
	for _, tt := range tests {
		if got := slug(tt.heading); got != tt.want {
			t.Errorf("slug(%q) = %q, want %q", tt.heading, got, tt.want)
		}
	}
	got := anchors("# Notes\n\n## Notes\n\n```\n# not a heading\n```\n\n## Notes\n")
	want := []string{"notes", "notes-1", "notes-2"}
	if !slices.Equal(sortedKeys(got), want) {
		t.Errorf("anchors of three headings \"Notes\" = %v, want %v", sortedKeys(got), want)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
