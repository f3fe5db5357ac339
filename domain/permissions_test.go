package domain_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/domain"
)

func TestNewPermissions(t *testing.T) {
	many := make([]string, domain.MaxPermissions+1)
	for i := range many {
		many[i] = "p" + strings.Repeat("x", i)
	}
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr error
	}{
		{name: "absent claim is the empty set", in: nil},
		{name: "empty list is the empty set", in: []string{}},
		{name: "sorted and deduplicated", in: []string{"livekit:publish", "a:b", "livekit:publish"}, want: []string{"a:b", "livekit:publish"}},
		{name: "at the limits", in: append(slices.Clone(many[:domain.MaxPermissions-1]), strings.Repeat("z", domain.MaxPermissionBytes)),
			want: append(slices.Clone(many[:domain.MaxPermissions-1]), strings.Repeat("z", domain.MaxPermissionBytes))},
		{name: "empty entry", in: []string{"a", ""}, wantErr: domain.ErrInvalidPermissions},
		{name: "space", in: []string{"a b"}, wantErr: domain.ErrInvalidPermissions},
		{name: "tab", in: []string{"a\tb"}, wantErr: domain.ErrInvalidPermissions},
		{name: "no-break space", in: []string{"a\u00a0b"}, wantErr: domain.ErrInvalidPermissions},
		{name: "NUL", in: []string{"a\x00b"}, wantErr: domain.ErrInvalidPermissions},
		{name: "DEL", in: []string{"a\x7fb"}, wantErr: domain.ErrInvalidPermissions},
		{name: "invalid UTF-8", in: []string{"a\xffb"}, wantErr: domain.ErrInvalidPermissions},
		{name: "entry over 128 bytes", in: []string{strings.Repeat("z", domain.MaxPermissionBytes+1)}, wantErr: domain.ErrInvalidPermissions},
		{name: "over 64 entries", in: many, wantErr: domain.ErrInvalidPermissions},
		{name: "over 64 entries even with duplicates", in: slices.Repeat([]string{"a"}, domain.MaxPermissions+1), wantErr: domain.ErrInvalidPermissions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.NewPermissions(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if got != (domain.Permissions{}) {
					t.Fatalf("an error came with a non-empty set %v", got.List())
				}
				return
			}
			slices.Sort(tt.want)
			if !slices.Equal(got.List(), tt.want) || got.Len() != len(tt.want) {
				t.Fatalf("List %q Len %d, want %q", got.List(), got.Len(), tt.want)
			}
			for _, p := range tt.want {
				if !got.Has(p) {
					t.Errorf("Has(%q) = false", p)
				}
			}
			if len(tt.want) == 0 && got != (domain.Permissions{}) {
				t.Fatal("an empty set is not the zero value")
			}
		})
	}
}

func TestPermissionsHas(t *testing.T) {
	p, err := domain.NewPermissions([]string{"livekit:publish", "org:read"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "livekit", "livekit:publis", "livekit:publish\x00org:read", "\x00", "org:read "} {
		if p.Has(s) {
			t.Errorf("Has(%q) = true", s)
		}
	}
	if (domain.Permissions{}).Has("") || (domain.Permissions{}).Len() != 0 || (domain.Permissions{}).List() != nil {
		t.Error("the zero value is not the empty set")
	}
	// List hands out a copy.
	l := p.List()
	l[0] = "changed"
	if !p.Has("livekit:publish") {
		t.Error("List shares the set's storage")
	}
}

func TestPermissionsAreComparable(t *testing.T) {
	a, _ := domain.NewPermissions([]string{"b", "a", "b"})
	b, _ := domain.NewPermissions([]string{"a", "b"})
	c, _ := domain.NewPermissions([]string{"a"})
	pa := domain.Principal{UserID: "u", OrgID: "o", Role: "member", Permissions: a}
	pb := domain.Principal{UserID: "u", OrgID: "o", Role: "member", Permissions: b}
	pc := domain.Principal{UserID: "u", OrgID: "o", Role: "member", Permissions: c}
	if pa != pb {
		t.Error("the same set built in another order differs")
	}
	if pa == pc {
		t.Error("different sets compare equal")
	}
}
