package config_test

import (
	"testing"

	"github.com/gatepass/gatepass/test/inproc"
	"github.com/gatepass/gatepass/test/kit"
)

// TestOneSecretOnePurpose: two secrets with one value refuse the start,
// as values or files alike (a file's trailing newline removed first),
// naming both variables and never the value. A LiveKit API secret equal
// to the Supabase JWT secret would make every LiveKit token, which travels
// in /rtc?access_token= URLs and server logs, a token Supabase accepts.
func TestOneSecretOnePurpose(t *testing.T) {
	t.Parallel()
	idp := kit.NewIdentityProvider(t)
	_, keyPEM := kit.NewRSAKey(t, 2048)
	liveKit := map[string]string{"LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_API_KEY": "APIkey1"}
	base := kit.ProductionEnv(idp, keyPEM, liveKit)
	tests := []struct {
		name string
		over map[string]string
		want string
	}{
		{name: "LiveKit's secret is Supabase's",
			over: map[string]string{"LIVEKIT_API_SECRET": kit.SupabaseSecret},
			want: "LIVEKIT_API_SECRET: equals SUPABASE_JWT_SECRET; give each purpose its own secret"},
		{name: "LiveKit's file holds Supabase's secret and a newline",
			over: map[string]string{"LIVEKIT_API_SECRET_FILE": writeFile(t, "livekit", kit.SupabaseSecret+"\n")},
			want: "LIVEKIT_API_SECRET_FILE: equals SUPABASE_JWT_SECRET; give each purpose its own secret"},
		{name: "Supabase's file holds LiveKit's secret and a CRLF",
			over: map[string]string{
				"SUPABASE_JWT_SECRET": "", "SUPABASE_JWT_SECRET_FILE": writeFile(t, "supabase", "livekit-secret-of-more-than-32-bytes-9f3a\r\n"),
				"LIVEKIT_API_SECRET": "livekit-secret-of-more-than-32-bytes-9f3a",
			},
			want: "LIVEKIT_API_SECRET: equals SUPABASE_JWT_SECRET_FILE; give each purpose its own secret"},
		{name: "LiveKit's key is its secret",
			over: map[string]string{"LIVEKIT_API_KEY": "livekit-secret-of-more-than-32-bytes-9f3a", "LIVEKIT_API_SECRET": "livekit-secret-of-more-than-32-bytes-9f3a"},
			want: "LIVEKIT_API_KEY: equals LIVEKIT_API_SECRET; the key is in every token, give the secret a value of its own"},
		{name: "the Redis password is Supabase's secret",
			over: map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/0", "REDIS_PASSWORD": kit.SupabaseSecret, "LIVEKIT_API_SECRET": "livekit-secret-of-more-than-32-bytes-9f3a"},
			want: "REDIS_PASSWORD: equals SUPABASE_JWT_SECRET; give each purpose its own secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stderr := refused(t, kit.With(base, tt.over))
			wantSays(t, stderr, tt.want)
			wantNoLeak(t, stderr, kit.SupabaseSecret, "livekit-secret-of-more-than-32-bytes-9f3a")
		})
	}
	t.Run("distinct secrets start", func(t *testing.T) {
		t.Parallel()
		p := inproc.Serve(t, kit.With(base, map[string]string{"LIVEKIT_API_SECRET": kit.SupabaseSecret + "-for-livekit"}))
		wantNoLeak(t, p.Logs(), kit.SupabaseSecret)
	})
}
