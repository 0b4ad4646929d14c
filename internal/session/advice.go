package session

import (
	"context"
	"errors"
	"strings"

	"github.com/backlab/backlab/runner"
)

// plainError turns a start error into words for the page.
func plainError(err error) string {
	return "The sandbox did not start: " + err.Error()
}

// Advice says what a learner or admin can do about err.
func Advice(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Cannot connect to the Docker daemon") || strings.Contains(msg, "docker.sock") || strings.Contains(msg, "connection refused") && strings.Contains(msg, "docker"):
		return "The server cannot reach the Docker engine. Start it (bash scripts/engine.sh as root), then press Retry."
	case errors.Is(err, runner.ErrImageMissing) || strings.Contains(msg, "build "):
		return "Building the lab's images failed. Run `backlab images build labs/` on the server to see why, then press Retry."
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "not ready"):
		return "A service of the sandbox did not become ready in time. Press Retry; if it happens again, tell your instructor (the server log has the service's last lines)."
	default:
		return "Press Retry. If it fails again, tell your instructor; the server log has the details."
	}
}
