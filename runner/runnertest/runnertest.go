// Package runnertest is the conformance suite every [runner.Driver] must
// pass: [TestDriver] starts real sandboxes on the driver's engine and checks
// what the runner package promises (readiness order, exec, TTY attach,
// copying, restarts, jobs, isolation, no egress, clean stops and reaping).
// [TestDriverBehaviour] checks the same promises except those about
// isolation, which only a real engine can keep.
//
// The suite needs an image built from [ImageContext] (labtool, bash,
// coreutils and a non-root user); an engine-specific test builds it and
// passes its reference in [Config.Image].
//
// [FakeDriver] is a driver without an engine, for tests that need "a
// sandbox" but not isolation: it passes [TestDriverBehaviour].
package runnertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/backlab/backlab/runner"
)

// Config describes the environment of a driver under test.
type Config struct {
	// Image is the test image built from [ImageContext]: labtool at
	// /usr/local/bin/labtool, bash and coreutils, /data/seed.txt, and a
	// non-root default user with uid 1000.
	Image string
	// Instance is SandboxSpec.Instance of every sandbox the suite starts.
	// The Reap test uses Instance+"-orphan" for the sandbox it abandons.
	// Make it unique to the test process: other tests may share the engine.
	Instance string
	// SessionPrefix starts every session id; empty: "rt".
	SessionPrefix string
	// ProbeTimeout bounds each readiness wait; zero: 30s.
	ProbeTimeout time.Duration
	// HostAddrs are the host addresses no sandbox may reach. Nil: every
	// non-loopback IPv4 address of this machine (the engine's host, when
	// the suite runs on it), read after the sandboxes started so that it
	// includes their gateways.
	HostAddrs []net.IP
}

// TestDriver runs the conformance suite against d.
func TestDriver(t *testing.T, d runner.Driver, cfg Config) {
	testDriver(t, d, cfg, true)
}

// TestDriverBehaviour runs the conformance suite against d without the
// parts about isolation (no egress, no access to the host, sandboxes
// apart from each other): readiness order, exec, attach, copying, volumes,
// jobs, restarts, start failures, reaping and stopping.
func TestDriverBehaviour(t *testing.T, d runner.Driver, cfg Config) {
	testDriver(t, d, cfg, false)
}

// testDriver runs the suite; isolation adds the parts about isolation.
func testDriver(t *testing.T, d runner.Driver, cfg Config, isolation bool) {
	if cfg.Image == "" || cfg.Instance == "" {
		t.Fatal("runnertest: Config.Image and Config.Instance are required")
	}
	if cfg.SessionPrefix == "" {
		cfg.SessionPrefix = "rt"
	}
	if cfg.ProbeTimeout == 0 {
		cfg.ProbeTimeout = 30 * time.Second
	}
	s := &suite{d: d, cfg: cfg}
	ctx := t.Context()

	var events []runner.Event
	var evMu sync.Mutex
	spec := s.mainSpec()
	sb, err := d.Start(ctx, spec, func(e runner.Event) {
		evMu.Lock()
		events = append(events, e)
		evMu.Unlock()
	})
	s.cleanup(t, sb)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if got, want := sb.ID(), spec.SessionID; got != want {
		t.Errorf("ID() = %q, want %q", got, want)
	}

	t.Run("StartOrder", func(t *testing.T) {
		evMu.Lock()
		defer evMu.Unlock()
		var got []string
		for _, e := range events {
			got = append(got, string(e.Type)+" "+e.Service)
		}
		want := []string{
			"service.starting db", "service.ready db",
			"service.starting api", "service.ready api",
			"service.starting work", "service.ready work",
			"sandbox.ready ",
		}
		if !slices.Equal(got, want) {
			t.Errorf("events = %q, want %q", got, want)
		}
	})
	t.Run("Exec", func(t *testing.T) { s.testExec(t, sb) })
	t.Run("ExecOutputCap", func(t *testing.T) { s.testExecCap(t, sb) })
	t.Run("Attach", func(t *testing.T) { s.testAttach(t, sb) })
	t.Run("CopyTo", func(t *testing.T) { s.testCopyTo(t, sb) })
	t.Run("ServicesByName", func(t *testing.T) { s.testByName(t, sb) })
	t.Run("SharedVolume", func(t *testing.T) { s.testVolume(t, sb) })
	if isolation {
		t.Run("NoEgress", func(t *testing.T) { s.testNoEgress(t, sb) })
		t.Run("NoHostAccess", func(t *testing.T) { s.testNoHost(t, sb) })
	}
	t.Run("RunJob", func(t *testing.T) { s.testJobs(t, sb) })
	t.Run("Restart", func(t *testing.T) { s.testRestart(t, sb) })
	if isolation {
		t.Run("Isolation", func(t *testing.T) { s.testIsolation(t, sb) })
	}
	t.Run("StartFailures", func(t *testing.T) { s.testStartFailures(t) })
	t.Run("Reap", func(t *testing.T) { s.testReap(t, sb) })
	t.Run("Stop", func(t *testing.T) { s.testStop(t, sb) })
}

type suite struct {
	d   runner.Driver
	cfg Config
}

func (s *suite) session() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return s.cfg.SessionPrefix + "-" + hex.EncodeToString(b[:])
}

// cleanup stops sb when the test ends, whatever happened.
func (s *suite) cleanup(t *testing.T, sb runner.Sandbox) {
	t.Helper()
	if sb == nil {
		return
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := sb.Stop(ctx); err != nil {
			t.Errorf("cleanup: Stop %s: %v", sb.ID(), err)
		}
	})
}

func (s *suite) probe(kind runner.ProbeKind, port int, path string, cmd ...string) *runner.Probe {
	return &runner.Probe{Kind: kind, Port: port, Path: path, Command: cmd, Timeout: s.cfg.ProbeTimeout}
}

// mainSpec is the sandbox most tests share: db (TCP probe), api (HTTP probe,
// refuses to start unless db answers), work (exec probe, refuses to start
// unless api answers), one volume mounted by all three.
func (s *suite) mainSpec() runner.SandboxSpec {
	img := s.cfg.Image
	return runner.SandboxSpec{
		SessionID: s.session(),
		LabID:     "runnertest",
		Instance:  s.cfg.Instance,
		Volumes:   []string{"data"},
		Services: []runner.ServiceSpec{
			{
				Name:      "db",
				Image:     img,
				Command:   []string{"labtool", "serve", "-tcp", ":5432", "-delay", "300ms"},
				Mounts:    []runner.Mount{{Volume: "data", Path: "/data"}},
				Readiness: s.probe(runner.ProbeTCP, 5432, ""),
			},
			{
				Name:      "api",
				Image:     img,
				Command:   []string{"labtool", "serve", "-require", "db:5432", "-http", ":8080", "-delay", "300ms"},
				Mounts:    []runner.Mount{{Volume: "data", Path: "/data", ReadOnly: true}},
				Readiness: s.probe(runner.ProbeHTTP, 8080, "/healthz"),
			},
			{
				Name:  "work",
				Image: img,
				Command: []string{"bash", "-c",
					"labtool dial api:8080 || exit 1; sleep 0.3; touch /tmp/ready; exec sleep infinity"},
				Env:       map[string]string{"LAB_GREETING": "hi"},
				WorkDir:   "/data",
				Mounts:    []runner.Mount{{Volume: "data", Path: "/data"}},
				Readiness: s.probe(runner.ProbeExec, 0, "", "test", "-f", "/tmp/ready"),
			},
		},
	}
}
