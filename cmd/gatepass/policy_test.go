package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPolicyDefaultRoundTripsThroughCheck(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"policy", "default"}, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("policy default: %v\n%s", err, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "# gatepass transport policy") || !strings.Contains(out.String(), "version: 1") {
		t.Fatalf("policy default printed:\n%s", out.String())
	}
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	var checkOut, checkErr bytes.Buffer
	if err := runPolicy([]string{"check", file}, strings.NewReader(""), &checkOut, &checkErr); err != nil {
		t.Fatalf("policy check of the default: %v\n%s", err, checkErr.String())
	}
	want := "ok: " + file + ": policy version 1: 5 LiveKit rule(s); Centrifugo: 1 connect, 1 subscribe, 0 server-side subscription rule(s); NATS: 1 connect, 1 publish, 1 subscribe rule(s)\n"
	if checkOut.String() != want || checkErr.Len() != 0 {
		t.Fatalf("stdout %q stderr %q, want %q", checkOut.String(), checkErr.String(), want)
	}

	checkOut.Reset()
	if err := runPolicy([]string{"check", "-"}, bytes.NewReader(out.Bytes()), &checkOut, &checkErr); err != nil {
		t.Fatalf("policy check -: %v", err)
	}
	if !strings.HasPrefix(checkOut.String(), "ok: standard input:") {
		t.Fatalf("stdout %q", checkOut.String())
	}
}

func TestPolicyCheckNamesEveryProblem(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	bad := "version: 1\nlivekit:\n  - roles: [admin]\n    rights: [canFly]\n    colour: blue\ncentrifugo:\n  subscribe:\n    - roles: [a]\n      channels: [\"org:*\"]\n"
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := runPolicy([]string{"check", file}, strings.NewReader(""), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "3 problem(s)") {
		t.Fatalf("err = %v, want 3 problems", err)
	}
	if out.Len() != 0 {
		t.Fatalf("stdout %q on failure", out.String())
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	want := []string{
		file + `: line 4: livekit[0].rights[0]: unknown right "canFly"`,
		file + `: line 5: unknown field "colour"`,
		file + `: line 9: centrifugo.subscribe[0].channels[0]: pattern "org:*"`,
	}
	if len(lines) != len(want) {
		t.Fatalf("stderr:\n%s", errOut.String())
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], want[i])
		}
	}
}

func TestPolicyCheckUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{{}, {"check"}, {"check", "a", "b"}, {"nope"}, {"default", "x"}} {
		if err := runPolicy(args, strings.NewReader(""), &out, &errOut); err == nil {
			t.Errorf("policy %q succeeded", args)
		}
	}
	if err := runPolicy([]string{"check", filepath.Join(t.TempDir(), "missing.yaml")}, strings.NewReader(""), &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}
