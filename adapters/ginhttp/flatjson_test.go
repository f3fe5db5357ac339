package ginhttp

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeFlat(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		// want is nil when decodeFlat must leave the body to encoding/json.
		want *liveKitTokenRequest
	}{
		{"room", `{"room_name":"standup"}`, &liveKitTokenRequest{RoomName: "standup"}},
		{"empty object", `{}`, &liveKitTokenRequest{}},
		{"empty object, spaced", " { \n} \t", &liveKitTokenRequest{}},
		{"every flat member, spaced", "{ \"room_name\" : \"r\" ,\r\n\"participant_name\":\"Ada\",\t\"participant_metadata\":\"{}\", \"participant_identity\":\"user_1\" }",
			&liveKitTokenRequest{RoomName: "r", ParticipantName: "Ada", ParticipantMetadata: "{}", ParticipantIdentity: "user_1"}},
		{"empty string", `{"participant_name":""}`, &liveKitTokenRequest{}},
		{"UTF-8", `{"participant_name":"Zoë 東京"}`, &liveKitTokenRequest{ParticipantName: "Zoë 東京"}},
		{"escape", `{"participant_name":"a\"b"}`, nil},
		{"unicode escape", `{"participant_name":"\u00e9"}`, nil},
		{"escaped key", `{"room\u005fname":"r"}`, nil},
		{"invalid UTF-8", "{\"participant_name\":\"\xff\"}", nil},
		{"control character", "{\"participant_name\":\"a\tb\"}", nil},
		{"case-folded name", `{"Room_Name":"r"}`, nil},
		{"unknown member", `{"room_name":"r","other":"x"}`, nil},
		{"attributes", `{"room_name":"r","participant_attributes":{"k":"v"}}`, nil},
		{"room configuration", `{"room_name":"r","room_config":{}}`, nil},
		{"duplicate", `{"room_name":"a","room_name":"b"}`, nil},
		{"null", `{"room_name":null}`, nil},
		{"number", `{"room_name":1}`, nil},
		{"trailing comma", `{"room_name":"r",}`, nil},
		{"missing colon", `{"room_name" "r"}`, nil},
		{"unterminated", `{"room_name":"r`, nil},
		{"unclosed", `{"room_name":"r"`, nil},
		{"second value", `{"room_name":"r"} {}`, nil},
		{"trailing brace", `{}}`, nil},
		{"array", `["r"]`, nil},
		{"vertical tab", "\v{}", nil},
		{"empty", ``, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got liveKitTokenRequest
			ok := got.decodeFlat([]byte(tc.raw))
			if tc.want == nil {
				if ok || !reflect.DeepEqual(got, liveKitTokenRequest{}) {
					t.Fatalf("decodeFlat(%q) = %v, %+v; want it left to encoding/json, nothing set", tc.raw, ok, got)
				}
				return
			}
			if !ok || !reflect.DeepEqual(got, *tc.want) {
				t.Fatalf("decodeFlat(%q) = %v, %+v; want true, %+v", tc.raw, ok, got, *tc.want)
			}
		})
	}
}

// TestDecodeFlatFieldLimit: more members than it tracks are left to
// encoding/json rather than overrun.
func TestDecodeFlatFieldLimit(t *testing.T) {
	values := make([]string, maxFlatFields+1)
	fields := make([]flatString, len(values))
	for i := range fields {
		fields[i] = flatString{name: strings.Repeat("k", i+1), dst: &values[i]}
	}
	if decodeFlat([]byte(`{"k":"v"}`), fields) {
		t.Fatal("decodeFlat took more fields than it tracks")
	}
}

// FuzzDecodeFlat holds decodeFlat to encoding/json: whatever it takes,
// json.Unmarshal takes too, with the same result.
//
//	go test -run='^$' -fuzz=FuzzDecodeFlat -fuzztime=60s ./adapters/ginhttp/
func FuzzDecodeFlat(f *testing.F) {
	for _, seed := range []string{
		`{"room_name":"standup"}`,
		`{}`,
		` {"participant_identity":"user_1" , "participant_name":"Zoë"}` + "\n",
		`{"room_name":"a","room_name":"b"}`,
		`{"ROOM_NAME":"r"}`,
		`{"room_name":"r\u0000"}`,
		"{\"room_name\":\"\xed\xa0\x80\"}",
		`{"participant_attributes":{"k":"v"}}`,
		`{"room_name":"r"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var flat liveKitTokenRequest
		if !flat.decodeFlat(raw) {
			if !reflect.DeepEqual(flat, liveKitTokenRequest{}) {
				t.Fatalf("decodeFlat(%q) declined but set %+v", raw, flat)
			}
			return
		}
		var ref liveKitTokenRequest
		if err := json.Unmarshal(raw, &ref); err != nil {
			t.Fatalf("decodeFlat took %q, which encoding/json refuses: %v", raw, err)
		}
		if !reflect.DeepEqual(flat, ref) {
			t.Fatalf("decodeFlat(%q) = %+v, encoding/json %+v", raw, flat, ref)
		}
	})
}
