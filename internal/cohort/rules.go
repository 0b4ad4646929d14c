package cohort

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/backlab/backlab/internal/store"
)

// Invites: defaults and bounds of what an instructor may ask for.
const (
	DefaultInviteUses  = 50
	MaxInviteUses      = 1000
	DefaultInviteHours = 14 * 24
	MaxInviteHours     = 90 * 24
	// MaxNameLen bounds cohort names and people's names, in characters.
	MaxNameLen = 80
)

// A Refusal is a request the rules turn down; Reason says why, for
// people. Forbidden is true when someone else may do it (an admin), false
// when nobody may (a bad value).
type Refusal struct {
	Reason    string
	Forbidden bool
}

func (r *Refusal) Error() string { return r.Reason }

// Name returns a cohort's name trimmed, or a Refusal.
func Name(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxNameLen || !utf8.ValidString(name) {
		return "", &Refusal{Reason: fmt.Sprintf(`"name" must be 1 to %d characters, e.g. "Backend bootcamp, autumn"`, MaxNameLen)}
	}
	return name, nil
}

// UnknownLabs refuses the ids of ids that known does not know; it returns
// nil when it knows them all.
func UnknownLabs(ids []string, known func(id string) bool) error {
	var unknown []string
	for _, id := range ids {
		if !known(id) {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	return &Refusal{Reason: "no such lab: " + strings.Join(unknown, ", ")}
}

// InviteRequest is what an instructor asks for when inviting; nil fields
// take the defaults.
type InviteRequest struct {
	Role           string // learner (when empty) or instructor
	MaxUses        *int
	ExpiresInHours *int
}

// Invite applies the rules to a request by u for cohort c: only an admin
// invites instructors, and uses and lifetime stay within bounds. code is
// the new invite's code.
func (req InviteRequest) Invite(c store.Cohort, u store.User, code string, now time.Time) (store.Invite, error) {
	role := req.Role
	switch role {
	case "", store.RoleLearner:
		role = store.RoleLearner
	case store.RoleInstructor:
		if u.Role != store.RoleAdmin {
			return store.Invite{}, &Refusal{Reason: "only an admin can invite instructors", Forbidden: true}
		}
	default:
		return store.Invite{}, &Refusal{Reason: `"role" must be "learner" or "instructor"`}
	}
	uses, hours := DefaultInviteUses, DefaultInviteHours
	if req.MaxUses != nil {
		uses = *req.MaxUses
	}
	if req.ExpiresInHours != nil {
		hours = *req.ExpiresInHours
	}
	if uses < 1 || uses > MaxInviteUses {
		return store.Invite{}, &Refusal{Reason: fmt.Sprintf(`"max_uses" must be 1 to %d`, MaxInviteUses)}
	}
	if hours < 1 || hours > MaxInviteHours {
		return store.Invite{}, &Refusal{Reason: fmt.Sprintf(`"expires_in_hours" must be 1 to %d (90 days)`, MaxInviteHours)}
	}
	return store.Invite{Code: code, CohortID: c.ID, CohortName: c.Name, Role: role, CreatedBy: u.ID,
		Created: now, Expires: now.Add(time.Duration(hours) * time.Hour), MaxUses: uses}, nil
}
