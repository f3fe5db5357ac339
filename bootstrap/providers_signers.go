package bootstrap

import (
	"context"
	"crypto"
	"fmt"
	"log/slog"

	"github.com/gatepass/gatepass/adapters/jwtsigner"
	"github.com/gatepass/gatepass/adapters/opensslsigner"
	"github.com/gatepass/gatepass/adapters/pkcs11signer"
	"github.com/gatepass/gatepass/adapters/prom"
	"github.com/gatepass/gatepass/adapters/statickeys"
)

// OfficeBackend is the crypto.Signer that holds the office key, and its name.
type OfficeBackend struct {
	Signer crypto.Signer
	Name   string
}

// ProvideOfficeBackend chooses where the office key signs (JWT_SIGNER):
// Go's crypto, OpenSSL's libcrypto, or a PKCS#11 token; auto takes OpenSSL
// when libcrypto loads. The cleanup closes a token session.
func ProvideOfficeBackend(cfg Config, logger *slog.Logger) (OfficeBackend, func(), error) {
	nothing := func() {}
	key := cfg.Office.Key
	switch cfg.Office.Signer {
	case SignerPKCS11:
		s, err := pkcs11signer.Open(cfg.Office.PKCS11)
		if err != nil {
			return OfficeBackend{}, nil, fmt.Errorf("JWT_SIGNER=pkcs11: %w", err)
		}
		return OfficeBackend{Signer: s, Name: string(SignerPKCS11)}, func() { _ = s.Close() }, nil
	case SignerOpenSSL:
		s, err := opensslsigner.New(key)
		if err != nil {
			return OfficeBackend{}, nil, fmt.Errorf("JWT_SIGNER=openssl: %w", err)
		}
		return OfficeBackend{Signer: s, Name: string(SignerOpenSSL)}, nothing, nil
	case SignerAuto:
		if err := opensslsigner.Available(); err != nil {
			logger.Info("OpenSSL libcrypto unavailable; signing with Go's crypto", "reason", err.Error())
			return OfficeBackend{Signer: key, Name: string(SignerGo)}, nothing, nil
		}
		s, err := opensslsigner.New(key)
		if err != nil {
			logger.Warn("OpenSSL cannot take the office key; signing with Go's crypto", "reason", err.Error())
			return OfficeBackend{Signer: key, Name: string(SignerGo)}, nothing, nil
		}
		return OfficeBackend{Signer: s, Name: string(SignerOpenSSL)}, nothing, nil
	default:
		return OfficeBackend{Signer: key, Name: string(SignerGo)}, nothing, nil
	}
}

// ProvideOfficeSigner signs office-router grants with the backend; the
// signer's constructor refuses a key that does not fit JWT_ALGORITHM, and
// a test signature must verify: a signer that cannot sign fails the start,
// not the first request. It names the key in gatepass_signing_key_info.
func ProvideOfficeSigner(cfg Config, b OfficeBackend, m *prom.Metrics) (*jwtsigner.OfficeSigner, error) {
	s, err := jwtsigner.NewOfficeSigner(b.Signer, cfg.Office.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("JWT_ALGORITHM=%s: %w", cfg.Office.Algorithm, err)
	}
	if err := s.SelfTest(context.Background()); err != nil {
		return nil, fmt.Errorf("office signer (%s) self-test: %w", b.Name, err)
	}
	m.SigningKey(s.KeyID(), s.Algorithm(), b.Name)
	return s, nil
}

// ProvideKeySet is the set of office-router keys the JWKS publishes.
func ProvideKeySet(cfg Config, b OfficeBackend) (*statickeys.KeySet, error) {
	ks, err := statickeys.New(b.Signer.Public(), cfg.Office.Algorithm, cfg.Office.Published)
	if err != nil {
		return nil, fmt.Errorf("JWT_VERIFICATION_KEYS: %w", err)
	}
	return ks, nil
}
