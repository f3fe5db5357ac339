// Package pemkey reads the keys operators hand gatepass as PEM text: RSA
// (PKCS#1 or PKCS#8), ECDSA P-256 (SEC 1 or PKCS#8) and Ed25519 (PKCS#8)
// private keys, and SPKI or PKCS#1 RSA public keys. What it refuses, it
// names: an encrypted key, an OpenSSH key, a public key or a certificate
// where a private key belongs each get their own error, saying what to
// give instead.
package pemkey

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// MinRSABits is the smallest RSA modulus gatepass accepts.
const MinRSABits = 2048

// Errors of this package; none of them quotes key material.
var (
	ErrNoPEM       = errors.New("no PEM block found")
	ErrNotRSA      = errors.New("key is not an RSA key")
	ErrWeakKey     = errors.New("RSA key is too short")
	ErrUnparsable  = errors.New("key cannot be parsed")
	ErrUnknownType = errors.New("unsupported PEM block type")
	// ErrUnsupportedKey means a private key is of a type or curve no
	// office signing algorithm uses.
	ErrUnsupportedKey = errors.New("key is not RSA, ECDSA P-256 or Ed25519")

	// ErrEncrypted means a private key is protected by a passphrase
	// (PKCS#8 "ENCRYPTED PRIVATE KEY", or a PKCS#1 or SEC 1 block with
	// "Proc-Type: 4,ENCRYPTED"): gatepass has no passphrase to open it.
	ErrEncrypted = errors.New("key is encrypted with a passphrase")
	// ErrOpenSSH means a private key is in OpenSSH's own format ("OPENSSH
	// PRIVATE KEY"), not PEM key material.
	ErrOpenSSH = errors.New("key is an OpenSSH private key")
	// ErrPublicKey means a public key was given where a private key
	// belongs.
	ErrPublicKey = errors.New("key is a public key")
	// ErrCertificate means a certificate was given where a key belongs.
	ErrCertificate = errors.New("key is a certificate")
)

// wantPrivate is what every refusal of a recognised non-private key asks
// for instead.
const wantPrivate = "give a PEM private key (PKCS#8, PKCS#1 or SEC 1)"

// Normalize turns literal "\n" sequences (as .env files and container
// settings carry multi-line values) into newlines and trims the text.
func Normalize(text string) string {
	text = strings.ReplaceAll(text, `\r\n`, "\n")
	text = strings.ReplaceAll(text, `\n`, "\n")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	return strings.TrimSpace(text)
}

// ParsePrivateRSA parses one RSA private key of at least MinRSABits.
func ParsePrivateRSA(text string) (*rsa.PrivateKey, error) {
	key, err := ParsePrivate(text)
	if err != nil {
		if errors.Is(err, ErrUnsupportedKey) {
			return nil, ErrNotRSA
		}
		return nil, err
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, ErrNotRSA
	}
	return rsaKey, nil
}

// ParsePrivate parses one private key that can sign office grants and
// returns it as a Go crypto.Signer: an *rsa.PrivateKey of at least
// MinRSABits (PEM "RSA PRIVATE KEY" or "PRIVATE KEY"), an *ecdsa.PrivateKey
// on P-256 ("EC PRIVATE KEY" or "PRIVATE KEY") or an ed25519.PrivateKey
// ("PRIVATE KEY"). Literal "\n" sequences are read as newlines (Normalize).
func ParsePrivate(text string) (crypto.Signer, error) {
	normal := Normalize(text)
	if isOpenSSHPublicKey(normal) {
		return nil, fmt.Errorf("%w (an OpenSSH public key line); %s", ErrPublicKey, wantPrivate)
	}
	block, _ := pem.Decode([]byte(normal))
	if block == nil {
		return nil, ErrNoPEM
	}
	if err := notAPrivateKey(block); err != nil {
		return nil, err
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w %q", ErrUnknownType, block.Type)
	}
	if err != nil {
		return nil, ErrUnparsable
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if err := checkBits(&k.PublicKey); err != nil {
			return nil, err
		}
		k.Precompute()
		return k, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: curve %s", ErrUnsupportedKey, k.Curve.Params().Name)
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, key)
	}
}

// ParsePublicKeys parses a bundle of PEM public keys (SPKI "PUBLIC KEY",
// or PKCS#1 "RSA PUBLIC KEY"): RSA of at least MinRSABits, ECDSA P-256 or
// Ed25519. Errors name the key by its position, never its content.
func ParsePublicKeys(text string) ([]crypto.PublicKey, error) {
	rest := []byte(Normalize(text))
	var keys []crypto.PublicKey
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n := len(keys) + 1
		var key any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			return nil, fmt.Errorf("key %d: %w; give its public key: openssl x509 -pubkey -noout -in FILE", n, ErrCertificate)
		default:
			return nil, fmt.Errorf("key %d: %w %q", n, ErrUnknownType, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", n, ErrUnparsable)
		}
		switch pub := key.(type) {
		case *rsa.PublicKey:
			if err := checkBits(pub); err != nil {
				return nil, fmt.Errorf("key %d: %w", n, err)
			}
		case *ecdsa.PublicKey:
			if pub.Curve != elliptic.P256() {
				return nil, fmt.Errorf("key %d: %w: curve %s", n, ErrUnsupportedKey, pub.Curve.Params().Name)
			}
		case ed25519.PublicKey:
		default:
			return nil, fmt.Errorf("key %d: %w: %T", n, ErrUnsupportedKey, key)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		if isOpenSSHPublicKey(Normalize(text)) {
			return nil, fmt.Errorf("%w: an OpenSSH public key line is not PEM; convert an RSA or ECDSA one with ssh-keygen -e -m PKCS8 -f FILE.pub", ErrNoPEM)
		}
		return nil, ErrNoPEM
	}
	return keys, nil
}

// EncodePublicKey returns the SPKI PEM of any supported public key.
func EncodePublicKey(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// EncodePKCS8 returns the PKCS#8 PEM ("PRIVATE KEY") of an RSA, ECDSA or
// Ed25519 private key.
func EncodePKCS8(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// notAPrivateKey names what a block given as a private key is, when it is
// something gatepass recognises but cannot sign with; nil otherwise.
func notAPrivateKey(block *pem.Block) error {
	switch block.Type {
	case "ENCRYPTED PRIVATE KEY":
		return fmt.Errorf("%w (PKCS#8); %s, unencrypted and protected by file permissions or a secret store: decrypt with openssl pkey -in FILE -out NEW_FILE", ErrEncrypted, wantPrivate)
	case "OPENSSH PRIVATE KEY":
		// The key type is written in clear at the start of the blob, even
		// when the key itself is encrypted. ssh-keygen converts RSA and
		// ECDSA keys to PKCS#8, but not Ed25519 ones.
		if bytes.Contains(block.Bytes, []byte("ssh-ed25519")) {
			return fmt.Errorf("%w (Ed25519); %s: ssh-keygen cannot convert an Ed25519 key, make a new one with openssl genpkey -algorithm ed25519 -out FILE", ErrOpenSSH, wantPrivate)
		}
		return fmt.Errorf("%w; %s: convert a copy (it is rewritten in place) with ssh-keygen -p -N \"\" -m PKCS8 -f COPY", ErrOpenSSH, wantPrivate)
	case "PUBLIC KEY", "RSA PUBLIC KEY":
		return fmt.Errorf("%w (PEM %q); %s", ErrPublicKey, block.Type, wantPrivate)
	case "CERTIFICATE":
		return fmt.Errorf("%w; %s", ErrCertificate, wantPrivate)
	}
	if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return fmt.Errorf("%w (PEM %q with Proc-Type: 4,ENCRYPTED); %s, unencrypted and protected by file permissions or a secret store: decrypt with openssl pkey -in FILE -out NEW_FILE", ErrEncrypted, block.Type, wantPrivate)
	}
	return nil
}

// isOpenSSHPublicKey reports whether text is a line of an authorized_keys
// or .pub file ("ssh-ed25519 AAAA...", "ecdsa-sha2-nistp256 AAAA...").
func isOpenSSHPublicKey(text string) bool {
	kind, rest, ok := strings.Cut(text, " ")
	return ok && strings.HasPrefix(rest, "AAAA") &&
		(strings.HasPrefix(kind, "ssh-") || strings.HasPrefix(kind, "ecdsa-sha2-") || strings.HasPrefix(kind, "sk-"))
}

func checkBits(pub *rsa.PublicKey) error {
	if bits := pub.N.BitLen(); bits < MinRSABits {
		return fmt.Errorf("%w: %d bits, need at least %d", ErrWeakKey, bits, MinRSABits)
	}
	return nil
}
