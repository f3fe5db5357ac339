// Package jsonappend appends JSON strings to a byte slice exactly as
// encoding/json's Marshal writes them, HTML-safe escaping included, for
// the few hot-path documents (grant claims, grant responses) that gatepass
// encodes by hand instead of by reflection. The tests hold it to
// encoding/json's output byte for byte.
package jsonappend

import (
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// String appends s to dst as a quoted JSON string: '"' and '\\' escaped,
// \b \f \n \r \t for those controls and \u00XX for the others, '<', '>'
// and '&' as \u003c \u003e \u0026, U+2028 and U+2029 as \u2028 and
// \u2029, and each byte of invalid UTF-8 as \ufffd.
func String(dst []byte, s string) []byte {
	dst = append(dst, '"')
	// Most strings here (tokens, ids, names) are plain ASCII through and
	// through: skip it eight bytes at a time, then byte by byte.
	i := plainPrefix(s)
	if i == len(s) {
		dst = append(dst, s...)
		return append(dst, '"')
	}
	start := 0
	for i < len(s) {
		if b := s[i]; b < utf8.RuneSelf {
			if safe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// safe says which ASCII bytes go into a JSON string as they are.
var safe = func() (t [utf8.RuneSelf]bool) {
	for b := range t {
		t[b] = b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// Word-at-a-time tests (eight bytes in a uint64): lows has 0x01 in every
// byte, highs 0x80.
const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainPrefix is the length of s's longest prefix of bytes that need no
// escaping, found eight bytes at a time while it can; the byte it stops
// at (if any) is for the careful loop to look at.
func plainPrefix(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		// The compiler makes this one 64-bit load.
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		if special(x) {
			break
		}
	}
	for i < len(s) && s[i] < utf8.RuneSelf && safe[s[i]] {
		i++
	}
	return i
}

// special reports whether any byte of x is one JSON escapes here: a
// control byte (< 0x20), '"', '\\', '<', '>', '&', or a byte of a
// multi-byte rune (>= 0x80). It uses the has-zero-byte trick, with '"'
// and '&' (0x22, 0x26) tested together, and '<' and '>' (0x3c, 0x3e);
// a false "special" only sends the bytes to the careful loop, which
// decides for itself.
func special(x uint64) bool {
	below := x - 0x20*lows
	q := (x ^ 0x22*lows) &^ (0x04 * lows)
	a := (x ^ 0x3c*lows) &^ (0x02 * lows)
	bs := x ^ 0x5c*lows
	return (x|below&^x|(q-lows)&^q|(a-lows)&^a|(bs-lows)&^bs)&highs != 0
}

// Key appends s as an object member name followed by a colon.
func Key(dst []byte, s string) []byte {
	return append(String(dst, s), ':')
}
