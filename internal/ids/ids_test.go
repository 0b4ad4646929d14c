package ids

import (
	"testing"

	"github.com/backlab/backlab/runner"
)

func TestNew(t *testing.T) {
	prefixes := map[Kind]bool{}
	for _, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			a, b := New(k), New(k)
			if a == b {
				t.Fatalf("New(%q) returned %q twice", k, a)
			}
			if !runner.NamePattern.MatchString(a) {
				t.Errorf("New(%q) = %q, not a sandbox name (%s)", k, a, runner.NamePattern)
			}
			got, ok := KindOf(a)
			if !ok || got != k {
				t.Errorf("KindOf(%q) = %q, %v; want %q, true", a, got, ok, k)
			}
		})
		if prefixes[k] {
			t.Errorf("prefix %q is used by two kinds", k)
		}
		prefixes[k] = true
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"", false},
		{"s-", false},
		{"s-0123456789abcdef0123456789abcdef", true},
		{"c-0123456789abcdef0123456789abcdef", false},   // the old shared prefix of cohorts and check runs
		{"s-0123456789abcdef0123456789abcdeg", false},   // not hex
		{"s-0123456789abcdef0123456789abcdef00", false}, // too long
		{"zz-0123456789abcdef0123456789abcdef", false},  // no such kind
		{"co-0123456789abcdef0123456789abcdef", true},
	}
	for _, tt := range tests {
		if _, ok := KindOf(tt.id); ok != tt.ok {
			t.Errorf("KindOf(%q) ok = %v, want %v", tt.id, ok, tt.ok)
		}
	}
}
