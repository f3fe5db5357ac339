// Package jsonappend appends JSON strings to a byte slice exactly as
// encoding/json's Marshal writes them, HTML-safe escaping included (String),
// or as log/slog's JSON handler writes them (SlogString), for the few
// hot-path documents that gatepass encodes by hand instead of by
// reflection: grant claims, grant responses and the request log line. The
// tests hold each to its model's output byte for byte.
package jsonappend

import (
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// String appends s to dst as encoding/json quotes it: '"' and '\\'
// escaped, \b \f \n \r \t for those controls and \u00XX for the others,
// '<', '>' and '&' as \u003c \u003e \u0026, U+2028 and U+2029 as \u2028
// and \u2029, and each byte of invalid UTF-8 as \ufffd.
func String[S ~string | ~[]byte](dst []byte, s S) []byte {
	return quote(dst, s, &encodingJSON)
}

// SlogString appends s to dst as log/slog's JSON handler quotes it: as
// String does, except that '<', '>' and '&' stay as they are and the
// controls other than \n \r \t are all \u00XX (\b and \f included).
func SlogString[S ~string | ~[]byte](dst []byte, s S) []byte {
	return quote(dst, s, &slogJSON)
}

// Key appends s as an object member name followed by a colon.
func Key(dst []byte, s string) []byte {
	return append(String(dst, s), ':')
}

// rules are one model's escaping: which ASCII bytes go as they are, and
// whether \b and \f have short forms.
type rules struct {
	safe    [utf8.RuneSelf]bool
	html    bool
	shortBF bool
}

var (
	encodingJSON = newRules(true)
	slogJSON     = newRules(false)
)

// newRules is encoding/json's escaping when html is set, slog's otherwise.
func newRules(html bool) rules {
	r := rules{html: html, shortBF: html}
	for b := range r.safe {
		r.safe[b] = b >= 0x20 && b != '"' && b != '\\' && !(html && (b == '<' || b == '>' || b == '&'))
	}
	return r
}

func quote[S ~string | ~[]byte](dst []byte, s S, r *rules) []byte {
	dst = append(dst, '"')
	// Most strings here (tokens, ids, names) are plain ASCII through and
	// through: skip it eight bytes at a time, then byte by byte.
	i := plainPrefix(s, r)
	if i == len(s) {
		dst = append(dst, s...)
		return append(dst, '"')
	}
	start := 0
	for i < len(s) {
		if b := s[i]; b < utf8.RuneSelf {
			if r.safe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch {
			case b == '\\' || b == '"':
				dst = append(dst, '\\', b)
			case b == '\b' && r.shortBF:
				dst = append(dst, '\\', 'b')
			case b == '\f' && r.shortBF:
				dst = append(dst, '\\', 'f')
			case b == '\n':
				dst = append(dst, '\\', 'n')
			case b == '\r':
				dst = append(dst, '\\', 'r')
			case b == '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := decodeRune(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// decodeRune decodes the rune s starts with.
func decodeRune[S ~string | ~[]byte](s S) (rune, int) {
	var buf [utf8.UTFMax]byte
	return utf8.DecodeRune(buf[:copy(buf[:], s)])
}

// Word-at-a-time tests (eight bytes in a uint64): lows has 0x01 in every
// byte, highs 0x80.
const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainPrefix is the length of s's longest prefix of bytes that need no
// escaping, found eight bytes at a time while it can; the byte it stops
// at (if any) is for the careful loop to look at.
func plainPrefix[S ~string | ~[]byte](s S, r *rules) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		// The compiler makes this one 64-bit load.
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		if special(x, r.html) {
			break
		}
	}
	for i < len(s) && s[i] < utf8.RuneSelf && r.safe[s[i]] {
		i++
	}
	return i
}

// special reports whether any byte of x may need escaping: a control byte
// (< 0x20), '"', '\\', a byte of a multi-byte rune (>= 0x80), and with
// html '<', '>' or '&'. It uses the has-zero-byte trick, with '"' and '&'
// (0x22, 0x26) tested together, and '<' and '>' (0x3c, 0x3e); a false
// "special" only sends the bytes to the careful loop, which decides for
// itself.
func special(x uint64, html bool) bool {
	below := x - 0x20*lows
	bs := x ^ 0x5c*lows
	var q uint64
	if html {
		q = (x ^ 0x22*lows) &^ (0x04 * lows)
		a := (x ^ 0x3c*lows) &^ (0x02 * lows)
		if (a-lows)&^a&highs != 0 {
			return true
		}
	} else {
		q = x ^ 0x22*lows
	}
	return (x|below&^x|(q-lows)&^q|(bs-lows)&^bs)&highs != 0
}
