// Package testenv tells tests what this machine offers them.
package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// NeedDocker skips t when no Docker engine answers, or fails it when the
// environment variable BACKLAB_REQUIRE_DOCKER is set (as scripts/test does),
// so that CI never passes by skipping.
func NeedDocker(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a Docker engine; skipped in -short mode")
	}
	cli, err := client.New(client.FromEnv)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = cli.Ping(ctx, client.PingOptions{})
		cancel()
		cli.Close()
	}
	if err == nil {
		return
	}
	if os.Getenv("BACKLAB_REQUIRE_DOCKER") != "" {
		t.Fatalf("BACKLAB_REQUIRE_DOCKER is set but no Docker engine answers: %v (run scripts/engine.sh)", err)
	}
	t.Skipf("no Docker engine answers (%v); run scripts/engine.sh, or set BACKLAB_REQUIRE_DOCKER=1 to make this a failure", err)
}

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// NeedChromium returns the browser to drive, skipping t when there is none,
// or failing it when BACKLAB_REQUIRE_BROWSER is set (as scripts/test does).
func NeedChromium(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a browser; skipped in -short mode")
	}
	path := ChromiumPath
	if p := os.Getenv("BACKLAB_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if os.Getenv("BACKLAB_REQUIRE_BROWSER") != "" {
		t.Fatalf("BACKLAB_REQUIRE_BROWSER is set but there is no browser at %s (apt-get install chromium)", path)
	}
	t.Skipf("no browser at %s; apt-get install chromium, or set BACKLAB_REQUIRE_BROWSER=1 to make this a failure", path)
	return ""
}

// BrowserProfile returns an empty folder for a browser's profile, removed
// when t ends. Chromium's helper processes may still write to it for a
// moment after the browser was stopped, so the removal retries for a few
// seconds instead of failing t the way t.TempDir's cleanup would.
func BrowserProfile(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "backlab-browser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var err error
		for range 50 {
			if err = os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("browser profile %s left behind: %v", dir, err)
	})
	return dir
}
