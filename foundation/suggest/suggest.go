// Package suggest finds the closest of a few known names to a name that
// was mistyped: a command or an environment variable. No edit-distance
// library is in gatepass's build, and the distance of two short names is
// a few lines.
package suggest

import "strings"

// Closest is the candidate nearest to word, compared without regard to
// case: the one with the fewest single-character edits (insertions,
// deletions, substitutions, and a swap of two neighbours counted as one),
// or one that word begins. It reports false when none is near enough to be
// a likely meant name: at most two edits, or a quarter of word's length for
// longer names. Of equally near candidates, the first wins.
func Closest(word string, candidates []string) (string, bool) {
	w := strings.ToUpper(word)
	limit := max(2, len(w)/4)
	best, bestDist := "", limit+1
	for _, c := range candidates {
		u := strings.ToUpper(c)
		d := Distance(w, u)
		if len(w) >= 2 && strings.HasPrefix(u, w) {
			// A prefix of a candidate is as near as one edit: `gatepass to`
			// means token.
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best, best != ""
}

// Distance is the optimal string alignment distance of a and b, byte by
// byte: the Levenshtein distance with a swap of two adjacent characters
// counted as one edit.
func Distance(a, b string) int {
	// Three rows of the dynamic-programming table: two back for swaps.
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
