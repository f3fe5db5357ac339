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
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if safe(b) {
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

// safe reports whether an ASCII byte goes into a JSON string as it is.
func safe(b byte) bool {
	return b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
}

// Key appends s as an object member name followed by a colon.
func Key(dst []byte, s string) []byte {
	return append(String(dst, s), ':')
}
