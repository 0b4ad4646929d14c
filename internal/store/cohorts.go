package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
)

// Cohort is a group of learners that instructors follow, and the labs its
// learners see.
type Cohort struct {
	ID        string
	Name      string
	CreatedBy string
	Created   time.Time
	Labs      []string // lab ids, sorted
	Members   int      // learners in it
}

type cohortRow struct {
	ID        string `db:"id"`
	Name      string `db:"name"`
	CreatedBy string `db:"created_by"`
	Created   int64  `db:"created_at"`
	Members   int    `db:"members"`
}

// CreateCohort records a cohort with its labs; its creator becomes its
// first instructor.
func (s *Store) CreateCohort(ctx context.Context, c Cohort) error {
	return s.tx(ctx, "create cohort", func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO cohorts (id, name, created_by, created_at) VALUES (?, ?, ?, ?)`),
			c.ID, c.Name, c.CreatedBy, now()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO cohort_staff (cohort_id, user_id) VALUES (?, ?)`), c.ID, c.CreatedBy); err != nil {
			return err
		}
		return setLabs(ctx, tx, c.ID, c.Labs)
	})
}

func setLabs(ctx context.Context, tx *sqlx.Tx, cohortID string, labs []string) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM cohort_labs WHERE cohort_id = ?`), cohortID); err != nil {
		return err
	}
	for _, l := range labs {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO cohort_labs (cohort_id, lab_id) VALUES (?, ?) ON CONFLICT DO NOTHING`), cohortID, l); err != nil {
			return err
		}
	}
	return nil
}

// RenameCohort changes a cohort's name.
func (s *Store) RenameCohort(ctx context.Context, cohortID, name string) error {
	res, err := s.exec(ctx, `UPDATE cohorts SET name = ? WHERE id = ?`, name, cohortID)
	if err != nil {
		return fmt.Errorf("store: rename cohort %s: %w", cohortID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: cohort %s: %w", cohortID, ErrNotFound)
	}
	return nil
}

// SetCohortLabs replaces the labs a cohort sees.
func (s *Store) SetCohortLabs(ctx context.Context, cohortID string, labs []string) error {
	return s.tx(ctx, "set cohort labs", func(tx *sqlx.Tx) error { return setLabs(ctx, tx, cohortID, labs) })
}

// tx runs f in a transaction; what names the operation in errors.
func (s *Store) tx(ctx context.Context, what string, f func(*sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

const cohortSelect = `SELECT c.id, c.name, c.created_by, c.created_at,
	(SELECT COUNT(*) FROM cohort_members m WHERE m.cohort_id = c.id) AS members FROM cohorts c`

// Cohorts returns the cohorts staffUserID instructs, or every cohort when
// staffUserID is empty, by name.
func (s *Store) Cohorts(ctx context.Context, staffUserID string) ([]Cohort, error) {
	q, args := cohortSelect, []any{}
	if staffUserID != "" {
		q += ` WHERE c.id IN (SELECT cohort_id FROM cohort_staff WHERE user_id = ?)`
		args = append(args, staffUserID)
	}
	var rows []cohortRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q+` ORDER BY c.name, c.id`), args...); err != nil {
		return nil, fmt.Errorf("store: cohorts: %w", err)
	}
	labs, err := s.cohortLabs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Cohort, len(rows))
	for i, r := range rows {
		out[i] = Cohort{ID: r.ID, Name: r.Name, CreatedBy: r.CreatedBy, Created: fromMS(r.Created), Members: r.Members, Labs: labs[r.ID]}
	}
	return out, nil
}

// Cohort returns one cohort.
func (s *Store) Cohort(ctx context.Context, id string) (Cohort, error) {
	var r cohortRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(cohortSelect+` WHERE c.id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Cohort{}, fmt.Errorf("store: cohort %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Cohort{}, fmt.Errorf("store: cohort %s: %w", id, err)
	}
	labs, err := s.cohortLabs(ctx, id)
	if err != nil {
		return Cohort{}, err
	}
	return Cohort{ID: r.ID, Name: r.Name, CreatedBy: r.CreatedBy, Created: fromMS(r.Created), Members: r.Members, Labs: labs[id]}, nil
}

// cohortLabs returns the labs of the given cohorts (all when none is
// given), sorted, by cohort.
func (s *Store) cohortLabs(ctx context.Context, ids ...string) (map[string][]string, error) {
	q, args := `SELECT cohort_id, lab_id FROM cohort_labs`, []any{}
	if len(ids) > 0 {
		var err error
		if q, args, err = sqlx.In(q+` WHERE cohort_id IN (?)`, ids); err != nil {
			return nil, err
		}
	}
	var rows []struct {
		Cohort string `db:"cohort_id"`
		Lab    string `db:"lab_id"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q+` ORDER BY lab_id`), args...); err != nil {
		return nil, fmt.Errorf("store: cohort labs: %w", err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[r.Cohort] = append(out[r.Cohort], r.Lab)
	}
	return out, nil
}

// IsCohortStaff reports whether userID instructs the cohort.
func (s *Store) IsCohortStaff(ctx context.Context, cohortID, userID string) (bool, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM cohort_staff WHERE cohort_id = ? AND user_id = ?`), cohortID, userID); err != nil {
		return false, fmt.Errorf("store: cohort staff: %w", err)
	}
	return n > 0, nil
}

// HasCohorts reports whether any cohort exists.
func (s *Store) HasCohorts(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM (SELECT 1 FROM cohorts LIMIT 1) c`); err != nil {
		return false, fmt.Errorf("store: has cohorts: %w", err)
	}
	return n > 0, nil
}

// VisibleLabs returns the labs a learner's cohorts show, sorted; inCohort
// is false when the learner belongs to no cohort (cohort.VisibleLabs says
// what such a learner sees).
func (s *Store) VisibleLabs(ctx context.Context, userID string) (labs []string, inCohort bool, err error) {
	var n int
	if err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM cohort_members WHERE user_id = ?`), userID); err != nil {
		return nil, false, fmt.Errorf("store: visible labs: %w", err)
	}
	if n == 0 {
		return nil, false, nil
	}
	if err := s.db.SelectContext(ctx, &labs, s.db.Rebind(`SELECT DISTINCT l.lab_id FROM cohort_labs l
		JOIN cohort_members m ON m.cohort_id = l.cohort_id WHERE m.user_id = ? ORDER BY l.lab_id`), userID); err != nil {
		return nil, false, fmt.Errorf("store: visible labs: %w", err)
	}
	return labs, true, nil
}

// Member is a learner of a cohort.
type Member struct {
	User
	Login  string
	Joined time.Time
}

// CohortMembers returns a cohort's learners by name.
func (s *Store) CohortMembers(ctx context.Context, cohortID string) ([]Member, error) {
	var rows []struct {
		accountRow
		Joined int64 `db:"joined_at"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT u.id, u.name, u.role, u.created_at, u.login, u.password_hash, m.joined_at
		FROM cohort_members m JOIN users u ON u.id = m.user_id WHERE m.cohort_id = ? ORDER BY u.name, u.login`), cohortID); err != nil {
		return nil, fmt.Errorf("store: cohort members: %w", err)
	}
	out := make([]Member, len(rows))
	for i, r := range rows {
		a := r.account()
		out[i] = Member{User: a.User, Login: a.Login, Joined: fromMS(r.Joined)}
	}
	return out, nil
}

// RemoveMember takes a learner out of a cohort; their account and records
// stay.
func (s *Store) RemoveMember(ctx context.Context, cohortID, userID string) error {
	res, err := s.exec(ctx, `DELETE FROM cohort_members WHERE cohort_id = ? AND user_id = ?`, cohortID, userID)
	if err != nil {
		return fmt.Errorf("store: remove member: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: member %s of %s: %w", userID, cohortID, ErrNotFound)
	}
	return nil
}

// Invite lets whoever has its code sign up into a cohort.
type Invite struct {
	Code       string
	CohortID   string
	CohortName string // filled by reads
	Role       string // learner or instructor
	CreatedBy  string
	Created    time.Time
	Expires    time.Time
	MaxUses    int
	Uses       int
	Revoked    time.Time // zero unless revoked
}

// ErrInvite matches every [InviteError] with errors.Is.
var ErrInvite = errors.New("store: invite cannot be used")

// InviteError reports an invite that cannot be used; Reason says why
// (unknown, expired, used up, revoked, for another role), for people.
type InviteError struct{ Reason string }

func (e *InviteError) Error() string { return ErrInvite.Error() + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvite) true.
func (e *InviteError) Is(target error) bool { return target == ErrInvite }

func inviteError(format string, args ...any) error {
	return &InviteError{Reason: fmt.Sprintf(format, args...)}
}

// errNoInvite answers a code that no invite has.
var errNoInvite = inviteError("no invite has this code (check the link, or ask your instructor for a new one)")

type inviteRow struct {
	Code       string        `db:"code"`
	CohortID   string        `db:"cohort_id"`
	CohortName string        `db:"cohort_name"`
	Role       string        `db:"role"`
	CreatedBy  string        `db:"created_by"`
	Created    int64         `db:"created_at"`
	Expires    int64         `db:"expires_at"`
	MaxUses    int           `db:"max_uses"`
	Uses       int           `db:"uses"`
	Revoked    sql.NullInt64 `db:"revoked_at"`
}

func (r inviteRow) invite() Invite {
	in := Invite{Code: r.Code, CohortID: r.CohortID, CohortName: r.CohortName, Role: r.Role, CreatedBy: r.CreatedBy,
		Created: fromMS(r.Created), Expires: fromMS(r.Expires), MaxUses: r.MaxUses, Uses: r.Uses}
	if r.Revoked.Valid {
		in.Revoked = fromMS(r.Revoked.Int64)
	}
	return in
}

// Usable returns why the invite cannot be used at t, or nil.
func (in Invite) Usable(t time.Time) error {
	switch {
	case !in.Revoked.IsZero():
		return inviteError("it was revoked")
	case !t.Before(in.Expires):
		return inviteError("it expired on %s", in.Expires.Format("2006-01-02 15:04 MST"))
	case in.Uses >= in.MaxUses:
		return inviteError("all %d of its sign-ups are used", in.MaxUses)
	}
	return nil
}

const inviteSelect = `SELECT i.code, i.cohort_id, c.name AS cohort_name, i.role, i.created_by, i.created_at, i.expires_at,
	i.max_uses, i.uses, i.revoked_at FROM invites i JOIN cohorts c ON c.id = i.cohort_id`

// CreateInvite records an invite.
func (s *Store) CreateInvite(ctx context.Context, in Invite) error {
	if _, err := s.exec(ctx, `INSERT INTO invites (code, cohort_id, role, created_by, created_at, expires_at, max_uses) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		in.Code, in.CohortID, in.Role, in.CreatedBy, now(), ms(in.Expires), in.MaxUses); err != nil {
		return fmt.Errorf("store: create invite: %w", err)
	}
	return nil
}

// Invite returns the invite with code, whether usable or not.
func (s *Store) Invite(ctx context.Context, code string) (Invite, error) {
	var r inviteRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(inviteSelect+` WHERE i.code = ?`), code)
	if errors.Is(err, sql.ErrNoRows) {
		return Invite{}, errNoInvite
	}
	if err != nil {
		return Invite{}, fmt.Errorf("store: invite: %w", err)
	}
	return r.invite(), nil
}

// Invites returns a cohort's invites, newest first.
func (s *Store) Invites(ctx context.Context, cohortID string) ([]Invite, error) {
	var rows []inviteRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(inviteSelect+` WHERE i.cohort_id = ? ORDER BY i.created_at DESC, i.code`), cohortID); err != nil {
		return nil, fmt.Errorf("store: invites: %w", err)
	}
	out := make([]Invite, len(rows))
	for i, r := range rows {
		out[i] = r.invite()
	}
	return out, nil
}

// RevokeInvite ends an invite of a cohort.
func (s *Store) RevokeInvite(ctx context.Context, cohortID, code string) error {
	res, err := s.exec(ctx, `UPDATE invites SET revoked_at = ? WHERE cohort_id = ? AND code = ? AND revoked_at IS NULL`, now(), cohortID, code)
	if err != nil {
		return fmt.Errorf("store: revoke invite: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: invite of %s: %w", cohortID, ErrNotFound)
	}
	return nil
}

// useInvite checks the invite with code at t and counts one use of it.
func useInvite(ctx context.Context, tx *sqlx.Tx, code string, t time.Time) (Invite, error) {
	var r inviteRow
	err := tx.GetContext(ctx, &r, tx.Rebind(inviteSelect+` WHERE i.code = ?`), code)
	if errors.Is(err, sql.ErrNoRows) {
		return Invite{}, errNoInvite
	}
	if err != nil {
		return Invite{}, err
	}
	in := r.invite()
	if err := in.Usable(t); err != nil {
		return Invite{}, err
	}
	// The guard in WHERE keeps two concurrent sign-ups from both taking
	// the last use.
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE invites SET uses = uses + 1 WHERE code = ? AND uses < max_uses AND revoked_at IS NULL`), code)
	if err != nil {
		return Invite{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Invite{}, inviteError("all %d of its sign-ups are used", in.MaxUses)
	}
	return in, nil
}

// join adds userID to the invite's cohort as its role says.
func join(ctx context.Context, tx *sqlx.Tx, in Invite, userID string) error {
	q := `INSERT INTO cohort_members (cohort_id, user_id, joined_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	args := []any{in.CohortID, userID, now()}
	if in.Role == RoleInstructor {
		q, args = `INSERT INTO cohort_staff (cohort_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, args[:2]
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
	return err
}

// SignUp creates an account with the role an invite gives and adds it to
// the invite's cohort, in one transaction: when the invite cannot be used
// (an [InviteError]) or the login is taken ([ErrExists]),
// nothing is recorded.
func (s *Store) SignUp(ctx context.Context, code string, a Account) (Account, Cohort, error) {
	var in Invite
	err := s.tx(ctx, "sign up", func(tx *sqlx.Tx) error {
		var err error
		if in, err = useInvite(ctx, tx, code, time.Now()); err != nil {
			return err
		}
		a.Role = in.Role
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO users (id, name, role, created_at, login, password_hash) VALUES (?, ?, ?, ?, ?, ?)`),
			a.ID, a.Name, a.Role, now(), a.Login, a.PasswordHash); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("login %q: %w", a.Login, ErrExists)
			}
			return err
		}
		return join(ctx, tx, in, a.ID)
	})
	if err != nil {
		return Account{}, Cohort{}, err
	}
	c, err := s.Cohort(ctx, in.CohortID)
	return a, c, err
}

// JoinCohort adds an existing user to an invite's cohort. A learner's
// invite makes them a member; an instructor's invite needs a user who is
// an instructor or admin.
func (s *Store) JoinCohort(ctx context.Context, code string, u User) (Cohort, error) {
	var in Invite
	err := s.tx(ctx, "join cohort", func(tx *sqlx.Tx) error {
		var err error
		if in, err = useInvite(ctx, tx, code, time.Now()); err != nil {
			return err
		}
		if in.Role == RoleInstructor && u.Role == RoleLearner {
			return inviteError("it is for instructors, and this account is a learner's")
		}
		if in.Role == RoleLearner && u.Role != RoleLearner {
			return inviteError("it is for learners, and this account is an %s's (ask for an instructor's invite)", u.Role)
		}
		return join(ctx, tx, in, u.ID)
	})
	if err != nil {
		return Cohort{}, err
	}
	return s.Cohort(ctx, in.CohortID)
}

// LabProgress is one learner's record on one lab.
type LabProgress struct {
	UserID   string
	LabID    string
	Sessions int       // sessions started
	First    time.Time // first session's start
	Last     time.Time // last activity recorded (a session change or a check)
	Attempts int       // check runs
	Passed   time.Time // end of the first passing check run; zero when none
}

// TimeToPass is how long the learner took from their first session on the
// lab to their first passing check; zero when they have not passed.
func (p LabProgress) TimeToPass() time.Duration {
	if p.Passed.IsZero() {
		return 0
	}
	return p.Passed.Sub(p.First)
}

// CohortProgress returns every member's progress on every lab they
// touched, keyed by user id then lab id.
func (s *Store) CohortProgress(ctx context.Context, cohortID string) (map[string]map[string]LabProgress, error) {
	var sess []struct {
		UserID string `db:"user_id"`
		LabID  string `db:"lab_id"`
		N      int    `db:"n"`
		First  int64  `db:"first"`
		Last   int64  `db:"last"`
	}
	if err := s.db.SelectContext(ctx, &sess, s.db.Rebind(`SELECT s.user_id, s.lab_id, COUNT(*) AS n, MIN(s.created_at) AS first, MAX(s.updated_at) AS last
		FROM sessions s JOIN cohort_members m ON m.user_id = s.user_id WHERE m.cohort_id = ? GROUP BY s.user_id, s.lab_id`), cohortID); err != nil {
		return nil, fmt.Errorf("store: cohort progress: %w", err)
	}
	var runs []struct {
		UserID   string        `db:"user_id"`
		LabID    string        `db:"lab_id"`
		N        int           `db:"n"`
		Last     int64         `db:"last"`
		Passed   sql.NullInt64 `db:"passed"`
		Finished sql.NullInt64 `db:"finished"`
	}
	if err := s.db.SelectContext(ctx, &runs, s.db.Rebind(`SELECT r.user_id, r.lab_id, COUNT(*) AS n, MAX(r.started_at) AS last,
		MIN(CASE WHEN r.outcome = 'passed' THEN r.finished_at END) AS passed, MAX(r.finished_at) AS finished
		FROM check_runs r JOIN cohort_members m ON m.user_id = r.user_id WHERE m.cohort_id = ? GROUP BY r.user_id, r.lab_id`), cohortID); err != nil {
		return nil, fmt.Errorf("store: cohort progress: %w", err)
	}
	out := map[string]map[string]LabProgress{}
	cell := func(u, l string) LabProgress {
		if out[u] == nil {
			out[u] = map[string]LabProgress{}
		}
		p := out[u][l]
		p.UserID, p.LabID = u, l
		return p
	}
	for _, r := range sess {
		p := cell(r.UserID, r.LabID)
		p.Sessions, p.First, p.Last = r.N, fromMS(r.First), fromMS(r.Last)
		out[r.UserID][r.LabID] = p
	}
	for _, r := range runs {
		p := cell(r.UserID, r.LabID)
		p.Attempts = r.N
		last := max(r.Last, r.Finished.Int64)
		if t := fromMS(last); t.After(p.Last) {
			p.Last = t
		}
		if r.Passed.Valid {
			p.Passed = fromMS(r.Passed.Int64)
		}
		out[r.UserID][r.LabID] = p
	}
	return out, nil
}

// UserCheckRuns returns every check run of a user (on labIDs only, when
// given), newest first.
func (s *Store) UserCheckRuns(ctx context.Context, userID string, labIDs ...string) ([]CheckRun, error) {
	q, args := `SELECT id, session_id, user_id, lab_id, started_at, finished_at, outcome, error, result FROM check_runs WHERE user_id = ?`, []any{userID}
	if len(labIDs) > 0 {
		sort.Strings(labIDs)
		var err error
		if q, args, err = sqlx.In(q+` AND lab_id IN (?)`, userID, labIDs); err != nil {
			return nil, err
		}
	}
	var rows []runRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q+` ORDER BY started_at DESC, id DESC`), args...); err != nil {
		return nil, fmt.Errorf("store: user check runs: %w", err)
	}
	out := make([]CheckRun, len(rows))
	for i, r := range rows {
		out[i] = r.run()
	}
	return out, nil
}

// CheckRun returns one check run.
func (s *Store) CheckRun(ctx context.Context, id string) (CheckRun, error) {
	var r runRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT id, session_id, user_id, lab_id, started_at, finished_at, outcome, error, result
		FROM check_runs WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return CheckRun{}, fmt.Errorf("store: check run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return CheckRun{}, fmt.Errorf("store: check run %s: %w", id, err)
	}
	return r.run(), nil
}
