package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrBusy reports that a [Hasher] has no place for another computation:
// as many are running and waiting as it admits. Callers answer "try again
// in a moment" (HTTP 429 with Retry-After).
var ErrBusy = errors.New("auth: too many passwords are being checked at once")

// Hasher runs argon2id computations, a bounded number at once (each takes
// 64 MiB) behind a bounded queue, so that a burst of logins can exhaust
// neither the server's memory nor its goroutines: past the queue it
// refuses with [ErrBusy] at once.
type Hasher struct {
	// places holds one token per computation running or waiting; slots
	// one per computation running.
	places, slots chan struct{}
}

// NewHasher returns a hasher that runs at most running computations at
// once and lets at most waiting more wait for a turn.
func NewHasher(running, waiting int) *Hasher {
	running = max(running, 1)
	return &Hasher{places: make(chan struct{}, running+max(waiting, 0)), slots: make(chan struct{}, running)}
}

// DefaultHasher is the hasher of [HashPassword] and [VerifyPassword]:
// 4 running (256 MiB), 32 waiting (a wait of about a second at most).
var DefaultHasher = NewHasher(4, 32)

// Hold takes a place as a computation would and keeps it until release
// is called: [ErrBusy] when there is no room, otherwise it waits for a
// turn to run. Hash and Verify use it; it lets callers (and tests) reserve
// hashing capacity.
func (h *Hasher) Hold() (release func(), err error) {
	select {
	case h.places <- struct{}{}:
	default:
		return nil, ErrBusy
	}
	h.slots <- struct{}{}
	return func() { <-h.slots; <-h.places }, nil
}

// admitted is how many computations run or wait.
func (h *Hasher) admitted() int { return len(h.places) }

func (h *Hasher) key(pw, salt []byte, t, m uint32, p uint8, n uint32) ([]byte, error) {
	release, err := h.Hold()
	if err != nil {
		return nil, err
	}
	defer release()
	return argon2.IDKey(pw, salt, t, m, p, n), nil
}

// Hash returns the PHC string of pw:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>.
func (h *Hasher) Hash(pw string) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := h.key([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify checks pw against a PHC string from [Hasher.Hash] (with whatever
// parameters it records): nil, [ErrMismatch], [ErrBusy], or an error
// about the PHC string.
func (h *Hasher) Verify(phc, pw string) error {
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
	got, err := h.key([]byte(pw), salt, t, m, p, uint32(len(want)))
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// nobody is a PHC string of the current parameters that no password
// matches in practice (its hash is random bytes).
const nobody = "$argon2id$v=19$m=65536,t=3,p=2$2cJ9gc6O3Mk1YtBBUqlSKw$yO1a0sT6hqNmtkDbC8G7nIoaP5WrqIZ3t4LVt7ZxGhA"

// VerifyNobody costs what [Hasher.Verify] costs and fails with
// [ErrMismatch] (or [ErrBusy]): for a login name that does not exist, so
// that a wrong name takes as long as a wrong password.
func (h *Hasher) VerifyNobody(pw string) error {
	if err := h.Verify(nobody, pw); err != nil {
		return err
	}
	return ErrMismatch
}
