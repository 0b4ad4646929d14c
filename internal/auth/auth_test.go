package auth

import (
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
