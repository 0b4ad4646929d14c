package store

import (
	"errors"
	"testing"
	"time"
)

func TestAccounts(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			s := reopeners(t, backend)(t)
			ctx := t.Context()
			// The local user has no login; it must not collide with accounts.
			if _, err := s.EnsureUser(ctx, User{ID: "local", Name: "You", Role: RoleLearner}); err != nil {
				t.Fatal(err)
			}
			a := Account{User: User{ID: "u-1", Name: "Ada Lovelace", Role: RoleAdmin}, Login: "ada", PasswordHash: "$argon2id$x"}
			if err := s.CreateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
			dup := a
			dup.ID = "u-2"
			if err := s.CreateAccount(ctx, dup); !errors.Is(err, ErrExists) {
				t.Errorf("a second account with login ada: %v, want ErrExists", err)
			}
			if got, err := s.AccountByID(ctx, "u-1"); err != nil || got.Login != "ada" {
				t.Errorf("AccountByID = %+v, %v", got, err)
			}
			if _, err := s.AccountByID(ctx, "u-404"); !errors.Is(err, ErrNotFound) {
				t.Errorf("AccountByID(unknown) = %v", err)
			}
			got, err := s.AccountByLogin(ctx, "ada")
			if err != nil || got.ID != "u-1" || got.PasswordHash != "$argon2id$x" || got.Role != RoleAdmin {
				t.Errorf("AccountByLogin = %+v, %v", got, err)
			}
			if _, err := s.AccountByLogin(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown login: %v", err)
			}
			counts, err := s.CountAccounts(ctx)
			if err != nil || counts[RoleAdmin] != 1 || counts[RoleLearner] != 0 {
				t.Errorf("CountAccounts = %v, %v (the local user has no login)", counts, err)
			}
			if err := s.CreateLogin(ctx, "h-live", "u-1", time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			s.CreateLogin(ctx, "h-old", "u-1", time.Now().Add(-time.Minute))
			if u, err := s.LoginUser(ctx, "h-live"); err != nil || u.ID != "u-1" {
				t.Errorf("LoginUser(live) = %+v, %v", u, err)
			}
			if _, err := s.LoginUser(ctx, "h-old"); !errors.Is(err, ErrNotFound) {
				t.Errorf("an expired login still works: %v", err)
			}
			if err := s.SetRole(ctx, "ada", RoleInstructor); err != nil {
				t.Fatal(err)
			}
			if u, _ := s.LoginUser(ctx, "h-live"); u.Role != RoleInstructor {
				t.Errorf("after SetRole the login's user = %+v", u)
			}
			if err := s.SetRole(ctx, "nobody", RoleAdmin); !errors.Is(err, ErrNotFound) {
				t.Errorf("SetRole(nobody) = %v", err)
			}
			if err := s.SetPassword(ctx, "nobody", "h"); !errors.Is(err, ErrNotFound) {
				t.Errorf("SetPassword(nobody) = %v", err)
			}
			if err := s.SetPassword(ctx, "ada", "$argon2id$y"); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.AccountByLogin(ctx, "ada"); got.PasswordHash != "$argon2id$y" {
				t.Errorf("after SetPassword the hash = %q", got.PasswordHash)
			}
			if _, err := s.LoginUser(ctx, "h-live"); !errors.Is(err, ErrNotFound) {
				t.Errorf("a login outlived a new password: %v", err)
			}
			s.CreateLogin(ctx, "h-live", "u-1", time.Now().Add(time.Hour))
			s.DeleteLogin(ctx, "h-live")
			if _, err := s.LoginUser(ctx, "h-live"); !errors.Is(err, ErrNotFound) {
				t.Errorf("a deleted login still works: %v", err)
			}
		})
	}
}
