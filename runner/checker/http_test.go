package checker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backlab/backlab/runner/checker"
)

func TestHTTPHelpers(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/warming":
			if calls.Add(1) < 3 {
				http.Error(w, "starting", http.StatusServiceUnavailable)
				return
			}
			w.Write([]byte("ok"))
		case "/json":
			w.Write([]byte(`{"id":7,"name":"ada"}`))
		case "/html":
			w.Write([]byte(`<html>not json</html>`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := t.Context()

	if err := checker.WaitHTTP(ctx, srv.URL+"/warming"); err != nil || calls.Load() != 3 {
		t.Errorf("WaitHTTP: err %v after %d calls, want nil after 3", err, calls.Load())
	}
	var v struct {
		ID   int
		Name string
	}
	if st, err := checker.GetJSON(ctx, srv.URL+"/json", &v); err != nil || st != 200 || v.ID != 7 || v.Name != "ada" {
		t.Errorf("GetJSON = %d, %v, %+v", st, err, v)
	}
	if st, err := checker.GetJSON(ctx, srv.URL+"/html", &v); err == nil || st != 200 || !strings.Contains(err.Error(), "not json") {
		t.Errorf("GetJSON of HTML = %d, %v; want an error quoting the body", st, err)
	}
	if st, err := checker.GetJSON(ctx, srv.URL+"/missing", &v); err != nil || st != 404 {
		t.Errorf("GetJSON of 404 = %d, %v; want status 404 and no error", st, err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := checker.WaitHTTP(short, "http://127.0.0.1:1/"); err == nil || !strings.Contains(err.Error(), "did not answer") {
		t.Errorf("WaitHTTP on a closed port: %v", err)
	}
}

func TestRand(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := checker.RandString(12)
		if len(s) != 12 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
			t.Fatalf("RandString(12) = %q", s)
		}
		seen[s] = true
		if n := checker.RandInt(3, 5); n < 3 || n > 5 {
			t.Fatalf("RandInt(3,5) = %d", n)
		}
	}
	if len(seen) < 100 {
		t.Errorf("RandString repeated itself: %d distinct of 100", len(seen))
	}
}
