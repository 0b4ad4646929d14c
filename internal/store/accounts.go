package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// ErrExists reports a login name that is taken.
var ErrExists = errors.New("store: exists already")

// Account is a user who logs in.
type Account struct {
	User
	Login        string
	PasswordHash string
}

// CreateAccount records a new user with a login and password hash.
func (s *Store) CreateAccount(ctx context.Context, a Account) error {
	_, err := s.exec(ctx, `INSERT INTO users (id, name, role, created_at, login, password_hash) VALUES (?, ?, ?, ?, ?, ?)`,
		a.ID, a.Name, a.Role, now(), a.Login, a.PasswordHash)
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("store: login %q: %w", a.Login, ErrExists)
		}
		return fmt.Errorf("store: create account %s: %w", a.Login, err)
	}
	return nil
}

func isUniqueViolation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "duplicate key")
}

type accountRow struct {
	ID           string         `db:"id"`
	Name         string         `db:"name"`
	Role         string         `db:"role"`
	Created      int64          `db:"created_at"`
	Login        sql.NullString `db:"login"`
	PasswordHash string         `db:"password_hash"`
}

func (r accountRow) account() Account {
	return Account{User: User{ID: r.ID, Name: r.Name, Role: r.Role, Created: fromMS(r.Created)}, Login: r.Login.String, PasswordHash: r.PasswordHash}
}

const accountCols = `id, name, role, created_at, login, password_hash`

// AccountByLogin returns the account with a login name.
func (s *Store) AccountByLogin(ctx context.Context, login string) (Account, error) {
	var r accountRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT `+accountCols+` FROM users WHERE login = ?`), login)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("store: login %q: %w", login, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("store: account %q: %w", login, err)
	}
	return r.account(), nil
}

// CountAccounts returns how many users can log in, by role.
func (s *Store) CountAccounts(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Role string `db:"role"`
		N    int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT role, COUNT(*) AS n FROM users WHERE login IS NOT NULL GROUP BY role`); err != nil {
		return nil, fmt.Errorf("store: count accounts: %w", err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Role] = r.N
	}
	return out, nil
}

// CreateLogin records a logged-in browser by the hash of its token.
func (s *Store) CreateLogin(ctx context.Context, tokenHash, userID string, expires time.Time) error {
	if _, err := s.exec(ctx, `INSERT INTO logins (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		tokenHash, userID, now(), ms(expires)); err != nil {
		return fmt.Errorf("store: create login: %w", err)
	}
	return nil
}

// LoginUser returns the user a login token (by hash) belongs to, unless
// it expired.
func (s *Store) LoginUser(ctx context.Context, tokenHash string) (User, error) {
	var r accountRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT u.id, u.name, u.role, u.created_at, u.login, u.password_hash
		FROM logins l JOIN users u ON u.id = l.user_id WHERE l.token_hash = ? AND l.expires_at > ?`), tokenHash, now())
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: login: %w", ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: login: %w", err)
	}
	return r.account().User, nil
}

// DeleteLogin logs a browser out.
func (s *Store) DeleteLogin(ctx context.Context, tokenHash string) error {
	if _, err := s.exec(ctx, `DELETE FROM logins WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("store: delete login: %w", err)
	}
	return nil
}

// SetPassword replaces the password hash of the account with login and
// ends every login of it, in one transaction.
func (s *Store) SetPassword(ctx context.Context, login, hash string) error {
	return s.tx(ctx, "set password of "+login, func(tx *sqlx.Tx) error {
		var id string
		err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM users WHERE login = ?`), login)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE users SET password_hash = ? WHERE id = ?`), hash, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`DELETE FROM logins WHERE user_id = ?`), id)
		return err
	})
}

// SetRole changes the role of the account with login; it takes effect at
// the account's next request.
func (s *Store) SetRole(ctx context.Context, login, role string) error {
	res, err := s.exec(ctx, `UPDATE users SET role = ? WHERE login = ?`, role, login)
	if err != nil {
		return fmt.Errorf("store: set role of %s: %w", login, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: login %q: %w", login, ErrNotFound)
	}
	return nil
}

// AccountByID returns the account of a user id.
func (s *Store) AccountByID(ctx context.Context, id string) (Account, error) {
	var r accountRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT `+accountCols+` FROM users WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("store: user %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("store: user %s: %w", id, err)
	}
	return r.account(), nil
}
