package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backlab/backlab/internal/testenv"
)

func TestParseServeLimits(t *testing.T) {
	c, err := parseServe(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.limits.MemoryBytes <= 0 || c.limits.MemoryBytes >= hostMemory() || c.limits.PerUser != 2 || c.limits.MinFreeDisk != 2<<30 {
		t.Errorf("default limits = %+v (host memory %d)", c.limits, hostMemory())
	}
	c, err = parseServe([]string{"--memory-budget", "off", "--min-free-disk", "off", "--max-sandboxes", "-1", "--memory-budget", "8Gi"}, io.Discard)
	if err != nil || c.limits.MemoryBytes != 8<<30 || c.limits.MinFreeDisk != -1 || c.limits.MaxSandboxes != -1 {
		t.Errorf("limits from flags = %+v, %v", c.limits, err)
	}
}

func TestParseServeLifetime(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		want   time.Duration
		errHas string
	}{
		{nil, 4 * time.Hour, ""},
		{[]string{"--max-session-lifetime", "90m"}, 90 * time.Minute, ""},
		{[]string{"--max-session-lifetime", "0"}, -1, ""}, // no maximum
		{[]string{"--max-session-lifetime", "5s"}, 0, "too short"},
		{[]string{"--max-session-lifetime", "-1h"}, 0, "too short"},
	} {
		c, err := parseServe(tt.args, io.Discard)
		switch {
		case tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)):
			t.Errorf("%q: err = %v, want one saying %q", tt.args, err, tt.errHas)
		case tt.errHas == "" && (err != nil || c.maxLifetime != tt.want):
			t.Errorf("%q: lifetime = %v, %v; want %v", tt.args, c.maxLifetime, err, tt.want)
		}
	}
}

func TestParseServe(t *testing.T) {
	t.Setenv("BACKLAB_TRUSTED_PROXY", "")
	tests := []struct {
		name   string
		args   []string
		errHas string
		public string
		beyond bool // whether logins are required (and an admin) under --login auto
	}{
		{"defaults", nil, "", "http://127.0.0.1:8080", false},
		{"localhost", []string{"--addr", "localhost:9000"}, "", "http://localhost:9000", false},
		{"ipv6 loopback", []string{"--addr", "[::1]:9000"}, "", "http://[::1]:9000", false},
		{"all interfaces need a public url", []string{"--addr", "0.0.0.0:8080"}, "--public-url", "", false},
		{"empty host needs a public url", []string{"--addr", ":8080"}, "--public-url", "", false},
		{"all interfaces with a public url", []string{"--addr", "0.0.0.0:8080", "--public-url", "https://labs.example.org"}, "", "https://labs.example.org", true},
		{"lan address", []string{"--addr", "192.168.1.10:8080"}, "", "http://192.168.1.10:8080", true},
		{"no logins beyond loopback refused", []string{"--addr", "192.168.1.10:8080", "--login", "off"}, "must require logins", "", false},
		{"bad login mode", []string{"--login", "maybe"}, "auto, required or off", "", false},
		{"no port", []string{"--addr", "127.0.0.1"}, "host:port", "", false},
		{"bad public url", []string{"--public-url", "ftp://x"}, "public-url", "", false},
		{"idle too short", []string{"--idle-timeout", "1s"}, "too short", "", false},
		{"bad memory budget", []string{"--memory-budget", "lots"}, "--memory-budget", "", false},
		{"bad disk floor", []string{"--min-free-disk", "-3"}, "--min-free-disk", "", false},
		// Behind a reverse proxy: loopback address, public URL elsewhere.
		{"public url behind a proxy is beyond loopback", []string{"--public-url", "https://labs.example.org"}, "", "https://labs.example.org", true},
		{"public url with a lan address", []string{"--public-url", "http://10.0.0.5:8080"}, "", "http://10.0.0.5:8080", true},
		{"public url on loopback", []string{"--public-url", "http://localhost:8080"}, "", "http://localhost:8080", false},
		{"public url on ipv6 loopback", []string{"--addr", "[::1]:8080", "--public-url", "http://[::1]:8080"}, "", "http://[::1]:8080", false},
		{"no logins behind a proxy refused", []string{"--public-url", "https://labs.example.org", "--login", "off"}, "--public-url https://labs.example.org", "", false},
		{"no logins with a loopback public url", []string{"--public-url", "http://127.0.0.1:8080", "--login", "off"}, "", "http://127.0.0.1:8080", false},
		{"a trusted proxy means one is in front", []string{"--trusted-proxy", "127.0.0.1"}, "", "http://127.0.0.1:8080", true},
		{"no logins with a trusted proxy refused", []string{"--trusted-proxy", "127.0.0.1", "--login", "off"}, "--trusted-proxy", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseServe(tt.args, io.Discard)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want one saying %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.publicURL != tt.public {
				t.Errorf("public URL = %q, want %q", c.publicURL, tt.public)
			}
			if c.beyondLoopback != tt.beyond {
				t.Errorf("beyond loopback = %v, want %v", c.beyondLoopback, tt.beyond)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		name   string
		env    string
		args   []string
		want   string // the prefixes, comma-separated
		errHas string
	}{
		{"none", "", nil, "", ""},
		{"one address", "", []string{"--trusted-proxy", "127.0.0.1"}, "127.0.0.1/32", ""},
		{"repeated", "", []string{"--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "::1"}, "10.0.0.0/8,::1/128", ""},
		{"comma list", "", []string{"--trusted-proxy", "10.0.0.0/8, 192.168.0.0/16"}, "10.0.0.0/8,192.168.0.0/16", ""},
		{"host bits are masked", "", []string{"--trusted-proxy", "10.1.2.3/8"}, "10.0.0.0/8", ""},
		{"from the environment", "172.16.0.0/12,127.0.0.1", nil, "172.16.0.0/12,127.0.0.1/32", ""},
		{"flags replace the environment", "172.16.0.0/12", []string{"--trusted-proxy", "127.0.0.1"}, "127.0.0.1/32", ""},
		{"not an address", "", []string{"--trusted-proxy", "proxy.local"}, "", `--trusted-proxy "proxy.local"`},
		{"bad range", "", []string{"--trusted-proxy", "10.0.0.0/33"}, "", "CIDR"},
		{"bad environment", "10.0.0.300", nil, "", "BACKLAB_TRUSTED_PROXY"},
		{"everyone refused", "", []string{"--trusted-proxy", "0.0.0.0/0"}, "", "every address"},
		{"every ipv6 address refused", "", []string{"--trusted-proxy", "::/0"}, "", "every address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BACKLAB_TRUSTED_PROXY", tt.env)
			c, err := parseServe(tt.args, io.Discard)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want one saying %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range c.trustedProxies {
				got = append(got, p.String())
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("trusted proxies = %v, want %s", got, tt.want)
			}
		})
	}
}

// TestServeBehindProxyNeedsAdmin starts serve as docs/admin.md sets it up
// behind a reverse proxy, with a store that has no accounts: it must
// refuse to start (logins are required, and nobody could log in) rather
// than serve every visitor as the local learner.
func TestServeBehindProxyNeedsAdmin(t *testing.T) {
	t.Setenv("BACKLAB_TRUSTED_PROXY", "")
	db := filepath.Join(t.TempDir(), "backlab.db")
	var out syncBuffer
	// Were it to start serving, it would serve until the context ends.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--public-url", "https://labs.example.org", "--db", db,
		filepath.Join("..", "..", "labs", "add-index")}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "no admin account exists") || !strings.Contains(err.Error(), "admin create") {
		t.Fatalf("serve behind a proxy without accounts = %v, want a refusal that says to create an admin\n%s", err, out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeCommand runs `backlab serve` as a user would and talks to it,
// with each store.
func TestServeCommand(t *testing.T) {
	testenv.NeedDocker(t)
	t.Run("sqlite", func(t *testing.T) { testServe(t, filepath.Join(t.TempDir(), "state", "backlab.db")) })
	t.Run("postgres", func(t *testing.T) { testServe(t, testenv.Postgres(t)) })
}

func testServe(t *testing.T, db string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--db", db, filepath.Join("..", "..", "labs")}, &out, &out)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "backlab is serving") {
		select {
		case err := <-done:
			t.Fatalf("serve ended before serving: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start:\n%s", out.String())
		}
	}
	if strings.Contains(out.String(), "postgres:postgres@") {
		t.Errorf("serve printed the database password:\n%s", out.String())
	}
	resp, err := http.Get(base + "/api/labs")
	if err != nil {
		t.Fatal(err)
	}
	var labs []struct{ ID, Status string }
	json.NewDecoder(resp.Body).Decode(&labs)
	resp.Body.Close()
	found := false
	for _, l := range labs {
		found = found || (l.ID == "add-index" && l.Status == "not_started")
	}
	if !found {
		t.Errorf("GET /api/labs = %+v, want add-index not started", labs)
	}
	resp, err = http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /readyz = %d, want 200 (store and engine answer)", resp.StatusCode)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scraped, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(scraped), `backlab_sessions{state="ready"} 0`) || !strings.Contains(string(scraped), "backlab_reaper_sandboxes_removed_total") {
		t.Errorf("GET /metrics = %d:\n%.500s", resp.StatusCode, scraped)
	}
	for _, args := range [][]string{{"health", "--addr", addr}, {"health", "--ready", "--addr", addr}} {
		var hout bytes.Buffer
		if err := run(ctx, args, &hout, &hout); err != nil || !strings.Contains(hout.String(), ": ok") {
			t.Errorf("backlab %s = %v %s", strings.Join(args, " "), err, hout.String())
		}
	}
	resp, err = http.Get(base + "/labs/add-index")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "/static/app.js") {
		t.Errorf("GET /labs/add-index = %d %.200s", resp.StatusCode, page)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after Ctrl-C:\n%s", err, out.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("serve did not stop after its context ended")
	}
	var hout bytes.Buffer
	if err := run(context.Background(), []string{"health", "--addr", addr, "--timeout", "2s"}, &hout, &hout); err == nil || !strings.Contains(err.Error(), "is backlab serve running") {
		t.Errorf("backlab health after serve stopped = %v, want an error that says serve may not run", err)
	}
}
