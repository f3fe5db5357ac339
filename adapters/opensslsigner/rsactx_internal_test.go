//go:build cgo

package opensslsigner

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/golang-fips/openssl/v2"
)

func rsaSigner(t testing.TB) (*rsa.PrivateKey, *Signer) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if s.rs256 == nil {
		t.Fatal("RS256 is not signed with reused contexts: OpenSSL 3 should allow it")
	}
	return key, s
}

// The reused contexts sign exactly what golang-fips and Go sign: PKCS #1
// v1.5 is deterministic.
func TestRS256ContextsSignAsGolangFIPSAndGo(t *testing.T) {
	key, s := rsaSigner(t)
	for i := range 20 {
		digest := sha256.Sum256(fmt.Appendf(nil, "message %d", i))
		got, err := s.Sign(nil, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		fips, err := openssl.SignRSAPKCS1v15(s.rsa, crypto.SHA256, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		goSig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(fips) || string(got) != string(goSig) {
			t.Fatalf("signature %d differs from golang-fips's or Go's", i)
		}
	}
}

// Many goroutines sign at once: every signature verifies, and the free
// list keeps no more contexts than it may.
func TestRS256ContextsUnderConcurrency(t *testing.T) {
	key, s := rsaSigner(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 16 {
		wg.Go(func() {
			for i := range 20 {
				digest := sha256.Sum256(fmt.Appendf(nil, "g%d m%d", g, i))
				sig, err := s.Sign(nil, digest[:], crypto.SHA256)
				if err == nil {
					err = rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := s.rs256.idle(); n < 1 || n > s.rs256.pool.keep {
		t.Errorf("%d contexts kept, want 1 to %d", n, s.rs256.pool.keep)
	}
}

// A wrong digest length is refused before OpenSSL sees it.
func TestRS256ContextsRefuseShortDigest(t *testing.T) {
	_, s := rsaSigner(t)
	if _, err := s.Sign(nil, make([]byte, 31), crypto.SHA256); err == nil {
		t.Fatal("a 31-byte SHA-256 digest was signed")
	}
}

// OpenSSL's copy of the key and its contexts are freed with the signer:
// the cleanup empties this signer's own free list (nil, which only it
// sets).
func TestRS256ContextsFreedWithSigner(t *testing.T) {
	pool := func() *ctxPool {
		_, s := rsaSigner(t)
		digest := sha256.Sum256([]byte("x"))
		if _, err := s.Sign(nil, digest[:], crypto.SHA256); err != nil {
			t.Fatal(err)
		}
		if s.ContextReuse() != nil {
			t.Fatalf("ContextReuse() = %v with contexts in use", s.ContextReuse())
		}
		return s.rs256.pool
	}()
	freedNow := func() bool {
		pool.mu.Lock()
		defer pool.mu.Unlock()
		return pool.free == nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for !freedNow() {
		if time.Now().After(deadline) {
			t.Fatal("the signer was collected but its OpenSSL key and contexts were not freed")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// idle is how many contexts wait in the free list.
func (r *rs256) idle() int {
	r.pool.mu.Lock()
	defer r.pool.mu.Unlock()
	return len(r.pool.free)
}

// BenchmarkRS256 compares a signature through the reused contexts with
// golang-fips's own, which makes a context per call.
func BenchmarkRS256(b *testing.B) {
	_, s := rsaSigner(b)
	digest := sha256.Sum256([]byte("bench"))
	b.Run("reused-contexts", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.rs256.sign(digest[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("golang-fips", func(b *testing.B) {
		for b.Loop() {
			if _, err := openssl.SignRSAPKCS1v15(s.rsa, crypto.SHA256, digest[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
