package ginhttp

import (
	"strings"
	"testing"
)

// The table isB64Token reads is RFC 6750's b64token alphabet, byte for
// byte: every byte is tried alone, before padding and after it.
func TestIsB64TokenAlphabet(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
	for c := range 256 {
		b := string(rune(c))
		if c >= 0x80 {
			b = string([]byte{byte(c)})
		}
		in := strings.IndexByte(alphabet, byte(c)) >= 0
		if got := isB64Token(b); got != in {
			t.Errorf("isB64Token(%q) = %v, want %v", b, got, in)
		}
		if c == '=' {
			continue // padding: "ab===" is a b64token
		}
		if got := isB64Token("ab" + b + "=="); got != in {
			t.Errorf("isB64Token(%q) = %v, want %v", "ab"+b+"==", got, in)
		}
		if isB64Token("ab==" + b) {
			t.Errorf("isB64Token(%q) = true after padding", "ab=="+b)
		}
	}
	for _, s := range []string{"", "=", "==", "a b", "eyJ.eyJ.sig\u00a0"} {
		if isB64Token(s) {
			t.Errorf("isB64Token(%q) = true", s)
		}
	}
}

// Tokens long enough for the eight-bytes-a-step path: every byte at every
// place of the first two steps and the tail is judged as the alphabet
// says.
func TestIsB64TokenLongTokens(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
	base := strings.Repeat("eyJ0.Ab-_", 3)[:21]
	for pos := range len(base) {
		for c := range 256 {
			if c == '=' {
				continue
			}
			s := []byte(base)
			s[pos] = byte(c)
			want := strings.IndexByte(alphabet, byte(c)) >= 0
			if got := isB64Token(string(s)); got != want {
				t.Fatalf("isB64Token with byte %#x at %d of %d = %v, want %v", c, pos, len(s), got, want)
			}
		}
	}
	if !isB64Token(base+"==") || isB64Token(base+"=a") {
		t.Error("padding after a long token is judged wrongly")
	}
}
