package ginhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/domain"
)

// attributesBody is a LiveKit body with n attributes named k0, k1, ...,
// each of value v, and extra members after them.
func attributesBody(n int, v string, extra ...string) string {
	members := make([]string, n)
	for i := range members {
		members[i] = `"k` + strconv.Itoa(i) + `":"` + v + `"`
	}
	return `{"room_name":"r","participant_attributes":{` + strings.Join(append(members, extra...), ",") + `}}`
}

// nested is a body whose member x holds inner, an object, in arrays: the
// body is depth deep when inner is flat.
func nested(depth int, inner string) string {
	return `{"x":` + strings.Repeat("[", depth-2) + inner + strings.Repeat("]", depth-2) + `}`
}

// distinctAttributes is a LiveKit body of n attributes with distinct
// names as short as they come, and empty values: about two thousand fit
// in the 16 KiB a LiveKit body may have.
func distinctAttributes(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b strings.Builder
	b.WriteString(`{"room_name":"r","participant_attributes":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		name := string(alphabet[i%len(alphabet)])
		if i >= len(alphabet) {
			name = string(alphabet[i/len(alphabet)-1]) + name
		}
		b.WriteString(`"` + name + `":""`)
	}
	b.WriteString(`}}`)
	return b.String()
}

func TestScanLiveKitBody(t *testing.T) {
	e := strings.Repeat(`\u00e9`, 32) // 64 bytes once decoded
	tests := []struct {
		name    string
		body    string
		wantErr error
	}{
		{name: "flat", body: `{"room_name":"r","participant_name":"Ada"}`},
		{name: "no attributes", body: `{"room_name":"r","participant_attributes":{}}`},
		{name: "null attributes", body: `{"room_name":"r","participant_attributes":null}`},
		{name: "sixteen attributes and the verified keys", body: attributesBody(16, "v", `"userId":"u"`, `"orgId":"o"`, `"role":"r"`)},
		{name: "twenty members", body: attributesBody(20, "v"), wantErr: domain.ErrInvalidParticipant},
		{name: "sixteen attributes, the verified keys and one more", body: attributesBody(17, "v", `"userId":"u"`, `"orgId":"o"`, `"role":"r"`),
			wantErr: domain.ErrInvalidParticipant},
		{name: "duplicates count as sent", body: attributesBody(1, "v", strings.Repeat(`"k0":"v",`, 19)+`"k0":"v"`), wantErr: domain.ErrInvalidParticipant},
		{name: "two attributes members count together", body: `{"participant_attributes":{` + strings.Repeat(`"a":"",`, 9) + `"a":""},` +
			`"participant_attributes":{` + strings.Repeat(`"b":"",`, 9) + `"b":""}}`, wantErr: domain.ErrInvalidParticipant},
		{name: "a name in another case", body: strings.Replace(attributesBody(20, "v"), "participant_attributes", "Participant_ATTRIBUTES", 1),
			wantErr: domain.ErrInvalidParticipant},
		{name: "an escaped name", body: strings.Replace(attributesBody(20, "v"), "participant_attributes", `participant\u005fattributes`, 1),
			wantErr: domain.ErrInvalidParticipant},
		{name: "another member of many", body: `{"participant_attribute":{` + strings.Repeat(`"a":"",`, 30) + `"a":""}}`},
		{name: "a name of 64 bytes", body: `{"participant_attributes":{"` + strings.Repeat("k", 64) + `":"v"}}`},
		{name: "a name of 65 bytes", body: `{"participant_attributes":{"` + strings.Repeat("k", 65) + `":"v"}}`, wantErr: domain.ErrInvalidParticipant},
		{name: "a name of 64 bytes decoded", body: `{"participant_attributes":{"` + e + `":"v"}}`},
		{name: "a name of 66 bytes decoded", body: `{"participant_attributes":{"` + e + `\u00e9":"v"}}`, wantErr: domain.ErrInvalidParticipant},
		{name: "an invalid byte decodes to three", body: "{\"participant_attributes\":{\"" + strings.Repeat("k", 62) + "\xff\":\"v\"}}",
			wantErr: domain.ErrInvalidParticipant},
		{name: "1 KiB of names and values", body: attributesBody(2, strings.Repeat("v", 512-2))},
		{name: "over 1 KiB of names and values", body: attributesBody(2, strings.Repeat("v", 512-1)), wantErr: domain.ErrInvalidParticipant},
		{name: "over 1 KiB once decoded", body: attributesBody(2, strings.Repeat(`\u00e9`, 256)), wantErr: domain.ErrInvalidParticipant},
		{name: "the verified keys do not count", body: attributesBody(2, strings.Repeat("v", 500), `"userId":"`+strings.Repeat("x", 4000)+`"`)},
		{name: "nor do they escaped", body: attributesBody(2, strings.Repeat("v", 500), `"user\u0049d":"`+strings.Repeat("x", 4000)+`"`)},
		{name: "a verified key in another case counts", body: attributesBody(2, strings.Repeat("v", 500), `"UserId":"`+strings.Repeat("x", 100)+`"`),
			wantErr: domain.ErrInvalidParticipant},
		{name: "depth 8", body: nested(8, `{"a":1}`)},
		{name: "depth 9", body: nested(8, `{"a":[]}`), wantErr: errMalformedBody},
		{name: "depth 9 in an object", body: `{"a":` + strings.Repeat(`{"a":`, 8) + `1` + strings.Repeat(`}`, 8) + `}`, wantErr: errMalformedBody},
		{name: "depth 9 in a room configuration", body: `{"room_config":{"egress":{"room":{"file_outputs":[{"s3":{"proxy":{"x":[1]}}}]}}}}`,
			wantErr: errMalformedBody},
		{name: "the deepest room configuration", body: `{"room_config":{"egress":{"room":{"file_outputs":[{"s3":{"proxy":{"url":"http://p"}}}]}}}}`},
		{name: "depth 9 in an attribute value", body: `{"participant_attributes":{"a":` + strings.Repeat("[", 7) + strings.Repeat("]", 7) + `}}`,
			wantErr: errMalformedBody},
		// Malformed bodies are the decoder's to refuse.
		{name: "not an object", body: `[1]`},
		{name: "unterminated", body: `{"participant_attributes":{"a":"v`},
		{name: "a number for a value", body: `{"participant_attributes":{"a":1}}`},
		{name: "a control character", body: "{\"participant_attributes\":{\"a\":\"\x01\"}}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := scanLiveKitBody([]byte(tt.body)); !errors.Is(err, tt.wantErr) {
				t.Fatalf("scanLiveKitBody(%.80s...) = %v, want %v", tt.body, err, tt.wantErr)
			}
		})
	}
}

// TestScanStopsAtTheLimit: the scan reads nothing past the limit it finds.
// Past the twentieth attribute the body is no JSON at all; a decoder that
// read it in full would call it malformed.
func TestScanStopsAtTheLimit(t *testing.T) {
	body := attributesBody(20, "v") + strings.Repeat("\x00garbage", 1500)
	body = strings.Replace(body, `}}`, ``, 1)
	if err := scanLiveKitBody([]byte(body)); !errors.Is(err, domain.ErrInvalidParticipant) {
		t.Fatalf("scan = %v, want %v", err, domain.ErrInvalidParticipant)
	}
	deep := `{"a":` + strings.Repeat("[", 9) + strings.Repeat("\x00", 10000)
	if err := scanLiveKitBody([]byte(deep)); !errors.Is(err, errMalformedBody) {
		t.Fatalf("scan = %v, want %v", err, errMalformedBody)
	}
}

// TestDecodeBodyRefusesManyAttributesUndecoded: two thousand distinct
// attributes, within 16 KiB, are refused by decodeBody before
// encoding/json builds their map; the same body with garbage after them
// still says invalid participant, not malformed.
func TestDecodeBodyRefusesManyAttributesUndecoded(t *testing.T) {
	body := distinctAttributes(2000)
	if len(body) > liveKitBodyBytes {
		t.Fatalf("the body is %d bytes, over the %d a LiveKit body may have", len(body), liveKitBodyBytes)
	}
	for name, raw := range map[string]string{"whole": body, "cut short": body[:len(body)-2] + ",\x00"} {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(raw))
		c.Request.Header.Set("Content-Type", "application/json")
		var v liveKitTokenRequest
		err := decodeBody(c, liveKitBodyBytes, &v)
		if !errors.Is(err, domain.ErrInvalidParticipant) || problemFor(err).Code != "invalid_participant" {
			t.Fatalf("%s: err = %v, want %v", name, err, domain.ErrInvalidParticipant)
		}
		if v.ParticipantAttributes != nil || v.RoomName != "" {
			t.Fatalf("%s: the body was decoded: %d attributes", name, len(v.ParticipantAttributes))
		}
	}
}

// FuzzScanLiveKitBody holds the scan to encoding/json: whatever it lets
// through decodes, if at all, to attributes within every limit it checks.
//
//	go test -run='^$' -fuzz=FuzzScanLiveKitBody -fuzztime=60s ./adapters/ginhttp/
func FuzzScanLiveKitBody(f *testing.F) {
	for _, seed := range []string{
		attributesBody(3, "v"),
		attributesBody(19, "v"),
		attributesBody(2, strings.Repeat("v", 500), `"userId":"x"`),
		`{"participant_attributes":{"user\u0049d":"x","\u00e9\ud83d\ude00":"\ud800"}}`,
		`{"Participant_Attributes":{"a":"b"},"participant_attributes":{"c":"d"}}`,
		`{"room_config":{"a":[[{"b":1}]]}}`,
		`{"participant_attributes":{"a":null}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		err := scanLiveKitBody(raw)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalidParticipant) && !errors.Is(err, errMalformedBody) {
				t.Fatalf("scan(%q) = %v, none of its errors", raw, err)
			}
			return
		}
		var v liveKitTokenRequest
		if json.Unmarshal(raw, &v) != nil {
			return
		}
		if len(v.ParticipantAttributes) > maxAttributeMembers {
			t.Fatalf("scan(%q) let %d attributes through", raw, len(v.ParticipantAttributes))
		}
		size := 0
		for k, val := range v.ParticipantAttributes {
			if len(k) > domain.MaxAttributeNameBytes {
				t.Fatalf("scan(%q) let a name of %d bytes through", raw, len(k))
			}
			if !domain.ReservedAttribute(k) {
				size += len(k) + len(val)
			}
		}
		if size > domain.MaxAttributesBytes {
			t.Fatalf("scan(%q) let %d bytes of attributes through", raw, size)
		}
	})
}

// FuzzUnquotedLen holds unquotedLen and appendUnquoted to encoding/json's
// decoding of a string.
//
//	go test -run='^$' -fuzz=FuzzUnquotedLen -fuzztime=60s ./adapters/ginhttp/
func FuzzUnquotedLen(f *testing.F) {
	for _, seed := range []string{`abc`, `\u00e9\n\"\\\/`, `\ud83d\ude00`, `\ud800`, `\ud800\u0041`, `\udc00\ud800\udc00`, "\xff\xfe", "é東", `\uD83D\uDE00`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, contents []byte) {
		quoted := append(append([]byte{'"'}, contents...), '"')
		var want string
		if json.Unmarshal(quoted, &want) != nil {
			return
		}
		if got := unquotedLen(contents); got != len(want) {
			t.Fatalf("unquotedLen(%q) = %d, encoding/json decodes %d bytes: %q", contents, got, len(want), want)
		}
		if got := appendUnquoted(nil, contents); !bytes.Equal(got, []byte(want)) {
			t.Fatalf("appendUnquoted(%q) = %q, encoding/json %q", contents, got, want)
		}
	})
}

// BenchmarkDecodeLiveKitBody measures decodeBody's work on a usual body,
// one with a few attributes, and one of two thousand attributes that is
// refused.
func BenchmarkDecodeLiveKitBody(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	for _, bc := range []struct{ name, body string }{
		{"flat", `{"room_name":"standup","participant_name":"Ada"}`},
		{"three attributes", attributesBody(3, "blue")},
		{"2000 attributes refused", distinctAttributes(2000)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			raw := []byte(bc.body)
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				c, _ := gin.CreateTestContext(httptest.NewRecorder())
				c.Request = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(raw))
				c.Request.Header.Set("Content-Type", "application/json")
				var v liveKitTokenRequest
				_ = decodeBody(c, liveKitBodyBytes, &v)
			}
		})
	}
}
