package jsonappend_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatepass/gatepass/foundation/jsonappend"
)

func marshal(t testing.TB, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func check(t testing.TB, s string) {
	t.Helper()
	if got, want := string(jsonappend.String(nil, s)), marshal(t, s); got != want {
		t.Fatalf("String(%q) = %s, encoding/json writes %s", s, got, want)
	}
}

func TestStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `"quoted"`, `back\slash`, "<script>&amp;</script>", "tab\tnew\nline\rret",
		"\b\f\x00\x01\x1f\x7f", "é ü 中文 🎉", "\u2028\u2029", "bad \xff utf8 \xc3", "\xed\xa0\x80 surrogate",
		"https://example.com/a?b=1&c=<2>", strings.Repeat("a\"b", 100),
	} {
		check(t, s)
	}
	// Every single byte and every BMP rune, alone and among others.
	for b := range 256 {
		check(t, string([]byte{byte(b)}))
		check(t, "x"+string([]byte{byte(b)})+"y")
	}
	for r := rune(0); r < 0x10000; r++ {
		check(t, "a"+string(r))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab<>&\"\\\n\t\x00\x1f\x7f\xc3\xa9\xe2\x80\xa8\xff")
	for range 20000 {
		b := make([]byte, rng.IntN(24))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		check(t, string(b))
	}
}

func FuzzString(f *testing.F) {
	f.Add("<a href=\"x\">&</a>\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		check(t, s)
		if !utf8.Valid(jsonappend.String(nil, s)) {
			t.Fatal("output is not valid UTF-8")
		}
	})
}

func TestKey(t *testing.T) {
	if got := string(jsonappend.Key([]byte("{"), "a<b")); got != `{"a\u003cb":` {
		t.Fatalf("Key = %s", got)
	}
}

// TestStringWordPath puts every byte at every place of strings long
// enough for the eight-bytes-at-a-time scan, so a byte the word test
// misses would go out unescaped and differ from encoding/json.
func TestStringWordPath(t *testing.T) {
	for n := 8; n <= 25; n++ {
		for pos := range n {
			for b := range 256 {
				s := []byte(strings.Repeat("aZ0-_.~=", 4)[:n])
				s[pos] = byte(b)
				check(t, string(s))
			}
		}
	}
}

// slogQuoted is how log/slog's JSON handler writes s as a value.
func slogQuoted(t testing.TB, s string) string {
	t.Helper()
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey {
			return slog.Attr{}
		}
		return a
	}})
	r := slog.NewRecord(time.Time{}, slog.LevelInfo, "", 0)
	r.AddAttrs(slog.String("k", s))
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	out := strings.TrimSuffix(buf.String(), "\n")
	return strings.TrimSuffix(strings.TrimPrefix(out, `{"k":`), "}")
}

// SlogString writes what slog's JSON handler writes, for strings and for
// bytes, awkward ones and every byte at every place of the word path.
func TestSlogStringMatchesSlog(t *testing.T) {
	check := func(s string) {
		t.Helper()
		want := slogQuoted(t, s)
		if got := string(jsonappend.SlogString(nil, s)); got != want {
			t.Fatalf("SlogString(%q) = %s, slog writes %s", s, got, want)
		}
		if got := string(jsonappend.SlogString(nil, []byte(s))); got != want {
			t.Fatalf("SlogString([]byte(%q)) = %s, slog writes %s", s, got, want)
		}
	}
	for _, s := range []string{"", "plain", `"quoted" back\slash`, "<script>&amp;</script>", "\b\f\n\r\t\x00\x1f\x7f",
		"é 中文 🎉", "\u2028\u2029", "bad \xff utf8 \xc3", strings.Repeat("a<b&c>", 20)} {
		check(s)
	}
	for b := range 256 {
		check("x" + string([]byte{byte(b)}) + "y")
	}
	for n := 8; n <= 19; n++ {
		for pos := range n {
			for b := range 256 {
				s := []byte(strings.Repeat("aZ0-_.~=", 3)[:n])
				s[pos] = byte(b)
				check(string(s))
			}
		}
	}
}

func BenchmarkStringToken(b *testing.B) {
	tok := strings.Repeat("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 12)
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(tok)))
	for b.Loop() {
		buf = jsonappend.String(buf[:0], tok)
	}
}

func BenchmarkStringShort(b *testing.B) {
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		buf = jsonappend.String(buf[:0], "user_01HZX5K2M3")
	}
}
