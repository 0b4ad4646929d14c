package auth

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestPasswords(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("hash = %q", h)
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	tests := []struct {
		name, phc, pw string
		ok            bool
	}{
		{"right", h, "correct horse battery", true},
		{"wrong", h, "correct horse batterz", false},
		{"empty", h, "", false},
		{"not argon", "$2a$10$abcdefghijklmnopqrstuv", "x", false},
		{"truncated", h[:len(h)-10], "correct horse battery", false},
		{"garbage", "nonsense", "x", false},
	}
	for _, tt := range tests {
		if err := VerifyPassword(tt.phc, tt.pw); (err == nil) != tt.ok {
			t.Errorf("%s: VerifyPassword = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	for _, short := range []string{"", "short", "nine char"} {
		if _, err := HashPassword(short); err == nil || !strings.Contains(err.Error(), "at least") {
			t.Errorf("HashPassword(%q) = %v, want a too-short error", short, err)
		}
	}
}

func TestTokens(t *testing.T) {
	a, ha := NewToken()
	b, _ := NewToken()
	if a == b || len(a) != 43 || HashToken(a) != ha || ha == a {
		t.Errorf("tokens %q %q, hash %q", a, b, ha)
	}
}

func TestCheckLogin(t *testing.T) {
	for _, tt := range []struct {
		login string
		ok    bool
	}{
		{"ada", true}, {"a.b-c_9", true}, {"a", false}, {"Ada", false}, {"ada lovelace", false},
		{"-ada", false}, {"", false}, {strings.Repeat("a", 63), true}, {strings.Repeat("a", 64), false},
	} {
		if err := CheckLogin(tt.login); (err == nil) != tt.ok {
			t.Errorf("CheckLogin(%q) = %v, want ok=%v", tt.login, err, tt.ok)
		}
	}
}

func TestNewInviteCode(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		c := NewInviteCode()
		if len(c) != 26 || strings.ToLower(c) != c || seen[c] {
			t.Fatalf("NewInviteCode() = %q (len %d, seen before %v)", c, len(c), seen[c])
		}
		seen[c] = true
	}
}

// TestHasherQueueBound: past its running and waiting places, a hasher
// refuses at once with ErrBusy instead of queueing without bound.
func TestHasherQueueBound(t *testing.T) {
	h := NewHasher(1, 1)
	release, err := h.Hold()
	if err != nil {
		t.Fatal(err)
	}
	phc, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	queued := make(chan error, 1)
	go func() { queued <- h.Verify(phc, "correct horse battery") }()
	for h.admitted() < 2 {
		runtime.Gosched() // until the verification waits
	}
	if err := h.Verify(phc, "correct horse battery"); !errors.Is(err, ErrBusy) {
		t.Errorf("Verify with one running and one waiting = %v, want ErrBusy", err)
	}
	if _, err := h.Hash("another password"); !errors.Is(err, ErrBusy) {
		t.Errorf("Hash with one running and one waiting = %v, want ErrBusy", err)
	}
	if err := h.VerifyNobody("a guess at a password"); !errors.Is(err, ErrBusy) {
		t.Errorf("VerifyNobody with one running and one waiting = %v, want ErrBusy", err)
	}
	release()
	if err := <-queued; err != nil {
		t.Errorf("the waiting verification = %v, want it to run once a place is free", err)
	}
	if err := h.Verify(phc, "correct horse battery"); err != nil {
		t.Errorf("Verify after the queue drained = %v", err)
	}
	if err := h.VerifyNobody("a guess at a password"); !errors.Is(err, ErrMismatch) {
		t.Errorf("VerifyNobody = %v, want ErrMismatch", err)
	}
}
