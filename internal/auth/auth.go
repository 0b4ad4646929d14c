// Package auth hashes passwords (argon2id, in the PHC string format) and
// makes the random tokens that log a browser in or invite a learner. Only
// hashes of tokens are stored, so a copy of the store logs nobody in.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Argon2id parameters (RFC 9106's second recommended set, with less
// memory: 64 MiB, 3 passes).
const (
	argonTime    = 3
	argonMemory  = 64 << 10 // KiB
	argonThreads = 2
	argonKeyLen  = 32
	saltLen      = 16
)

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

// ErrMismatch reports a password that does not match its hash.
var ErrMismatch = errors.New("auth: wrong password")

// CheckPassword says what is wrong with a new password, or nil.
func CheckPassword(pw string) error {
	switch n := utf8.RuneCountInString(pw); {
	case n < MinPasswordLen:
		return fmt.Errorf("the password has %d characters; use at least %d", n, MinPasswordLen)
	case len(pw) > 1024:
		return errors.New("the password is longer than 1024 bytes")
	}
	return nil
}

// HashPassword returns the PHC string of pw:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>. It runs on
// [DefaultHasher], so it may fail with [ErrBusy].
func HashPassword(pw string) (string, error) { return DefaultHasher.Hash(pw) }

// VerifyPassword checks pw against a PHC string from [HashPassword] (with
// whatever parameters it records). It runs on [DefaultHasher], so it may
// fail with [ErrBusy].
func VerifyPassword(phc, pw string) error { return DefaultHasher.Verify(phc, pw) }

// NewToken returns a fresh random token (256 bits, URL-safe) and the hash
// to store for it.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// NewInviteCode returns a fresh invite code: 128 random bits in lowercase
// base32 (26 letters and digits), short enough to type from a slide.
func NewInviteCode() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

var loginPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,62}$`)

// CheckLogin says what is wrong with a login name, or nil. Logins are
// lowercase: callers lower-case what people type first.
func CheckLogin(login string) error {
	if !loginPattern.MatchString(login) {
		return fmt.Errorf("login %q: use 2 to 63 lowercase letters, digits, dots, dashes or underscores, starting with a letter or digit (e.g. ada)", login)
	}
	return nil
}

// HashToken is what the store keeps of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
