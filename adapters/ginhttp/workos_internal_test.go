package ginhttp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestVerifyWorkOSSignature(t *testing.T) {
	secret, body := []byte("whsec"), []byte(`{"id":"event_1"}`)
	now := time.UnixMilli(1_700_000_000_000)
	sign := func(ts int64, key []byte) string {
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%d.%s", ts, body)
		return hex.EncodeToString(mac.Sum(nil))
	}
	ts := now.UnixMilli()
	good, other := sign(ts, secret), sign(ts, []byte("other"))
	tests := []struct {
		name, header string
		wantErr      error
	}{
		{"WorkOS's form", fmt.Sprintf("t=%d, v1=%s", ts, good), nil},
		{"without the space", fmt.Sprintf("t=%d,v1=%s", ts, good), nil},
		{"one of two v1 matches", fmt.Sprintf("t=%d, v1=%s, v1=%s", ts, other, good), nil},
		{"at the tolerance", fmt.Sprintf("t=%d, v1=%s", ts-WorkOSTolerance.Milliseconds(), sign(ts-WorkOSTolerance.Milliseconds(), secret)), nil},
		{"missing", "", errNoSignature},
		{"wrong secret", fmt.Sprintf("t=%d, v1=%s", ts, other), errWrongSignature},
		{"another time signed", fmt.Sprintf("t=%d, v1=%s", ts+1, good), errWrongSignature},
		{"stale", fmt.Sprintf("t=%d, v1=%s", ts-WorkOSTolerance.Milliseconds()-1, sign(ts-WorkOSTolerance.Milliseconds()-1, secret)), errStaleSignature},
		{"from the future", fmt.Sprintf("t=%d, v1=%s", ts+WorkOSTolerance.Milliseconds()+1, sign(ts+WorkOSTolerance.Milliseconds()+1, secret)), errStaleSignature},
		{"no t", "v1=" + good, errMalformedSignature},
		{"two t", fmt.Sprintf("t=%d, t=%d, v1=%s", ts, ts, good), errMalformedSignature},
		{"t not digits", fmt.Sprintf("t=+%d, v1=%s", ts, good), errMalformedSignature},
		{"no v1", fmt.Sprintf("t=%d", ts), errMalformedSignature},
		{"v1 not hex", fmt.Sprintf("t=%d, v1=%s", ts, strings.Repeat("z", 64)), errMalformedSignature},
		{"v1 short", fmt.Sprintf("t=%d, v1=%s", ts, good[:62]), errMalformedSignature},
		{"two spaces", fmt.Sprintf("t=%d,  v1=%s", ts, good), errMalformedSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := verifyWorkOSSignature(tt.header, body, secret, now); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
