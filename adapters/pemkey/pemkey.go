// Package pemkey reads the keys operators hand gatepass as PEM text: RSA
// (PKCS#1 or PKCS#8), ECDSA P-256 (SEC 1 or PKCS#8) and Ed25519 (PKCS#8)
// private keys, and SPKI or PKCS#1 RSA public keys.
package pemkey

import (
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
	block, _ := pem.Decode([]byte(Normalize(text)))
	if block == nil {
		return nil, ErrNoPEM
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

func checkBits(pub *rsa.PublicKey) error {
	if bits := pub.N.BitLen(); bits < MinRSABits {
		return fmt.Errorf("%w: %d bits, need at least %d", ErrWeakKey, bits, MinRSABits)
	}
	return nil
}
