package pemkey_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/foundation/pemkey"
	"github.com/gatepass/gatepass/foundation/pemkey/pemkeytest"
	"github.com/gatepass/gatepass/test/kit"
)

// TestParsePrivateRSAStaysRSAOnly pins that the RSA-only parser the
// identity and development code use did not widen with ParsePrivate.
func TestParsePrivateRSAStaysRSAOnly(t *testing.T) {
	ec := kit.NewECKey(t)
	ed := kit.NewEd25519Key(t)
	for _, key := range []crypto.Signer{ec, ed} {
		text, err := pemkey.EncodePKCS8(key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pemkey.ParsePrivateRSA(string(text)); !errors.Is(err, pemkey.ErrNotRSA) {
			t.Errorf("ParsePrivateRSA(%T) err = %v, want %v", key, err, pemkey.ErrNotRSA)
		}
		if _, err := pemkey.ParsePrivate(string(text)); err != nil {
			t.Errorf("ParsePrivate(%T): %v", key, err)
		}
	}
}

func TestEncodePKCS8RoundTrip(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	text, err := pemkey.EncodePKCS8(key)
	if err != nil {
		t.Fatal(err)
	}
	// An RSA key is written as PKCS#8 too, not as PKCS#1.
	if block, _ := pem.Decode(text); block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("EncodePKCS8 wrote %q", text)
	}
	got, err := pemkey.ParsePrivate(string(text))
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(got) {
		t.Error("round trip returned another key")
	}
}

// TestParsePrivateNamesWhatItWasGiven pins the refusals an operator meets
// when the key file is the wrong kind: each says what the text is and what
// to give instead, and none quotes key material.
func TestParsePrivateNamesWhatItWasGiven(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey := kit.NewECKey(t)
	edKey := kit.NewEd25519Key(t)
	rsaPub, err := pemkey.EncodePublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1Pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})
	tests := []struct {
		name    string
		text    string
		wantErr error
		// want are parts of the message: what the text is, what to give.
		want []string
	}{
		{name: "encrypted PKCS#8 RSA", text: pemkeytest.EncryptedPKCS8(t, rsaKey, "pass phrase"), wantErr: pemkey.ErrEncrypted,
			want: []string{"encrypted with a passphrase (PKCS#8)", "give a PEM private key (PKCS#8, PKCS#1 or SEC 1)", "openssl pkey -in FILE -out NEW_FILE"}},
		{name: "encrypted PKCS#8 Ed25519", text: pemkeytest.EncryptedPKCS8(t, edKey, "pass phrase"), wantErr: pemkey.ErrEncrypted,
			want: []string{"encrypted with a passphrase (PKCS#8)"}},
		{name: "legacy encrypted PKCS#1", text: pemkeytest.EncryptedLegacy(t, rsaKey, "pass phrase"), wantErr: pemkey.ErrEncrypted,
			want: []string{`"RSA PRIVATE KEY" with Proc-Type: 4,ENCRYPTED`, "openssl pkey"}},
		{name: "legacy encrypted SEC 1", text: pemkeytest.EncryptedLegacy(t, ecKey, "pass phrase"), wantErr: pemkey.ErrEncrypted,
			want: []string{`"EC PRIVATE KEY" with Proc-Type: 4,ENCRYPTED`}},
		{name: "OpenSSH RSA", text: pemkeytest.OpenSSH(t, rsaKey, ""), wantErr: pemkey.ErrOpenSSH,
			want: []string{"is an OpenSSH private key; give a PEM private key (PKCS#8, PKCS#1 or SEC 1)", "ssh-keygen -p -N \"\" -m PKCS8 -f COPY"}},
		{name: "OpenSSH ECDSA, encrypted", text: pemkeytest.OpenSSH(t, ecKey, "pass phrase"), wantErr: pemkey.ErrOpenSSH,
			want: []string{"ssh-keygen -p"}},
		{name: "OpenSSH Ed25519", text: pemkeytest.OpenSSH(t, edKey, ""), wantErr: pemkey.ErrOpenSSH,
			want: []string{"OpenSSH private key (Ed25519)", "ssh-keygen cannot convert", "openssl genpkey -algorithm ed25519"}},
		{name: "OpenSSH Ed25519, encrypted", text: pemkeytest.OpenSSH(t, edKey, "pass phrase"), wantErr: pemkey.ErrOpenSSH,
			want: []string{"(Ed25519)"}},
		{name: "OpenSSH Ed25519 with literal \\n", text: strings.ReplaceAll(pemkeytest.OpenSSH(t, edKey, ""), "\n", `\n`), wantErr: pemkey.ErrOpenSSH},
		{name: "SPKI public key", text: string(rsaPub), wantErr: pemkey.ErrPublicKey,
			want: []string{`is a public key (PEM "PUBLIC KEY"); give a PEM private key`}},
		{name: "PKCS#1 public key", text: string(pkcs1Pub), wantErr: pemkey.ErrPublicKey,
			want: []string{`(PEM "RSA PUBLIC KEY")`}},
		{name: "OpenSSH public key line", text: pemkeytest.OpenSSHPublic(t, edKey), wantErr: pemkey.ErrPublicKey,
			want: []string{"an OpenSSH public key line", "give a PEM private key"}},
		{name: "certificate", text: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", wantErr: pemkey.ErrCertificate,
			want: []string{"is a certificate; give a PEM private key"}},
		{name: "unknown block", text: "-----BEGIN DSA PRIVATE KEY-----\nMIIB\n-----END DSA PRIVATE KEY-----\n", wantErr: pemkey.ErrUnknownType,
			want: []string{`"DSA PRIVATE KEY"`}},
		{name: "no PEM", text: "not a key", wantErr: pemkey.ErrNoPEM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pemkey.ParsePrivate(tt.text)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParsePrivate err = %v, want %v", err, tt.wantErr)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "BEGIN") || strings.Contains(err.Error(), "AAAA") {
				t.Errorf("error %q quotes the key", err)
			}
			// The RSA-only parser refuses the same texts with the same
			// reason.
			if _, err := pemkey.ParsePrivateRSA(tt.text); !errors.Is(err, tt.wantErr) {
				t.Errorf("ParsePrivateRSA err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestUnencryptedKeysStillParse pins that the new refusals did not catch
// the keys gatepass takes: each format the tools write without a
// passphrase.
func TestUnencryptedKeysStillParse(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey := kit.NewECKey(t)
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string][]byte{
		"PKCS#1": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}),
		"SEC 1":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}),
		// A header that is not Proc-Type: 4,ENCRYPTED is no reason to refuse.
		"PKCS#1 with a comment header": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Comment": "office key"}, Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}),
	} {
		if _, err := pemkey.ParsePrivate(string(text)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestParsePublicKeysNamesCertificatesAndOpenSSHLines: the published-keys
// bundle says what to do with a certificate or an OpenSSH public key.
func TestParsePublicKeysNamesCertificatesAndOpenSSHLines(t *testing.T) {
	ecKey := kit.NewECKey(t)
	pub, err := pemkey.EncodePublicKey(ecKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, text string
		wantErr    error
		want       string
	}{
		{"certificate second", string(pub) + "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", pemkey.ErrCertificate, "key 2: key is a certificate; give its public key: openssl x509 -pubkey -noout -in FILE"},
		{"OpenSSH public key line", pemkeytest.OpenSSHPublic(t, ecKey), pemkey.ErrNoPEM, "ssh-keygen -e -m PKCS8 -f FILE.pub"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pemkey.ParsePublicKeys(tt.text)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParsePublicKeys err = %v, want %v saying %q", err, tt.wantErr, tt.want)
			}
		})
	}
}
