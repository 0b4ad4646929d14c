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
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
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

// run execs cmd in service and fails t unless it exits 0.
func run(t *testing.T, sb runner.Sandbox, service string, cmd ...string) string {
	t.Helper()
	res, err := sb.Exec(t.Context(), service, runner.ExecOptions{Cmd: cmd})
	if err != nil {
		t.Fatalf("exec %q in %s: %v", cmd, service, err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("exec %q in %s: exit %d\nstdout: %s\nstderr: %s", cmd, service, res.ExitCode, res.Stdout, res.Stderr)
	}
	return string(res.Stdout)
}

func (s *suite) testExec(t *testing.T, sb runner.Sandbox) {
	tests := []struct {
		name       string
		service    string
		opts       runner.ExecOptions
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"stdout", "work", runner.ExecOptions{Cmd: []string{"echo", "out"}}, 0, "out\n", ""},
		{"stderr and exit code", "work", runner.ExecOptions{Cmd: []string{"bash", "-c", "echo err >&2; exit 3"}}, 3, "", "err\n"},
		{"stdin", "work", runner.ExecOptions{Cmd: []string{"cat"}, Stdin: strings.NewReader("typed\nlines\n")}, 0, "typed\nlines\n", ""},
		{"empty stdin", "work", runner.ExecOptions{Cmd: []string{"wc", "-c"}, Stdin: strings.NewReader("")}, 0, "0\n", ""},
		{"env", "work", runner.ExecOptions{Cmd: []string{"bash", "-c", "echo $FOO"}, Env: map[string]string{"FOO": "bar"}}, 0, "bar\n", ""},
		{"service env", "work", runner.ExecOptions{Cmd: []string{"printenv", "LAB_GREETING"}}, 0, "hi\n", ""},
		{"service workdir", "work", runner.ExecOptions{Cmd: []string{"pwd"}}, 0, "/data\n", ""},
		{"workdir", "work", runner.ExecOptions{Cmd: []string{"pwd"}, WorkDir: "/tmp"}, 0, "/tmp\n", ""},
		{"image user", "db", runner.ExecOptions{Cmd: []string{"id", "-u"}}, 0, "1000\n", ""},
		{"user", "db", runner.ExecOptions{Cmd: []string{"id", "-u"}, User: "4242"}, 0, "4242\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := sb.Exec(t.Context(), tt.service, tt.opts)
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if res.ExitCode != tt.wantCode || string(res.Stdout) != tt.wantStdout || string(res.Stderr) != tt.wantStderr {
				t.Errorf("Exec = (exit %d, stdout %q, stderr %q), want (exit %d, stdout %q, stderr %q)",
					res.ExitCode, res.Stdout, res.Stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
	t.Run("unknown service", func(t *testing.T) {
		_, err := sb.Exec(t.Context(), "nope", runner.ExecOptions{Cmd: []string{"true"}})
		if !errors.Is(err, runner.ErrNoService) {
			t.Errorf("Exec in unknown service: err = %v, want %v", err, runner.ErrNoService)
		}
	})
}

func (s *suite) testExecCap(t *testing.T, sb runner.Sandbox) {
	res, err := sb.Exec(t.Context(), "work", runner.ExecOptions{Cmd: []string{"bash", "-c",
		fmt.Sprintf("head -c %d /dev/zero; head -c 10 /dev/zero >&2", runner.MaxExecOutput+12345)}})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if got, want := len(res.Stdout), runner.MaxExecOutput; got != want {
		t.Errorf("len(Stdout) = %d, want %d", got, want)
	}
	if got, want := len(res.Stderr), 10; got != want {
		t.Errorf("len(Stderr) = %d, want %d", got, want)
	}
	if res.ExitCode != 0 {
		t.Errorf("exit code = %d, want 0", res.ExitCode)
	}
}

// screen collects what a terminal prints.
type screen struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	err  error
}

func newScreen(r io.Reader) *screen {
	sc := &screen{done: make(chan struct{})}
	go func() {
		defer close(sc.done)
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			sc.mu.Lock()
			sc.buf.Write(b[:n])
			sc.mu.Unlock()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					sc.err = err
				}
				return
			}
		}
	}()
	return sc
}

// waitFor returns the offset just past the first want printed after from.
// It fails t if want does not appear within a generous bound (a hang, not
// a speed assertion).
func (sc *screen) waitFor(t *testing.T, from int, want string) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sc.mu.Lock()
		text := sc.buf.String()
		sc.mu.Unlock()
		if i := strings.Index(text[min(from, len(text)):], want); i >= 0 {
			return from + i + len(want)
		}
		select {
		case <-sc.done:
			t.Fatalf("terminal ended (err %v) without printing %q; it printed %q", sc.err, want, text[min(from, len(text)):])
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("terminal did not print %q; it printed %q", want, text[min(from, len(text)):])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *suite) testAttach(t *testing.T, sb runner.Sandbox) {
	ctx := t.Context()
	term, err := sb.Attach(ctx, "work", runner.TTYOptions{Size: runner.TermSize{Cols: 100, Rows: 30}})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	defer term.Close()
	sc := newScreen(term)
	type step struct {
		name   string
		resize *runner.TermSize
		input  string
		want   []string // printed in this order
	}
	steps := []step{
		{name: "initial size", input: "stty size\n", want: []string{"30 100"}},
		{name: "resize", resize: &runner.TermSize{Cols: 132, Rows: 40}, input: "stty size\n", want: []string{"40 132"}},
		{name: "typed input echoed", input: "echo typed-$((6*7))\n", want: []string{"echo typed-$((6*7))", "typed-42"}},
		{name: "runs as the service user", input: "id -u\n", want: []string{"id -u", "1000"}},
	}
	pos := 0
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.resize != nil {
				if err := term.Resize(ctx, *st.resize); err != nil {
					t.Fatalf("Resize: %v", err)
				}
			}
			if _, err := io.WriteString(term, st.input); err != nil {
				t.Fatalf("write: %v", err)
			}
			for _, w := range st.want {
				pos = sc.waitFor(t, pos, w)
			}
		})
	}
	if _, err := io.WriteString(term, "exit 7\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	code, err := term.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if code != 7 {
		t.Errorf("Wait = %d, want 7", code)
	}
	if err := term.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	t.Run("unknown service", func(t *testing.T) {
		_, err := sb.Attach(ctx, "nope", runner.TTYOptions{})
		if !errors.Is(err, runner.ErrNoService) {
			t.Errorf("Attach to unknown service: err = %v, want %v", err, runner.ErrNoService)
		}
	})
}

// tarOf makes a tar stream of files (name → content), owned by uid 1000;
// names ending in "/" are directories.
func tarOf(t *testing.T, files ...string) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		name, data := files[i], files[i+1]
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Uid: 1000, Gid: 1000, ModTime: time.Now()}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func (s *suite) testCopyTo(t *testing.T, sb runner.Sandbox) {
	ctx := t.Context()
	err := sb.CopyTo(ctx, "work", "/tmp", tarOf(t, "copied/", "", "copied/hello.txt", "hello from the host\n"))
	if err != nil {
		t.Fatalf("CopyTo: %v", err)
	}
	if got, want := run(t, sb, "work", "cat", "/tmp/copied/hello.txt"), "hello from the host\n"; got != want {
		t.Errorf("copied file = %q, want %q", got, want)
	}
	if got, want := run(t, sb, "work", "stat", "-c", "%u", "/tmp/copied/hello.txt"), "1000\n"; got != want {
		t.Errorf("copied file owner = %q, want %q (as in the tar header)", got, want)
	}
	if err := sb.CopyTo(ctx, "nope", "/tmp", tarOf(t, "x", "y")); !errors.Is(err, runner.ErrNoService) {
		t.Errorf("CopyTo unknown service: err = %v, want %v", err, runner.ErrNoService)
	}
}

func (s *suite) testByName(t *testing.T, sb runner.Sandbox) {
	if got := run(t, sb, "work", "labtool", "dial", "db:5432"); !strings.Contains(got, "ok") {
		t.Errorf("dial db:5432 from work = %q, want ok", got)
	}
	if got, want := run(t, sb, "work", "labtool", "get", "http://api:8080/x"), "host=api path=/x"; !strings.Contains(got, want) {
		t.Errorf("GET http://api:8080/x from work = %q, want it to contain %q", got, want)
	}
	if got, want := run(t, sb, "db", "hostname"), "db\n"; got != want {
		t.Errorf("hostname of db = %q, want %q", got, want)
	}
}

func (s *suite) testVolume(t *testing.T, sb runner.Sandbox) {
	if got, want := run(t, sb, "work", "cat", "/data/seed.txt"), "seeded-by-image\n"; got != want {
		t.Errorf("seeded file in work = %q, want %q (the volume is filled from the image)", got, want)
	}
	run(t, sb, "work", "bash", "-c", "echo from-work > /data/shared.txt")
	for _, svc := range []string{"db", "api"} {
		if got, want := run(t, sb, svc, "cat", "/data/shared.txt"), "from-work\n"; got != want {
			t.Errorf("file written by work, read in %s = %q, want %q", svc, got, want)
		}
	}
	res, err := sb.Exec(t.Context(), "api", runner.ExecOptions{Cmd: []string{"touch", "/data/from-api"}})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if res.ExitCode == 0 {
		t.Errorf("api wrote to its read-only mount")
	}
}

func (s *suite) testNoEgress(t *testing.T, sb runner.Sandbox) {
	res, err := sb.Exec(t.Context(), "work", runner.ExecOptions{Cmd: []string{"labtool", "get", "-timeout", "5s", "http://deb.debian.org/debian/"}})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if res.ExitCode == 0 {
		t.Errorf("a sandbox without egress fetched http://deb.debian.org/debian/: %.200s", res.Stdout)
	}
	t.Logf("egress attempt failed as it should: %s", bytes.TrimSpace(res.Stderr))
}

// hostAddrs returns the non-loopback IPv4 addresses of this machine.
func hostAddrs(t *testing.T) []net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatalf("interface addresses: %v", err)
	}
	var out []net.IP
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.To4() == nil {
			continue
		}
		out = append(out, ipn.IP)
	}
	return out
}

func (s *suite) testNoHost(t *testing.T, sb runner.Sandbox) {
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	var accepted sync.WaitGroup
	accepted.Add(1)
	var conns []string
	var mu sync.Mutex
	go func() {
		defer accepted.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c.RemoteAddr().String())
			mu.Unlock()
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	ips := s.cfg.HostAddrs
	if ips == nil {
		ips = hostAddrs(t)
	}
	if len(ips) == 0 {
		t.Skip("this machine has no non-loopback IPv4 address to test")
	}
	cmd := []string{"labtool", "dial", "-timeout", "2s"}
	for _, ip := range ips {
		cmd = append(cmd, net.JoinHostPort(ip.String(), fmt.Sprint(port)))
	}
	res, err := sb.Exec(t.Context(), "work", runner.ExecOptions{Cmd: cmd})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
		addr, result, _ := strings.Cut(line, " ")
		if result == "ok" {
			t.Errorf("the sandbox reached the host at %s (a port the host listens on at 0.0.0.0)", addr)
		}
	}
	ln.Close()
	accepted.Wait()
	if len(conns) > 0 {
		t.Errorf("the host accepted connections from the sandbox: %v", conns)
	}
	t.Logf("dials to the host from the sandbox:\n%s", res.Stdout)
}

func (s *suite) testJobs(t *testing.T, sb runner.Sandbox) {
	tests := []struct {
		name     string
		spec     runner.JobSpec
		wantCode int
		want     []string // in the output
		notWant  []string
	}{
		{
			name: "output, files and exit code",
			spec: runner.JobSpec{
				Name:    "check",
				Image:   s.cfg.Image,
				Command: []string{"bash", "-c", "echo to-stdout; echo to-stderr >&2; cat /job/input.txt; labtool dial db:5432 >/dev/null && exit 4"},
				Env:     map[string]string{"X": "y"},
				Files:   tarOf(t, "job/", "", "job/input.txt", "from-files\n"),
			},
			wantCode: 4,
			want:     []string{"to-stdout\n", "to-stderr\n", "from-files\n"},
		},
		{
			name: "read-only mount",
			spec: runner.JobSpec{
				Name:    "reader",
				Image:   s.cfg.Image,
				Command: []string{"bash", "-c", "cat /data/seed.txt; touch /data/by-job 2>/dev/null && echo wrote; id -u"},
				Mounts:  []runner.Mount{{Volume: "data", Path: "/data", ReadOnly: true}},
			},
			wantCode: 0,
			want:     []string{"seeded-by-image\n", "1000\n"},
			notWant:  []string{"wrote"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			job, err := sb.RunJob(ctx, tt.spec)
			if err != nil {
				t.Fatalf("RunJob: %v", err)
			}
			t.Cleanup(func() {
				if err := job.Close(context.Background()); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			out, err := io.ReadAll(job.Output())
			if err != nil {
				t.Fatalf("read output: %v", err)
			}
			code, err := job.Wait(ctx)
			if err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if code != tt.wantCode {
				t.Errorf("Wait = %d, want %d (output %q)", code, tt.wantCode, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output %q lacks %q", out, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(string(out), w) {
					t.Errorf("output %q has %q", out, w)
				}
			}
		})
	}
	t.Run("writable mount refused", func(t *testing.T) {
		job, err := sb.RunJob(t.Context(), runner.JobSpec{
			Name: "writer", Image: s.cfg.Image, Command: []string{"true"},
			Mounts: []runner.Mount{{Volume: "data", Path: "/data"}},
		})
		if err == nil {
			job.Close(context.Background())
			t.Fatal("RunJob with a writable mount succeeded, want an error")
		}
	})
	t.Run("close kills a running job", func(t *testing.T) {
		job, err := sb.RunJob(t.Context(), runner.JobSpec{Name: "sleeper", Image: s.cfg.Image, Command: []string{"sleep", "infinity"}})
		if err != nil {
			t.Fatalf("RunJob: %v", err)
		}
		if err := job.Close(t.Context()); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := io.ReadAll(job.Output()); err != nil {
			t.Errorf("output after Close: %v", err)
		}
		// The name is free again once the job is gone.
		again, err := sb.RunJob(t.Context(), runner.JobSpec{Name: "sleeper", Image: s.cfg.Image, Command: []string{"true"}})
		if err != nil {
			t.Fatalf("RunJob after Close: %v", err)
		}
		again.Close(context.Background())
	})
}

func (s *suite) testRestart(t *testing.T, sb runner.Sandbox) {
	ctx := t.Context()
	before := run(t, sb, "work", "labtool", "get", "http://api:8080/")
	if err := sb.Restart(ctx, "api"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	after := run(t, sb, "work", "labtool", "get", "http://api:8080/")
	instance := func(s string) string { f, _, _ := strings.Cut(s, " "); return f }
	if instance(before) == instance(after) {
		t.Errorf("api answers as %q before and after Restart; want a new process", instance(after))
	}
	if err := sb.Restart(ctx, "nope"); !errors.Is(err, runner.ErrNoService) {
		t.Errorf("Restart unknown service: err = %v, want %v", err, runner.ErrNoService)
	}
}

func (s *suite) testIsolation(t *testing.T, a runner.Sandbox) {
	ctx := t.Context()
	spec := runner.SandboxSpec{
		SessionID: s.session(), LabID: "runnertest", Instance: s.cfg.Instance,
		Services: []runner.ServiceSpec{{
			Name: "db", Image: s.cfg.Image,
			Command:   []string{"labtool", "serve", "-tcp", ":5432"},
			Readiness: s.probe(runner.ProbeTCP, 5432, ""),
		}},
	}
	b, err := s.d.Start(ctx, spec, nil)
	s.cleanup(t, b)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	ipOf := func(sb runner.Sandbox) string {
		return strings.Fields(run(t, sb, "db", "hostname", "-i"))[0]
	}
	aDB, bDB := ipOf(a), ipOf(b)
	tests := []struct {
		name   string
		from   runner.Sandbox
		target string
		wantOK bool
	}{
		{"own service by address", a, aDB + ":5432", true},
		{"other sandbox by address", a, bDB + ":5432", false},
		{"other sandbox by address, reverse", b, aDB + ":5432", false},
		{"other sandbox's service name", b, "api:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := "work"
			if tt.from == b {
				svc = "db"
			}
			res, err := tt.from.Exec(ctx, svc, runner.ExecOptions{Cmd: []string{"labtool", "dial", "-timeout", "2s", tt.target}})
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if got := res.ExitCode == 0; got != tt.wantOK {
				t.Errorf("dial %s: connected = %v, want %v (%s)", tt.target, got, tt.wantOK, bytes.TrimSpace(res.Stdout))
			}
		})
	}
}

func (s *suite) listed(t *testing.T, session string) bool {
	t.Helper()
	infos, err := s.d.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, info := range infos {
		if info.SessionID == session {
			return true
		}
	}
	return false
}

func (s *suite) testStartFailures(t *testing.T) {
	img := s.cfg.Image
	ok := runner.ServiceSpec{Name: "ok", Image: img, Command: []string{"sleep", "infinity"}}
	tests := []struct {
		name     string
		services []runner.ServiceSpec
		want     []string // in the error
	}{
		{
			name: "exits before ready",
			services: []runner.ServiceSpec{ok, {
				Name: "crash", Image: img, Command: []string{"bash", "-c", "echo boom-before-ready; exit 3"},
				Readiness: s.probe(runner.ProbeTCP, 1234, ""),
			}},
			want: []string{"crash", "3", "boom-before-ready"},
		},
		{
			name: "probe times out",
			services: []runner.ServiceSpec{{
				Name: "slow", Image: img, Command: []string{"bash", "-c", "echo waiting-forever; exec sleep infinity"},
				Readiness: &runner.Probe{Kind: runner.ProbeTCP, Port: 1234, Timeout: time.Second},
			}},
			want: []string{"slow", "waiting-forever"},
		},
		{
			name: "exec probe fails until timeout",
			services: []runner.ServiceSpec{{
				Name: "never", Image: img, Command: []string{"sleep", "infinity"},
				Readiness: &runner.Probe{Kind: runner.ProbeExec, Command: []string{"false"}, Timeout: time.Second},
			}},
			want: []string{"never"},
		},
		{
			name:     "explicit root user",
			services: []runner.ServiceSpec{{Name: "root", Image: img, User: "root", Command: []string{"sleep", "infinity"}}},
			want:     []string{"root"},
		},
		{
			name:     "uid 0",
			services: []runner.ServiceSpec{{Name: "uid0", Image: img, User: "0:0", Command: []string{"sleep", "infinity"}}},
			want:     []string{"root"},
		},
		{
			name:     "invalid spec",
			services: []runner.ServiceSpec{{Name: "Bad_Name", Image: img}},
			want:     []string{"Bad_Name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := runner.SandboxSpec{SessionID: s.session(), LabID: "runnertest", Instance: s.cfg.Instance, Services: tt.services}
			sb, err := s.d.Start(t.Context(), spec, nil)
			s.cleanup(t, sb)
			if err == nil {
				t.Fatal("Start succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Start error %q does not mention %q", err, w)
				}
			}
			if s.listed(t, spec.SessionID) {
				t.Errorf("resources of the failed sandbox %s are left on the engine", spec.SessionID)
			}
		})
	}
	t.Run("sandbox stays usable with AllowRoot", func(t *testing.T) {
		spec := runner.SandboxSpec{SessionID: s.session(), LabID: "runnertest", Instance: s.cfg.Instance,
			Services: []runner.ServiceSpec{{Name: "admin", Image: img, User: "0", AllowRoot: true, Command: []string{"sleep", "infinity"}}}}
		sb, err := s.d.Start(t.Context(), spec, nil)
		s.cleanup(t, sb)
		if err != nil {
			t.Fatalf("Start with AllowRoot: %v", err)
		}
		if got, want := run(t, sb, "admin", "id", "-u"), "0\n"; got != want {
			t.Errorf("id -u = %q, want %q", got, want)
		}
		// Root without capabilities cannot take another user's files.
		res, err := sb.Exec(t.Context(), "admin", runner.ExecOptions{Cmd: []string{"chown", "1000", "/etc/hostname"}})
		if err != nil {
			t.Fatalf("Exec: %v", err)
		}
		if res.ExitCode == 0 {
			t.Errorf("chown as capability-less root succeeded; want all capabilities dropped")
		}
	})
}

func (s *suite) testReap(t *testing.T, live runner.Sandbox) {
	ctx := t.Context()
	orphan := s.cfg.Instance + "-orphan"
	spec := runner.SandboxSpec{
		SessionID: s.session(), LabID: "runnertest", Instance: orphan,
		Volumes: []string{"v"},
		Services: []runner.ServiceSpec{{
			Name: "left", Image: s.cfg.Image, Command: []string{"sleep", "infinity"},
			Mounts: []runner.Mount{{Volume: "v", Path: "/data"}},
		}},
	}
	sb, err := s.d.Start(ctx, spec, nil)
	s.cleanup(t, sb)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if !s.listed(t, spec.SessionID) {
		t.Fatalf("List lacks running sandbox %s", spec.SessionID)
	}
	reaped, err := s.d.Reap(ctx, func(info runner.SandboxInfo) bool { return info.Instance != orphan })
	if err != nil {
		t.Fatalf("Reap: %v", err)
	}
	want := []runner.SandboxInfo{{SessionID: spec.SessionID, LabID: "runnertest", Instance: orphan}}
	if !slices.Equal(reaped, want) {
		t.Errorf("Reap = %+v, want %+v", reaped, want)
	}
	if s.listed(t, spec.SessionID) {
		t.Errorf("List still has reaped sandbox %s", spec.SessionID)
	}
	if !s.listed(t, live.ID()) {
		t.Errorf("Reap removed kept sandbox %s", live.ID())
	}
	run(t, live, "work", "true")
}

func (s *suite) testStop(t *testing.T, sb runner.Sandbox) {
	ctx := t.Context()
	if err := sb.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if s.listed(t, sb.ID()) {
		t.Errorf("List has sandbox %s after Stop", sb.ID())
	}
	if err := sb.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := sb.Exec(ctx, "work", runner.ExecOptions{Cmd: []string{"true"}}); !errors.Is(err, runner.ErrStopped) {
		t.Errorf("Exec after Stop: err = %v, want %v", err, runner.ErrStopped)
	}
	if _, err := sb.RunJob(ctx, runner.JobSpec{Name: "late", Image: s.cfg.Image}); !errors.Is(err, runner.ErrStopped) {
		t.Errorf("RunJob after Stop: err = %v, want %v", err, runner.ErrStopped)
	}
}
