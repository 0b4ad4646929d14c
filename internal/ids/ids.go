// Package ids makes the identifiers backlab hands out: accounts, cohorts,
// sessions, check runs and the sandboxes of command-line runs.
//
// Every id is a kind's prefix, a dash and 128 random bits in hex, so an id
// cannot be guessed and a glance tells what it names. No two kinds share a
// prefix, and every id is a valid sandbox name ([runner.NamePattern]).
// Ids are opaque: nothing may parse them, and ids stored before a prefix
// changed stay valid.
package ids

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// Kind is what an id names; its value is the id's prefix.
type Kind string

// The kinds of ids, each with its own prefix.
const (
	User     Kind = "u"  // an account
	Cohort   Kind = "co" // a cohort
	Session  Kind = "s"  // a learner's session in the server (a sandbox)
	CheckRun Kind = "ck" // one run of a lab's checker
	Run      Kind = "r"  // the sandbox of `backlab run`
	LabTest  Kind = "t"  // a sandbox of `backlab lab test`
	Bench    Kind = "b"  // a sandbox of a benchmark
)

// Kinds lists every kind.
var Kinds = []Kind{User, Cohort, Session, CheckRun, Run, LabTest, Bench}

// randomBytes is the number of random bytes in an id (128 bits).
const randomBytes = 16

// New returns a fresh id of kind k.
func New(k Kind) string {
	var b [randomBytes]byte
	// crypto/rand.Read never returns an error (it panics where the
	// system's source fails).
	_, _ = rand.Read(b[:])
	return string(k) + "-" + hex.EncodeToString(b[:])
}

// KindOf returns the kind an id was made as, and false for an id that no
// kind makes (an id made before kinds had prefixes of their own, say).
func KindOf(id string) (Kind, bool) {
	prefix, rest, ok := strings.Cut(id, "-")
	if !ok || len(rest) != 2*randomBytes {
		return "", false
	}
	if _, err := hex.DecodeString(rest); err != nil {
		return "", false
	}
	for _, k := range Kinds {
		if string(k) == prefix {
			return k, true
		}
	}
	return "", false
}
