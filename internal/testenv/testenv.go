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
