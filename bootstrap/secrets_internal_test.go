package bootstrap

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestSharedSecretExemptionIsDeclared: a pair of secrets may hold one value
// only when one of the two declares the other in its mayEqual tag; the
// exemption is that pair's alone. A declaration made for the test stands
// in for the real one (NATS_CALLOUT_ISSUER_KEY may be the account signing
// key), so the rule is pinned apart from it.
func TestSharedSecretExemptionIsDeclared(t *testing.T) {
	type declared struct {
		Grants  secret `env:"GRANTS_KEY" mayEqual:"CALLOUT_KEY"`
		Callout secret `env:"CALLOUT_KEY"`
		Other   secret `env:"OTHER_SECRET"`
	}
	const shared = "one-account-key-for-two-roles-6b0f2a"
	tests := []struct {
		name string
		give declared
		want []string
	}{
		{name: "the declared pair may be equal", give: declared{Grants: secret{value: shared}, Callout: secret{value: shared}, Other: secret{value: "another"}}},
		{name: "an undeclared third may not", give: declared{Grants: secret{value: shared}, Callout: secret{value: shared}, Other: secret{value: shared}},
			want: []string{"OTHER_SECRET: equals GRANTS_KEY; give each purpose its own secret"}},
		{name: "nor with the declaring side's partner alone", give: declared{Callout: secret{value: shared}, Other: secret{value: shared, file: "/run/secrets/other"}},
			want: []string{"OTHER_SECRET_FILE: equals CALLOUT_KEY; give each purpose its own secret"}},
		{name: "unset secrets are not compared", give: declared{Other: secret{value: shared}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p problems
			refuseSharedSecrets(reflect.ValueOf(&tt.give).Elem(), &p)
			var got []string
			for _, l := range p.lines {
				got = append(got, l.name+": "+l.text)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("problems %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMayEqualNamesADeclaredSecret: a mayEqual tag names other secrets of
// the declaration, as the environment spells them, so an exemption cannot
// be granted to a name that is never compared.
func TestMayEqualNamesADeclaredSecret(t *testing.T) {
	secrets := map[string]bool{}
	tags := map[string]string{}
	walkEnv(reflect.ValueOf(&environment{Transports: newTransportEnvs()}).Elem(), "", func(name string, f reflect.Value, sf reflect.StructField) {
		_, isSecret := f.Addr().Interface().(*secret)
		secrets[name] = isSecret
		if tag, ok := sf.Tag.Lookup(mayEqualTag); ok {
			tags[name] = tag
		}
	})
	for name, tag := range tags {
		if !secrets[name] {
			t.Errorf("%s carries %s but is not a secret", name, mayEqualTag)
		}
		for other := range strings.SplitSeq(tag, ",") {
			if other == name || !secrets[other] {
				t.Errorf("%s may equal %q, which is not another declared secret", name, other)
			}
		}
	}
}
