//go:build cgo

package opensslsigner

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

// No OpenSSL headers: like golang-fips/openssl, this file finds the few
// functions it needs in the already loaded libcrypto at run time, so the
// build needs no libssl-dev. The types are opaque here.
typedef struct gp_pkey_st gp_pkey;
typedef struct gp_ctx_st gp_ctx;
typedef struct gp_md_st gp_md;

static gp_pkey *(*gp_d2i_PrivateKey)(int, gp_pkey **, const unsigned char **, long);
static void (*gp_EVP_PKEY_free)(gp_pkey *);
static gp_ctx *(*gp_EVP_PKEY_CTX_new)(gp_pkey *, void *);
static void (*gp_EVP_PKEY_CTX_free)(gp_ctx *);
static int (*gp_EVP_PKEY_sign_init)(gp_ctx *);
static int (*gp_EVP_PKEY_CTX_set_rsa_padding)(gp_ctx *, int);
static int (*gp_EVP_PKEY_CTX_set_signature_md)(gp_ctx *, const gp_md *);
static const gp_md *(*gp_EVP_sha256)(void);
static int (*gp_EVP_PKEY_sign)(gp_ctx *, unsigned char *, size_t *, const unsigned char *, size_t);
static void (*gp_ERR_clear_error)(void);

// gp_load finds the functions in lib, which golang-fips has loaded:
// RTLD_NOLOAD hands back that copy or nothing, and RTLD_LOCAL keeps its
// symbols out of the global namespace. 0 on success.
static int gp_load(const char *lib) {
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
	if (h == NULL) return -1;
#define GP_SYM(name) if ((*(void **)(&gp_##name) = dlsym(h, #name)) == NULL) return -2;
	GP_SYM(d2i_PrivateKey)
	GP_SYM(EVP_PKEY_free)
	GP_SYM(EVP_PKEY_CTX_new)
	GP_SYM(EVP_PKEY_CTX_free)
	GP_SYM(EVP_PKEY_sign_init)
	GP_SYM(EVP_PKEY_CTX_set_rsa_padding)
	GP_SYM(EVP_PKEY_CTX_set_signature_md)
	GP_SYM(EVP_sha256)
	GP_SYM(EVP_PKEY_sign)
	GP_SYM(ERR_clear_error)
#undef GP_SYM
	return 0;
}

// gp_rsa_key reads a PKCS #1 RSAPrivateKey; NULL on failure.
static gp_pkey *gp_rsa_key(const unsigned char *der, long len) {
	const unsigned char *p = der;
	gp_pkey *k = gp_d2i_PrivateKey(6, NULL, &p, len); // EVP_PKEY_RSA
	if (k == NULL) gp_ERR_clear_error();
	return k;
}

// gp_rs256_ctx is a signing context for k, initialised once for
// RSASSA-PKCS1-v1_5 over a SHA-256 digest; NULL on failure.
static gp_ctx *gp_rs256_ctx(gp_pkey *k) {
	gp_ctx *c = gp_EVP_PKEY_CTX_new(k, NULL);
	if (c == NULL) { gp_ERR_clear_error(); return NULL; }
	if (gp_EVP_PKEY_sign_init(c) <= 0 ||
	    gp_EVP_PKEY_CTX_set_rsa_padding(c, 1) <= 0 || // RSA_PKCS1_PADDING
	    gp_EVP_PKEY_CTX_set_signature_md(c, gp_EVP_sha256()) <= 0) {
		gp_EVP_PKEY_CTX_free(c);
		gp_ERR_clear_error();
		return NULL;
	}
	return c;
}

// gp_sign signs a digest with an initialised context; the signature's
// length, or -1.
static long gp_sign(gp_ctx *c, const unsigned char *dgst, size_t dlen, unsigned char *sig, size_t siglen) {
	size_t n = siglen;
	if (gp_EVP_PKEY_sign(c, sig, &n, dgst, dlen) <= 0) {
		gp_ERR_clear_error();
		return -1;
	}
	return (long)n;
}

static void gp_ctx_free(gp_ctx *c) { gp_EVP_PKEY_CTX_free(c); }
static void gp_pkey_free(gp_pkey *k) { gp_EVP_PKEY_free(k); }
*/
import "C"

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// RS256, the default office grant algorithm, is signed through signing
// contexts made and initialised once and then reused, as `openssl speed`
// signs: golang-fips/openssl v2.0.3 makes, initialises and frees an
// EVP_PKEY_CTX for every signature (a provider fetch, padding and digest
// set-up), and its API keeps the contexts to itself. Skipping that
// set-up per signature gives the server more office grants per core
// (`make bench` measures it; see BENCHMARKS.md). The key is still
// imported into golang-fips too, which signs every other algorithm and
// padding.

var (
	rsaCtxOnce sync.Once
	rsaCtxErr  error
)

// loadRSACtx finds the functions of the reusable contexts in Library.
func loadRSACtx() error {
	rsaCtxOnce.Do(func() {
		lib := C.CString(Library)
		defer C.free(unsafe.Pointer(lib))
		if rc := C.gp_load(lib); rc != 0 {
			rsaCtxErr = fmt.Errorf("%w: %s is not loaded or lacks the EVP signing functions (%d)", ErrUnavailable, Library, int(rc))
		}
	})
	return rsaCtxErr
}

// errRS256Context means OpenSSL would not make or use a signing context.
var errRS256Context = errors.New("openssl RS256 signing context failed")

// rs256 holds the key as an EVP_PKEY of its own and a free list of
// initialised contexts for it.
type rs256 struct {
	key  *C.gp_pkey
	size int
	pool *ctxPool
}

// ctxPool is the free list. A context serves one signature at a time; the
// list keeps up to keep of them (enough for every thread that signs at
// once), and a signature that finds it empty makes another. It is an
// object of its own so that the cleanup, which frees its contexts, does
// not keep the rs256 alive.
type ctxPool struct {
	mu   sync.Mutex
	free []*C.gp_ctx
	keep int
}

// newRS256 imports k for context-reusing RS256. OpenSSL's copy of the key
// and the contexts are freed when the rs256 is collected.
func newRS256(k *rsa.PrivateKey) (*rs256, error) {
	if err := loadRSACtx(); err != nil {
		return nil, err
	}
	// MarshalPKCS1PrivateKey precomputes the CRT values into the key it
	// is given: give it a copy, the caller's key stays as it is.
	cp := rsa.PrivateKey{PublicKey: k.PublicKey, D: k.D, Primes: k.Primes}
	der := x509.MarshalPKCS1PrivateKey(&cp)
	defer clear(der)
	key := C.gp_rsa_key((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
	if key == nil {
		return nil, fmt.Errorf("%w: import RSA key", errRS256Context)
	}
	// Make one context now, so a key OpenSSL will not sign with fails at
	// start rather than on the first request.
	c := C.gp_rs256_ctx(key)
	if c == nil {
		C.gp_pkey_free(key)
		return nil, fmt.Errorf("%w: initialise a context", errRS256Context)
	}
	pool := &ctxPool{free: []*C.gp_ctx{c}, keep: 2 * runtime.GOMAXPROCS(0)}
	r := &rs256{key: key, size: k.Size(), pool: pool}
	runtime.AddCleanup(r, freeRS256, rs256C{key: key, pool: pool})
	return r, nil
}

// rs256C is what the cleanup frees; it must not refer to the rs256.
type rs256C struct {
	key  *C.gp_pkey
	pool *ctxPool
}

func freeRS256(c rs256C) {
	c.pool.mu.Lock()
	defer c.pool.mu.Unlock()
	for _, x := range c.pool.free {
		C.gp_ctx_free(x)
	}
	c.pool.free = nil
	C.gp_pkey_free(c.key)
}

// sign signs a SHA-256 digest with PKCS #1 v1.5 padding.
func (r *rs256) sign(digest []byte) ([]byte, error) {
	p := r.pool
	p.mu.Lock()
	var c *C.gp_ctx
	if n := len(p.free); n > 0 {
		c = p.free[n-1]
		p.free = p.free[:n-1]
	}
	p.mu.Unlock()
	if c == nil {
		if c = C.gp_rs256_ctx(r.key); c == nil {
			return nil, errRS256Context
		}
	}
	sig := make([]byte, r.size)
	n := C.gp_sign(c, (*C.uchar)(unsafe.Pointer(&digest[0])), C.size_t(len(digest)),
		(*C.uchar)(unsafe.Pointer(&sig[0])), C.size_t(len(sig)))
	p.mu.Lock()
	// A context goes back to the list only after a signature it made:
	// OpenSSL promises reuse after success, not after a failure.
	if n >= 0 && len(p.free) < p.keep {
		p.free = append(p.free, c)
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		C.gp_ctx_free(c)
	}
	// The key must outlive the call that uses it.
	runtime.KeepAlive(r)
	if n < 0 || int(n) != len(sig) {
		return nil, errRS256Context
	}
	return sig, nil
}
