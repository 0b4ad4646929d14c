package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Roles a user can have.
const (
	RoleLearner    = "learner"
	RoleInstructor = "instructor"
	RoleAdmin      = "admin"
)

// User is someone who uses backlab.
type User struct {
	ID      string    `db:"id" json:"id"`
	Name    string    `db:"name" json:"name"`
	Role    string    `db:"role" json:"role"`
	Created time.Time `db:"-" json:"-"`
}

// EnsureUser creates u unless a user with its id exists, and returns the
// stored user.
func (s *Store) EnsureUser(ctx context.Context, u User) (User, error) {
	if _, err := s.exec(ctx, `INSERT INTO users (id, name, role, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		u.ID, u.Name, u.Role, now()); err != nil {
		return User{}, fmt.Errorf("store: ensure user %s: %w", u.ID, err)
	}
	var out User
	var created int64
	row := s.db.QueryRowxContext(ctx, s.db.Rebind(`SELECT id, name, role, created_at FROM users WHERE id = ?`), u.ID)
	if err := row.Scan(&out.ID, &out.Name, &out.Role, &created); err != nil {
		return User{}, fmt.Errorf("store: read user %s: %w", u.ID, err)
	}
	out.Created = fromMS(created)
	return out, nil
}

// Session states as stored.
const (
	StateStarting = "starting"
	StateReady    = "ready"
	StateFailed   = "failed"
	StateStopped  = "stopped"
	StateExpired  = "expired"
)

// Session is a learner's session on a lab.
type Session struct {
	ID      string
	UserID  string
	LabID   string
	State   string
	Error   string
	Created time.Time
	Updated time.Time
	Ended   time.Time // zero while the session lives
}

type sessionRow struct {
	ID      string        `db:"id"`
	UserID  string        `db:"user_id"`
	LabID   string        `db:"lab_id"`
	State   string        `db:"state"`
	Error   string        `db:"error"`
	Created int64         `db:"created_at"`
	Updated int64         `db:"updated_at"`
	Ended   sql.NullInt64 `db:"ended_at"`
}

func (r sessionRow) session() Session {
	s := Session{ID: r.ID, UserID: r.UserID, LabID: r.LabID, State: r.State, Error: r.Error,
		Created: fromMS(r.Created), Updated: fromMS(r.Updated)}
	if r.Ended.Valid {
		s.Ended = fromMS(r.Ended.Int64)
	}
	return s
}

// CreateSession records a new session.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	t := ms(sess.Created)
	if _, err := s.exec(ctx, `INSERT INTO sessions (id, user_id, lab_id, state, error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sess.ID, sess.UserID, sess.LabID, sess.State, sess.Error, t, t); err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SetSessionState records a session's state; ended states set ended_at.
func (s *Store) SetSessionState(ctx context.Context, id, state, errMsg string) error {
	t := now()
	var ended any
	if state == StateStopped || state == StateExpired || state == StateFailed {
		ended = t
	}
	res, err := s.exec(ctx, `UPDATE sessions SET state = ?, error = ?, updated_at = ?, ended_at = ? WHERE id = ?`, state, errMsg, t, ended, id)
	if err != nil {
		return fmt.Errorf("store: set session %s state: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: session %s: %w", id, ErrNotFound)
	}
	return nil
}

// Session returns one session.
func (s *Store) Session(ctx context.Context, id string) (Session, error) {
	var r sessionRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT id, user_id, lab_id, state, error, created_at, updated_at, ended_at FROM sessions WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("store: session %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Session{}, fmt.Errorf("store: session %s: %w", id, err)
	}
	return r.session(), nil
}

// EndLiveSessions marks every session still starting or ready as stopped
// with reason; a server calls it at start, when no sandbox of an earlier
// process survives. It returns how many it ended.
func (s *Store) EndLiveSessions(ctx context.Context, reason string) (int64, error) {
	res, err := s.exec(ctx, `UPDATE sessions SET state = ?, error = ?, updated_at = ?, ended_at = ? WHERE state IN (?, ?)`,
		StateStopped, reason, now(), now(), StateStarting, StateReady)
	if err != nil {
		return 0, fmt.Errorf("store: end live sessions: %w", err)
	}
	return res.RowsAffected()
}

// LabStatus is a learner's progress on one lab.
type LabStatus struct {
	LabID    string
	Started  bool // some session was created
	Passed   bool // some check run passed
	Attempts int  // check runs
}

// Progress returns the user's progress on every lab they touched, by lab.
func (s *Store) Progress(ctx context.Context, userID string) (map[string]LabStatus, error) {
	out := map[string]LabStatus{}
	var started []string
	if err := s.db.SelectContext(ctx, &started, s.db.Rebind(`SELECT DISTINCT lab_id FROM sessions WHERE user_id = ?`), userID); err != nil {
		return nil, fmt.Errorf("store: progress: %w", err)
	}
	for _, l := range started {
		out[l] = LabStatus{LabID: l, Started: true}
	}
	var runs []struct {
		LabID    string `db:"lab_id"`
		Attempts int    `db:"attempts"`
		Passed   int    `db:"passed"`
	}
	if err := s.db.SelectContext(ctx, &runs, s.db.Rebind(`SELECT lab_id, COUNT(*) AS attempts,
		SUM(CASE WHEN outcome = 'passed' THEN 1 ELSE 0 END) AS passed
		FROM check_runs WHERE user_id = ? GROUP BY lab_id`), userID); err != nil {
		return nil, fmt.Errorf("store: progress: %w", err)
	}
	for _, r := range runs {
		st := out[r.LabID]
		st.LabID, st.Attempts, st.Passed = r.LabID, r.Attempts, r.Passed > 0
		out[r.LabID] = st
	}
	return out, nil
}

// RevealHint records that one more hint of task was revealed, up to
// total, and returns how many are revealed now. ok is false when all
// were revealed already.
func (s *Store) RevealHint(ctx context.Context, sessionID, taskID string, total int) (revealed int, ok bool, err error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, false, fmt.Errorf("store: reveal hint: %w", err)
	}
	defer tx.Rollback()
	var n int
	err = tx.GetContext(ctx, &n, tx.Rebind(`SELECT revealed FROM hints WHERE session_id = ? AND task_id = ?`), sessionID, taskID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("store: reveal hint: %w", err)
	}
	if n >= total {
		return n, false, nil
	}
	n++
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO hints (session_id, task_id, revealed) VALUES (?, ?, ?)
		ON CONFLICT (session_id, task_id) DO UPDATE SET revealed = excluded.revealed`), sessionID, taskID, n); err != nil {
		return 0, false, fmt.Errorf("store: reveal hint: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, false, fmt.Errorf("store: reveal hint: %w", err)
	}
	return n, true, nil
}

// Hints returns how many hints of each task the session revealed.
func (s *Store) Hints(ctx context.Context, sessionID string) (map[string]int, error) {
	var rows []struct {
		Task     string `db:"task_id"`
		Revealed int    `db:"revealed"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT task_id, revealed FROM hints WHERE session_id = ?`), sessionID); err != nil {
		return nil, fmt.Errorf("store: hints: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Task] = r.Revealed
	}
	return out, nil
}

// Outcome of a check run still going.
const OutcomeRunning = "running"

// CheckRun is one run of a lab's checker.
type CheckRun struct {
	ID        string
	SessionID string
	UserID    string
	LabID     string
	Started   time.Time
	Finished  time.Time // zero while running
	Outcome   string
	Error     string
	// Result is the run's result as JSON (steps, metrics).
	Result json.RawMessage
}

type runRow struct {
	ID        string        `db:"id"`
	SessionID string        `db:"session_id"`
	UserID    string        `db:"user_id"`
	LabID     string        `db:"lab_id"`
	Started   int64         `db:"started_at"`
	Finished  sql.NullInt64 `db:"finished_at"`
	Outcome   string        `db:"outcome"`
	Error     string        `db:"error"`
	Result    string        `db:"result"`
}

func (r runRow) run() CheckRun {
	c := CheckRun{ID: r.ID, SessionID: r.SessionID, UserID: r.UserID, LabID: r.LabID, Started: fromMS(r.Started),
		Outcome: r.Outcome, Error: r.Error, Result: json.RawMessage(r.Result)}
	if r.Finished.Valid {
		c.Finished = fromMS(r.Finished.Int64)
	}
	return c
}

// StartCheckRun records a run that began.
func (s *Store) StartCheckRun(ctx context.Context, run CheckRun) error {
	if _, err := s.exec(ctx, `INSERT INTO check_runs (id, session_id, user_id, lab_id, started_at, outcome) VALUES (?, ?, ?, ?, ?, ?)`,
		run.ID, run.SessionID, run.UserID, run.LabID, ms(run.Started), OutcomeRunning); err != nil {
		return fmt.Errorf("store: start check run: %w", err)
	}
	return nil
}

// AddCheckEvent appends one event (JSON) to a run.
func (s *Store) AddCheckEvent(ctx context.Context, runID string, seq int, event []byte) error {
	if _, err := s.exec(ctx, `INSERT INTO check_events (run_id, seq, event) VALUES (?, ?, ?)`, runID, seq, string(event)); err != nil {
		return fmt.Errorf("store: add check event: %w", err)
	}
	return nil
}

// FinishCheckRun records how a run ended.
func (s *Store) FinishCheckRun(ctx context.Context, id, outcome, errMsg string, result []byte) error {
	if _, err := s.exec(ctx, `UPDATE check_runs SET finished_at = ?, outcome = ?, error = ?, result = ? WHERE id = ?`,
		now(), outcome, errMsg, string(result), id); err != nil {
		return fmt.Errorf("store: finish check run: %w", err)
	}
	return nil
}

// EndRunningChecks marks runs left running by a process that died as
// errors; it returns how many.
func (s *Store) EndRunningChecks(ctx context.Context, reason string) (int64, error) {
	res, err := s.exec(ctx, `UPDATE check_runs SET finished_at = ?, outcome = 'error', error = ? WHERE outcome = ?`, now(), reason, OutcomeRunning)
	if err != nil {
		return 0, fmt.Errorf("store: end running checks: %w", err)
	}
	return res.RowsAffected()
}

// CheckRuns returns a session's runs, newest first.
func (s *Store) CheckRuns(ctx context.Context, sessionID string) ([]CheckRun, error) {
	var rows []runRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT id, session_id, user_id, lab_id, started_at, finished_at, outcome, error, result
		FROM check_runs WHERE session_id = ? ORDER BY started_at DESC, id DESC`), sessionID); err != nil {
		return nil, fmt.Errorf("store: check runs: %w", err)
	}
	out := make([]CheckRun, len(rows))
	for i, r := range rows {
		out[i] = r.run()
	}
	return out, nil
}

// CheckEvents returns a run's events in order.
func (s *Store) CheckEvents(ctx context.Context, runID string) ([]json.RawMessage, error) {
	var evs []string
	if err := s.db.SelectContext(ctx, &evs, s.db.Rebind(`SELECT event FROM check_events WHERE run_id = ? ORDER BY seq`), runID); err != nil {
		return nil, fmt.Errorf("store: check events: %w", err)
	}
	out := make([]json.RawMessage, len(evs))
	for i, e := range evs {
		out[i] = json.RawMessage(e)
	}
	return out, nil
}
