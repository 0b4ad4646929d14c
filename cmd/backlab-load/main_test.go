package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestRunFlagsAndProfile(t *testing.T) {
	var posts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("Content-Type") == "application/json" {
			posts.Add(1)
		}
	}))
	defer srv.Close()

	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-engine", "builtin", "-rate", "20", "-duration", "1s", srv.URL + "/a"}, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"engine", "builtin", "latency p95", "throughput", "0 (0.00%)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	profile := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(profile, []byte("rate: 10\nduration: 1s\nengine: builtin\ntargets:\n  - method: POST\n    url: "+srv.URL+
		"/b\n    body: '{}'\n    header: {Content-Type: application/json}\n"), 0o644)
	out.Reset()
	if err := run(context.Background(), []string{"-f", profile, "-json"}, &out, &errOut); err != nil {
		t.Fatalf("run -f: %v", err)
	}
	if !strings.Contains(out.String(), `"p95_ms"`) || posts.Load() < 5 {
		t.Errorf("profile run: %d POSTs seen, output %s", posts.Load(), out.String())
	}

	os.WriteFile(profile, []byte("rate: 10\nspeed: 3\n"), 0o644)
	if err := run(context.Background(), []string{"-f", profile}, &out, &errOut); err == nil {
		t.Error("a profile with an unknown field was accepted")
	}
	if err := run(context.Background(), nil, &out, &errOut); err == nil {
		t.Error("no URL: no error")
	}
}
