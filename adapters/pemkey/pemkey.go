// Package pemkey reads the RSA keys operators hand gatepass as PEM text:
// PKCS#1 or PKCS#8 private keys, and SPKI or PKCS#1 public keys.
package pemkey

import (
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
)

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
	block, _ := pem.Decode([]byte(Normalize(text)))
	if block == nil {
		return nil, ErrNoPEM
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w %q", ErrUnknownType, block.Type)
	}
	if err != nil {
		return nil, ErrUnparsable
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, ErrNotRSA
	}
	if err := checkBits(&rsaKey.PublicKey); err != nil {
		return nil, err
	}
	rsaKey.Precompute()
	return rsaKey, nil
}

// ParsePublicRSAs parses a bundle of PEM public keys (SPKI "PUBLIC KEY" or
// PKCS#1 "RSA PUBLIC KEY"), each of at least MinRSABits.
func ParsePublicRSAs(text string) ([]*rsa.PublicKey, error) {
	rest := []byte(Normalize(text))
	var keys []*rsa.PublicKey
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var key any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		default:
			return nil, fmt.Errorf("key %d: %w %q", len(keys)+1, ErrUnknownType, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", len(keys)+1, ErrUnparsable)
		}
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("key %d: %w", len(keys)+1, ErrNotRSA)
		}
		if err := checkBits(pub); err != nil {
			return nil, fmt.Errorf("key %d: %w", len(keys)+1, err)
		}
		keys = append(keys, pub)
	}
	if len(keys) == 0 {
		return nil, ErrNoPEM
	}
	return keys, nil
}

// EncodePrivate returns the PKCS#8 PEM of key.
func EncodePrivate(key *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EncodePublic returns the SPKI PEM of key.
func EncodePublic(key *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

func checkBits(pub *rsa.PublicKey) error {
	if bits := pub.N.BitLen(); bits < MinRSABits {
		return fmt.Errorf("%w: %d bits, need at least %d", ErrWeakKey, bits, MinRSABits)
	}
	return nil
}
