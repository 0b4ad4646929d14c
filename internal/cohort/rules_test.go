package cohort

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/backlab/backlab/internal/store"
)

func TestName(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"  Backend bootcamp ", "Backend bootcamp", true},
		{strings.Repeat("é", MaxNameLen), strings.Repeat("é", MaxNameLen), true},
		{strings.Repeat("é", MaxNameLen+1), "", false},
		{"   ", "", false},
		{"bad \xff", "", false},
	} {
		got, err := Name(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("Name(%q) = %q, %v", tc.in, got, err)
		}
		if _, refused := errors.AsType[*Refusal](err); err != nil && !refused {
			t.Errorf("Name(%q): %v is not a Refusal", tc.in, err)
		}
	}
}

func TestUnknownLabs(t *testing.T) {
	known := func(id string) bool { return id == "redis" || id == "sql" }
	if err := UnknownLabs([]string{"redis", "sql"}, known); err != nil {
		t.Errorf("known labs refused: %v", err)
	}
	if err := UnknownLabs(nil, known); err != nil {
		t.Errorf("no labs refused: %v", err)
	}
	err := UnknownLabs([]string{"redis", "nope", "gone"}, known)
	if err == nil || err.Error() != "no such lab: nope, gone" {
		t.Errorf("UnknownLabs = %v, want both unknown ids named", err)
	}
}

func TestInviteRequest(t *testing.T) {
	c := store.Cohort{ID: "c-1", Name: "Autumn"}
	admin := store.User{ID: "u-admin", Role: store.RoleAdmin}
	instructor := store.User{ID: "u-grace", Role: store.RoleInstructor}
	n := func(i int) *int { return &i }
	for _, tc := range []struct {
		name      string
		req       InviteRequest
		by        store.User
		role      string
		uses      int
		hours     int
		refusal   string
		forbidden bool
	}{
		{name: "defaults", req: InviteRequest{}, by: instructor, role: store.RoleLearner, uses: DefaultInviteUses, hours: DefaultInviteHours},
		{name: "bounds", req: InviteRequest{Role: "learner", MaxUses: n(MaxInviteUses), ExpiresInHours: n(1)}, by: instructor, role: store.RoleLearner, uses: MaxInviteUses, hours: 1},
		{name: "an admin invites an instructor", req: InviteRequest{Role: "instructor"}, by: admin, role: store.RoleInstructor, uses: DefaultInviteUses, hours: DefaultInviteHours},
		{name: "an instructor may not", req: InviteRequest{Role: "instructor"}, by: instructor, refusal: "only an admin", forbidden: true},
		{name: "no such role", req: InviteRequest{Role: "admin"}, by: admin, refusal: `"role" must be`},
		{name: "no uses", req: InviteRequest{MaxUses: n(0)}, by: admin, refusal: `"max_uses" must be 1 to 1000`},
		{name: "too many uses", req: InviteRequest{MaxUses: n(MaxInviteUses + 1)}, by: admin, refusal: `"max_uses"`},
		{name: "too long", req: InviteRequest{ExpiresInHours: n(MaxInviteHours + 1)}, by: admin, refusal: `"expires_in_hours" must be 1 to 2160`},
		{name: "no time", req: InviteRequest{ExpiresInHours: n(0)}, by: admin, refusal: `"expires_in_hours"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := tc.req.Invite(c, tc.by, "code-1", t0)
			if tc.refusal != "" {
				ref, ok := errors.AsType[*Refusal](err)
				if !ok || !strings.Contains(ref.Reason, tc.refusal) || ref.Forbidden != tc.forbidden {
					t.Errorf("Invite = %+v, %v; want a refusal %q (forbidden %v)", in, err, tc.refusal, tc.forbidden)
				}
				return
			}
			want := store.Invite{Code: "code-1", CohortID: "c-1", CohortName: "Autumn", Role: tc.role, CreatedBy: tc.by.ID,
				Created: t0, Expires: t0.Add(time.Duration(tc.hours) * time.Hour), MaxUses: tc.uses}
			if err != nil || in != want {
				t.Errorf("Invite = %+v, %v; want %+v", in, err, want)
			}
		})
	}
}
