package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/backlab/backlab/internal/auth"
	"github.com/backlab/backlab/internal/ids"
	"github.com/backlab/backlab/internal/store"
)

// stdin is where commands read passwords from; tests replace it.
var stdin io.Reader = os.Stdin

// cmdAdminCreate creates an account (the first admin, usually) in the
// store serve uses.
func cmdAdminCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	login := fs.String("login", "", "login name (lowercase letters, digits, . _ -)")
	name := fs.String("name", "", "the name shown in pages (default: the login)")
	role := fs.String("role", store.RoleAdmin, "admin, instructor or learner")
	db := fs.String("db", envOr("BACKLAB_DB", defaultDB()), "the store serve uses: an SQLite file or a postgres:// URL; env BACKLAB_DB")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	l := strings.ToLower(strings.TrimSpace(*login))
	if err := auth.CheckLogin(l); err != nil {
		return fmt.Errorf("--login: %w", err)
	}
	if err := checkRole(*role); err != nil {
		return err
	}
	if *name == "" {
		*name = l
	}
	hash, err := readPasswordHash(stdout)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	err = st.CreateAccount(ctx, store.Account{User: store.User{ID: ids.New(ids.User), Name: *name, Role: *role}, Login: l, PasswordHash: hash})
	if errors.Is(err, store.ErrExists) {
		return fmt.Errorf("an account with login %q exists already in %s; pick another login", l, redactDSN(*db))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %q in %s; logins are now required by backlab serve with this store\n", *role, l, redactDSN(*db))
	return nil
}

// readPassword asks twice on a terminal, or reads one line from a pipe.
func readPassword(stdout io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stdout, "Password (at least %d characters): ", auth.MinPasswordLen)
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdout)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if err := auth.CheckPassword(string(a)); err != nil {
			return "", err
		}
		fmt.Fprint(stdout, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdout)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ; nothing was created")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password: type it when asked, or pipe it in (echo \"$PASSWORD\" | backlab admin create …)")
	}
	return line, nil
}

// accountFlags are the flags every admin command that changes one
// account takes.
type accountFlags struct {
	fs    *flag.FlagSet
	login *string
	db    *string
}

func newAccountFlags(name string, stderr io.Writer) accountFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return accountFlags{fs: fs,
		login: fs.String("login", "", "the account's login name"),
		db:    fs.String("db", envOr("BACKLAB_DB", defaultDB()), "the store serve uses: an SQLite file or a postgres:// URL; env BACKLAB_DB")}
}

// parse parses args and opens the store; the caller closes it.
func (f accountFlags) parse(ctx context.Context, args []string) (string, *store.Store, error) {
	if _, err := parseInterleaved(f.fs, args); err != nil {
		return "", nil, err
	}
	l := strings.ToLower(strings.TrimSpace(*f.login))
	if l == "" {
		return "", nil, errors.New("--login is missing: name the account, e.g. --login ada")
	}
	st, err := store.Open(ctx, *f.db)
	return l, st, err
}

// cmdAdminPassword sets a new password for an account (a learner who
// forgot theirs) and logs out every browser of it.
func cmdAdminPassword(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newAccountFlags("admin password", stderr)
	l, st, err := f.parse(ctx, args)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.AccountByLogin(ctx, l); err != nil {
		return fmt.Errorf("no account has login %q in %s; nothing changed", l, redactDSN(*f.db))
	}
	hash, err := readPasswordHash(stdout)
	if err != nil {
		return err
	}
	if err := st.SetPassword(ctx, l, hash); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "set a new password for %q; every browser logged in as %q is logged out\n", l, l)
	return nil
}

// cmdAdminRole changes an account's role.
func cmdAdminRole(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newAccountFlags("admin role", stderr)
	role := f.fs.String("role", "", "the new role: admin, instructor or learner")
	l, st, err := f.parse(ctx, args)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkRole(*role); err != nil {
		return err
	}
	err = st.SetRole(ctx, l, *role)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no account has login %q in %s; nothing changed", l, redactDSN(*f.db))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%q is now %s (from its next request on)\n", l, article(*role))
	return nil
}

func article(role string) string {
	if role == store.RoleAdmin || role == store.RoleInstructor {
		return "an " + role
	}
	return "a " + role
}

// readPasswordHash reads a new password (see readPassword) and hashes it.
func readPasswordHash(stdout io.Writer) (string, error) {
	pw, err := readPassword(stdout)
	if err != nil {
		return "", err
	}
	return auth.HashPassword(pw)
}

// checkRole says what is wrong with a --role value, or nil.
func checkRole(role string) error {
	switch role {
	case store.RoleAdmin, store.RoleInstructor, store.RoleLearner:
		return nil
	}
	return fmt.Errorf("--role %q: give admin, instructor or learner", role)
}
