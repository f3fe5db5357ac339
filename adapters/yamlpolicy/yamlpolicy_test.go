package yamlpolicy_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/adapters/yamlpolicy"
	"github.com/gatepass/gatepass/application"
	"github.com/gatepass/gatepass/domain"
)

func TestDefaultRoundTrips(t *testing.T) {
	want := application.DefaultPolicyRules()
	out, err := yamlpolicy.Format(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := yamlpolicy.Parse(out)
	if err != nil {
		t.Fatalf("the formatted default does not parse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip\n got %+v\nwant %+v\n%s", got, want, out)
	}
	for _, want := range []string{"# gatepass transport policy", "version: 1", "canUpdateOwnMetadata", "{orgId}", "serverSubscriptions: []"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the formatted default lacks %q:\n%s", want, out)
		}
	}
}

func TestParse(t *testing.T) {
	src := `
version: 1
livekit:
  - roles: [host]
    permissions: [lk:host]
    rights: [canPublish, roomCreate]
centrifugo:
  connect:
    - roles: ["*"]
  subscribe:
    - permissions: [rt:dm]
      channels: ["dm:{orgId}.{userId}.*"]
  serverSubscriptions:
    - roles: [host]
      channels: ["user:{userId}"]
`
	got, err := yamlpolicy.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := domain.PolicyRules{
		Version: 1,
		Sections: []domain.PolicySection{
			domain.LiveKitRules{{Subjects: domain.Subjects{Roles: []string{"host"}, Permissions: []string{"lk:host"}},
				Rights: []domain.LiveKitRight{domain.CanPublish, domain.RoomCreate}}},
			domain.CentrifugoRules{
				Connect:             []domain.Subjects{{Roles: []string{"*"}}},
				Subscribe:           []domain.ChannelRule{{Subjects: domain.Subjects{Permissions: []string{"rt:dm"}}, Channels: []string{"dm:{orgId}.{userId}.*"}}},
				ServerSubscriptions: []domain.ChannelRule{{Subjects: domain.Subjects{Roles: []string{"host"}}, Channels: []string{"user:{userId}"}}},
			},
			domain.NATSRules{},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	// A file may leave a transport out: nothing is granted on it.
	got, err = yamlpolicy.Parse([]byte("version: 1\n"))
	if err != nil || len(domain.PolicySectionOf[domain.LiveKitRules](got)) != 0 || len(domain.PolicySectionOf[domain.CentrifugoRules](got).Connect) != 0 {
		t.Fatalf("minimal file: %+v, %v", got, err)
	}
}

// Every kind of mistake, each on its own line, all named at once.
const badFile = `version: 2
extra: true
livekit:
  - roles: [admin]
    rights: [canPublish, canFly]
    colour: blue
  - rights: [canSubscribe]
  - roles: admin
    rights: [canSubscribe]
  - roles: [member, member]
    rights: [canPublish,
      canPublish]
  - roles: [viewer]
    rights: []
centrifugo:
  connect:
    - {}
    - roles: ["*"]
      roles: ["x"]
  subscribe:
    - roles: ["*"]
      channels:
        - "org:{orgId}.*.*"
        - "org:{tenant}"
        - "org:{orgId}"
        - "org:{orgId}"
        - "chat:{orgId}_{userId}"
  serverSubscriptions:
    - roles: [admin]
      channels: ["user:{userId}.*"]
    - roles: [admin]
      channels:
`

func TestParseNamesEveryMistake(t *testing.T) {
	_, err := yamlpolicy.Parse([]byte(badFile))
	var pe *domain.PolicyError
	if !errors.As(err, &pe) || !errors.Is(err, domain.ErrInvalidPolicy) {
		t.Fatalf("err = %v, want a *domain.PolicyError", err)
	}
	want := []struct {
		line int
		path string
		msg  string
	}{
		{1, "version", "2 is not a supported version"},
		{2, "", `unknown field "extra"`},
		{5, "livekit[0].rights[1]", `unknown right "canFly"`},
		{6, "", `unknown field "colour"`},
		{7, "livekit[1]", "empty rule"},
		{8, "", `wrong type: "admin" is a string, want a list of strings`},
		{10, "livekit[3].roles[1]", `duplicate role "member"`},
		{12, "livekit[3].rights[1]", `duplicate right "canPublish"`},
		{14, "livekit[4].rights", "grants no right"},
		{17, "centrifugo.connect[0]", "empty rule"},
		{19, "", `mapping key "roles" already defined at line 18`},
		{23, "centrifugo.subscribe[0].channels[0]", "* may only end a pattern"},
		{24, "centrifugo.subscribe[0].channels[1]", "unknown placeholder"},
		{26, "centrifugo.subscribe[0].channels[3]", `duplicate channel "org:{orgId}"`},
		{27, "centrifugo.subscribe[0].channels[4]", "placeholder {orgId} is followed by '_'"},
		{30, "centrifugo.serverSubscriptions[0].channels[0]", "server-side subscription names one channel"},
		{32, "centrifugo.serverSubscriptions[1].channels", "names no channel"},
	}
	if len(pe.Problems) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(pe.Problems), len(want), strings.ReplaceAll(err.Error(), "; ", "\n"))
	}
	for i, w := range want {
		if i >= len(pe.Problems) {
			break
		}
		p := pe.Problems[i]
		if p.Line != w.line || p.Path.String() != w.path || !strings.Contains(p.Message, w.msg) {
			t.Errorf("problem %d = line %d %q %q, want line %d %q %q", i, p.Line, p.Path, p.Message, w.line, w.path, w.msg)
		}
		if strings.Contains(p.Message, "yamlpolicy.") || strings.Contains(p.Message, "[]string") {
			t.Errorf("problem %d speaks Go: %q", i, p.Message)
		}
	}
}

func TestParseWrongTypes(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"version as text", "version: one\n", `"one" is a string, want an integer`},
		{"livekit as a mapping", "version: 1\nlivekit: {roles: [a]}\n", "want a list"},
		{"rule as a list", "version: 1\nlivekit:\n  - [a]\n", "a list, want a mapping"},
		{"channel as a mapping", "version: 1\ncentrifugo:\n  subscribe:\n    - roles: [a]\n      channels: [{a: b}]\n", "a mapping, want a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := yamlpolicy.Parse([]byte(tt.src))
			var pe *domain.PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) || pe.Problems[0].Line == 0 {
				t.Fatalf("err = %v, want %q with a line", err, tt.want)
			}
		})
	}
}

func TestParseRefusesWhatIsNotAPolicy(t *testing.T) {
	tests := []struct{ name, src string }{
		{"empty", ""},
		{"not YAML", "version: [1\n"},
		{"a list", "- 1\n"},
		{"tab indentation", "version: 1\nlivekit:\n\t- roles: [a]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := yamlpolicy.Parse([]byte(tt.src)); !errors.Is(err, domain.ErrInvalidPolicy) {
				t.Fatalf("err = %v, want %v", err, domain.ErrInvalidPolicy)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "policy.yaml")
	out, err := yamlpolicy.Format(application.DefaultPolicyRules())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, out, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := yamlpolicy.Load(good); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if _, err := yamlpolicy.Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	huge := filepath.Join(dir, "huge.yaml")
	if err := os.WriteFile(huge, []byte("version: 1\n"+strings.Repeat("#\n", yamlpolicy.MaxFileBytes/2)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := yamlpolicy.Load(huge); !errors.Is(err, domain.ErrInvalidPolicy) {
		t.Fatalf("huge file: %v", err)
	}
}
