package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backlab/backlab/internal/auth"
	"github.com/backlab/backlab/internal/store"
	"github.com/backlab/backlab/internal/testenv"
)

func TestAdminCreate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	tests := []struct {
		name, password string
		args           []string
		errHas         string
	}{
		{"first admin", "a long password\n", []string{"--login", "Ada"}, ""},
		{"taken", "another long one\n", []string{"--login", "ada"}, "exists already"},
		{"short password", "short\n", []string{"--login", "bob"}, "at least"},
		{"no password", "", []string{"--login", "bob"}, "no password"},
		{"bad login", "a long password\n", []string{"--login", "bob smith"}, "--login"},
		{"bad role", "a long password\n", []string{"--login", "bob", "--role", "root"}, "--role"},
		{"instructor", "teach-teach-teach\n", []string{"--login", "grace", "--role", "instructor", "--name", "Grace H"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdin = strings.NewReader(tt.password)
			var out bytes.Buffer
			err := run(context.Background(), append([]string{"admin", "create", "--db", db}, tt.args...), &out, &out)
			if tt.errHas == "" && err != nil || tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)) {
				t.Fatalf("err = %v, want %q\n%s", err, tt.errHas, out.String())
			}
		})
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.AccountByLogin(context.Background(), "ada")
	if err != nil || a.Role != store.RoleAdmin || auth.VerifyPassword(a.PasswordHash, "a long password") != nil {
		t.Errorf("stored admin = %+v, %v", a, err)
	}
	if g, _ := st.AccountByLogin(context.Background(), "grace"); g.Name != "Grace H" || g.Role != store.RoleInstructor {
		t.Errorf("stored instructor = %+v", g)
	}
}

// TestServeRequiresAnAdminBeyondLoopback: listening beyond loopback needs
// logins, and logins need an admin to exist.
func TestServeRequiresAnAdminBeyondLoopback(t *testing.T) {
	testenv.NeedDocker(t)
	db := filepath.Join(t.TempDir(), "b.db")
	var out bytes.Buffer
	err := run(t.Context(), []string{"serve", "--addr", "127.0.0.2:0", "--login", "required", "--db", db, filepath.Join("..", "..", "labs")}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "backlab admin create") {
		t.Fatalf("serve requiring logins without an admin: %v, want advice to run backlab admin create", err)
	}
}

// TestServeWithAccountsRequiresLogin: once an account exists, serve asks
// for a login even on loopback, and the admin's login works.
func TestServeWithAccountsRequiresLogin(t *testing.T) {
	testenv.NeedDocker(t)
	db := filepath.Join(t.TempDir(), "b.db")
	stdin = strings.NewReader("the admin's password\n")
	var out bytes.Buffer
	if err := run(t.Context(), []string{"admin", "create", "--login", "root-admin", "--db", db}, &out, &out); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--db", db, filepath.Join("..", "..", "labs")}, &logs, &logs)
	}()
	defer func() { cancel(); <-done }()
	for !strings.Contains(logs.String(), "logins required") {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	base := "http://" + addr
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	get := func(path string) int {
		resp, err := cl.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get("/api/labs"); s != 401 {
		t.Errorf("GET /api/labs before login = %d, want 401", s)
	}
	u, _ := url.Parse(base)
	var csrf string
	for _, c := range jar.Cookies(u) {
		if c.Name == "backlab_csrf" {
			csrf = c.Value
		}
	}
	req, _ := http.NewRequest("POST", base+"/api/login", strings.NewReader(`{"login":"root-admin","password":"the admin's password"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Backlab-CSRF", csrf)
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login = %d", resp.StatusCode)
	}
	if s := get("/api/labs"); s != 200 {
		t.Errorf("GET /api/labs after login = %d, want 200", s)
	}
}

func TestAdminPasswordAndRole(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "b.db")
	stdin = strings.NewReader("the first password\n")
	var out bytes.Buffer
	if err := run(ctx, []string{"admin", "create", "--db", db, "--login", "ada", "--role", "learner"}, &out, &out); err != nil {
		t.Fatal(err, out.String())
	}
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, _ := st.AccountByLogin(ctx, "ada")
	st.CreateLogin(ctx, "h-ada", a.ID, time.Now().Add(time.Hour))

	tests := []struct {
		name, password string
		args           []string
		errHas         string
	}{
		{"unknown login", "a new password\n", []string{"password", "--login", "nobody"}, "no account"},
		{"no login", "a new password\n", []string{"password"}, "--login is missing"},
		{"short password", "short\n", []string{"password", "--login", "ada"}, "at least"},
		{"new password", "the second password\n", []string{"password", "--login", "Ada"}, ""},
		{"bad role", "", []string{"role", "--login", "ada", "--role", "root"}, "--role"},
		{"role of nobody", "", []string{"role", "--login", "nobody", "--role", "admin"}, "no account"},
		{"instructor", "", []string{"role", "--login", "ada", "--role", "instructor"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdin = strings.NewReader(tt.password)
			var out bytes.Buffer
			err := run(ctx, append([]string{"admin", tt.args[0], "--db", db}, tt.args[1:]...), &out, &out)
			if tt.errHas == "" && err != nil || tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)) {
				t.Fatalf("err = %v, want %q\n%s", err, tt.errHas, out.String())
			}
		})
	}
	a, _ = st.AccountByLogin(ctx, "ada")
	if auth.VerifyPassword(a.PasswordHash, "the second password") != nil || a.Role != store.RoleInstructor {
		t.Errorf("ada = %+v: want the second password and the instructor role", a)
	}
	if _, err := st.LoginUser(ctx, "h-ada"); err == nil {
		t.Error("a new password left ada's earlier login working")
	}
}
