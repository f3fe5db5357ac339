package ginhttp

import "unicode/utf8"

// A grant body is nearly always a small object of plain strings, such as
// {"room_name":"standup"}. encoding/json reads one through reflection and
// a validating pre-scan; decodeFlat reads that common shape directly and
// leaves everything else to encoding/json, which stays the reference.

// flatString is a member a flat body may hold: its exact name and the
// field its value goes to.
type flatString struct {
	name string
	dst  *string
}

// maxFlatFields bounds the members decodeFlat takes.
const maxFlatFields = 8

// decodeFlat reads raw as a JSON object whose members are each among
// fields, named exactly and at most once, each a string with no escape
// sequence and of valid UTF-8. It sets those fields and answers true, and
// for such input json.Unmarshal sets the very same values (a fuzz test
// holds it to that). On any other input, white space before and after the
// object aside, it sets nothing and answers false: the caller decodes
// with encoding/json then, which takes case-folded names, duplicates,
// escapes, other types and unknown members in its own way, and words the
// errors.
func decodeFlat(raw []byte, fields []flatString) bool {
	if len(fields) > maxFlatFields {
		return false
	}
	var start, end [maxFlatFields]int
	seen := 0 // bit i: fields[i] was read
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return skipSpace(raw, i+1) == len(raw)
	}
	for {
		ks, ke, ok := plainString(raw, i)
		if !ok {
			return false
		}
		f := -1
		for j := range fields {
			if fields[j].name == string(raw[ks:ke]) {
				f = j
				break
			}
		}
		if f < 0 || seen&(1<<f) != 0 {
			return false
		}
		i = skipSpace(raw, ke+1)
		if i == len(raw) || raw[i] != ':' {
			return false
		}
		vs, ve, ok := plainString(raw, skipSpace(raw, i+1))
		if !ok {
			return false
		}
		seen |= 1 << f
		start[f], end[f] = vs, ve
		i = skipSpace(raw, ve+1)
		if i == len(raw) {
			return false
		}
		if raw[i] == '}' {
			break
		}
		if raw[i] != ',' {
			return false
		}
		i = skipSpace(raw, i+1)
	}
	if skipSpace(raw, i+1) != len(raw) {
		return false
	}
	for f := range fields {
		if seen&(1<<f) != 0 {
			*fields[f].dst = string(raw[start[f]:end[f]])
		}
	}
	return true
}

// plainString finds the JSON string that opens at raw[i]: its contents
// run from start to end, and raw[end] is its closing quote. ok is false
// when there is none, or when it holds an escape, a control character or
// invalid UTF-8, which encoding/json would decode or replace.
func plainString(raw []byte, i int) (start, end int, ok bool) {
	if i >= len(raw) || raw[i] != '"' {
		return 0, 0, false
	}
	start = i + 1
	ascii := true
	for end = start; end < len(raw); end++ {
		switch c := raw[end]; {
		case c == '"':
			if !ascii && !utf8.Valid(raw[start:end]) {
				return 0, 0, false
			}
			return start, end, true
		case c == '\\' || c < 0x20:
			return 0, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return 0, 0, false
}

// skipSpace is the index of the first byte at or after i that is not JSON
// white space.
func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}
