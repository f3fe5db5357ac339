package bootstrap

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"unicode"
)

// fileSuffix names the twin of a secret variable that gives a file to read
// it from: JWT_PRIVATE_KEY and JWT_PRIVATE_KEY_FILE.
const fileSuffix = "_FILE"

// maxSecretFileBytes bounds what a NAME_FILE is read for: a key bundle is
// a few kilobytes, and /dev/zero must not fill the memory.
const maxSecretFileBytes = 256 << 10

// secret is a value given either in NAME or, as a file's content, through
// NAME_FILE: keys, secrets, PINs, a Redis URL. One rule serves every such
// pair: both set is refused; exactly one trailing newline ("\n" or "\r\n")
// is removed; any other white space at either end refuses the start,
// naming the variable. No two secrets may hold one value (see
// refuseSharedSecrets). It is never printed.
type secret struct {
	value string
	// file is the path NAME_FILE named; empty when the value came from NAME.
	file string
}

// UnmarshalText takes the value of NAME, as the env parser reads it.
func (s *secret) UnmarshalText(text []byte) error {
	s.value = string(text)
	return nil
}

// String masks the secret, saying only whether and where it is set.
func (s secret) String() string {
	switch {
	case s.value == "":
		return "(unset)"
	case s.file != "":
		return "(set from file, masked)"
	default:
		return "(set, masked)"
	}
}

// Set reports whether the secret has a value.
func (s secret) Set() bool { return s.value != "" }

// source is the variable the secret's value came from: name, or its
// NAME_FILE twin.
func (s secret) source(name string) string {
	if s.file != "" {
		return name + fileSuffix
	}
	return name
}

// resolveSecrets reads every NAME_FILE twin of the secrets in e, then
// applies the white-space rule to each secret, from the environment or a
// file alike.
func resolveSecrets(e *environment, environ map[string]string, p *problems) {
	walkEnv(reflect.ValueOf(e).Elem(), "", func(name string, f reflect.Value, _ reflect.StructField) {
		s, ok := f.Addr().Interface().(*secret)
		if !ok {
			return
		}
		fileName := name + fileSuffix
		switch path := environ[fileName]; {
		case path != "" && s.value != "":
			p.add(name, "and %s are both set; give one", fileName)
			*s = secret{}
			return
		case path != "":
			content, err := readSecretFile(path)
			if err != nil {
				p.add(fileName, "%v", err)
				return
			}
			*s = secret{value: content, file: path}
			name = fileName
		}
		v, err := trimSecret(s.value)
		if err != nil {
			p.add(name, "%v", err)
			*s = secret{}
			return
		}
		if s.file != "" && quoted(v) {
			// A quoted variable is refused before parsing (refuseQuoted).
			p.add(name, "names a file whose content is quoted; remove the quotes from the file")
			*s = secret{}
			return
		}
		s.value = v
	})
}

// mayEqualTag, on a secret field, lists (comma-separated, as the
// environment spells them) the other secret variables it may equal: one key
// that legitimately serves two roles, such as one account key for
// grants and for auth callout. Either side of a pair may declare it.
const mayEqualTag = "mayEqual"

// refuseSharedSecrets refuses the start when two secrets of v (a declared
// environment, walked as walkEnv does) hold one value, as resolved from the
// variable or its file under the white-space rule. A secret has one
// purpose: a transport's API secret equal to the Supabase JWT secret would
// make every token that transport signs, which may travel in URLs and
// server logs, a token Supabase accepts. The problem names both variables, never the value, and
// the values are compared in constant time.
func refuseSharedSecrets(v reflect.Value, p *problems) {
	type given struct {
		name     string
		s        *secret
		mayEqual []string
	}
	var earlier []given
	walkEnv(v, "", func(name string, f reflect.Value, sf reflect.StructField) {
		s, ok := f.Addr().Interface().(*secret)
		if !ok || !s.Set() {
			return
		}
		g := given{name: name, s: s, mayEqual: strings.Split(sf.Tag.Get(mayEqualTag), ",")}
		for _, e := range earlier {
			if slices.Contains(g.mayEqual, e.name) || slices.Contains(e.mayEqual, name) {
				continue
			}
			if sameSecret(s.value, e.s.value) {
				p.add(s.source(name), "equals %s; give each purpose its own secret", e.s.source(e.name))
				break
			}
		}
		earlier = append(earlier, g)
	})
}

// sameSecret reports whether two secrets share a value: the whole value,
// or the password a URL carries (REDIS_URL's beside SUPABASE_JWT_SECRET).
// Every comparison takes constant time.
func sameSecret(a, b string) bool {
	same := 0
	for _, x := range secretParts(a) {
		for _, y := range secretParts(b) {
			same |= subtle.ConstantTimeCompare([]byte(x), []byte(y))
		}
	}
	return same == 1
}

// secretParts are the values a secret holds: itself, and the password of
// a URL's user information when it has one.
func secretParts(v string) []string {
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			return []string{v, pw}
		}
	}
	return []string{v}
}

var errSecretSpace = errors.New("has white space at its start or end (only one trailing newline is removed); remove it")

// trimSecret removes one trailing newline and refuses any other white space
// at the ends.
func trimSecret(v string) (string, error) {
	if t, ok := strings.CutSuffix(v, "\r\n"); ok {
		v = t
	} else if t, ok := strings.CutSuffix(v, "\n"); ok {
		v = t
	}
	if v != strings.TrimFunc(v, unicode.IsSpace) {
		return "", errSecretSpace
	}
	return v, nil
}

// readSecretFile reads a regular file of at most maxSecretFileBytes. It
// names the path and the OS's reason on failure, never the content. The
// file is opened without blocking, so a FIFO cannot hang the start.
func readSecretFile(path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxSecretFileBytes {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxSecretFileBytes)
	}
	return string(b), nil
}
