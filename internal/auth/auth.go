// Package auth hashes passwords (argon2id, in the PHC string format) and
// makes the random tokens that log a browser in or invite a learner. Only
// hashes of tokens are stored, so a copy of the store logs nobody in.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
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

// kdfSlots bounds how many argon2 computations run at once (each takes
// argonMemory), so a burst of logins cannot exhaust the server's memory.
var kdfSlots = make(chan struct{}, 4)

func argonKey(pw, salt []byte, t, m uint32, p uint8, n uint32) []byte {
	kdfSlots <- struct{}{}
	defer func() { <-kdfSlots }()
	return argon2.IDKey(pw, salt, t, m, p, n)
}

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
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>.
func HashPassword(pw string) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argonKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword checks pw against a PHC string from [HashPassword] (with
// whatever parameters it records).
func VerifyPassword(phc, pw string) error {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return errors.New("auth: not an argon2id hash")
	}
	var version int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return errors.New("auth: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 {
		return errors.New("auth: bad argon2 parameters")
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return errors.New("auth: bad argon2 hash")
	}
	got := argonKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

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
