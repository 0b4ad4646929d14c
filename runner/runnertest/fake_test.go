package runnertest_test

import (
	"testing"
	"time"

	"github.com/backlab/backlab/runner/runnertest"
)

// TestFakeDriver holds the fake to the conformance suite's promises that
// need no isolation.
func TestFakeDriver(t *testing.T) {
	t.Parallel()
	runnertest.TestDriverBehaviour(t, runnertest.NewFakeDriver(), runnertest.Config{
		Image: runnertest.ConformanceImageRef, Instance: "fake", ProbeTimeout: 5 * time.Second,
	})
}
