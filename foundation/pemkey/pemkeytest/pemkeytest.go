// Package pemkeytest makes the private keys operators hand gatepass by
// mistake, in the formats the tools really write them: PKCS#8 encrypted
// with a passphrase (as openssl genpkey -aes-256-cbc writes it), PKCS#1 or
// SEC 1 with Proc-Type: 4,ENCRYPTED (openssl genrsa -traditional -aes256),
// and OpenSSH's own format (ssh-keygen's default). pemkey's tests and the
// configuration tests of the binary both use them.
package pemkeytest

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Object identifiers of PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC
// (RFC 8018), openssl's default for an encrypted PKCS#8 key.
var (
	oidPBES2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidAES256CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

type algorithm struct {
	Algorithm asn1.ObjectIdentifier
	Params    asn1.RawValue `asn1:"optional"`
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int
	PRF        algorithm
}

type pbes2Params struct {
	KDF    algorithm
	Scheme algorithm
}

type encryptedPrivateKeyInfo struct {
	Algorithm algorithm
	Data      []byte
}

// EncryptedPKCS8 returns key as an "ENCRYPTED PRIVATE KEY" PEM block
// sealed with passphrase.
func EncryptedPKCS8(t testing.TB, key crypto.Signer, passphrase string) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	salt, iv := make([]byte, 16), make([]byte, aes.BlockSize)
	rand.Read(salt)
	rand.Read(iv)
	const iterations = 2048
	aesKey, err := pbkdf2.Key(sha256.New, passphrase, salt, iterations, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		t.Fatal(err)
	}
	pad := aes.BlockSize - len(der)%aes.BlockSize
	plain := append(der, make([]byte, pad)...)
	for i := len(der); i < len(plain); i++ {
		plain[i] = byte(pad)
	}
	sealed := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(sealed, plain)

	kdf := mustMarshal(t, pbkdf2Params{Salt: salt, Iterations: iterations, KeyLength: 32,
		PRF: algorithm{Algorithm: oidHMACWithSHA256, Params: asn1.NullRawValue}})
	params := mustMarshal(t, pbes2Params{
		KDF:    algorithm{Algorithm: oidPBKDF2, Params: asn1.RawValue{FullBytes: kdf}},
		Scheme: algorithm{Algorithm: oidAES256CBC, Params: asn1.RawValue{FullBytes: mustMarshal(t, iv)}},
	})
	info := mustMarshal(t, encryptedPrivateKeyInfo{
		Algorithm: algorithm{Algorithm: oidPBES2, Params: asn1.RawValue{FullBytes: params}},
		Data:      sealed,
	})
	return string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: info}))
}

// EncryptedLegacy returns an RSA key as PKCS#1 ("RSA PRIVATE KEY") or an
// ECDSA key as SEC 1 ("EC PRIVATE KEY"), encrypted with passphrase under
// the legacy Proc-Type: 4,ENCRYPTED headers.
func EncryptedLegacy(t testing.TB, key crypto.Signer, passphrase string) string {
	t.Helper()
	var typ string
	var der []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		typ, der = "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k)
	case *ecdsa.PrivateKey:
		var err error
		if der, err = x509.MarshalECPrivateKey(k); err != nil {
			t.Fatal(err)
		}
		typ = "EC PRIVATE KEY"
	default:
		t.Fatalf("pemkeytest: no legacy PEM for %T", key)
	}
	// The legacy format is deprecated for its weak key derivation; it is
	// made here only because operators still have such files.
	block, err := x509.EncryptPEMBlock(rand.Reader, typ, der, []byte(passphrase), x509.PEMCipherAES256) //nolint:staticcheck // the deprecated format is the fixture
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}

// OpenSSH returns key in OpenSSH's private key format ("OPENSSH PRIVATE
// KEY"), encrypted with passphrase unless it is empty.
func OpenSSH(t testing.TB, key crypto.Signer, passphrase string) string {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(key, "operator@laptop")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, "operator@laptop", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}

// OpenSSHPublic returns the public half of key as a line of an
// authorized_keys or .pub file.
func OpenSSHPublic(t testing.TB, key crypto.Signer) string {
	t.Helper()
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(ssh.MarshalAuthorizedKey(pub))
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
