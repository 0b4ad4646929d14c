package runnertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"sync"
	"time"

	"github.com/backlab/backlab/runner"
)

// fakeSandbox is a sandbox of a [FakeDriver].
type fakeSandbox struct {
	d       *FakeDriver
	spec    runner.SandboxSpec
	info    runner.SandboxInfo
	ctx     context.Context // ends at Stop: every process of the sandbox ends with it
	cancel  context.CancelFunc
	net     *network
	volumes map[string]*memFS // filled before the first service starts

	mu       sync.Mutex
	stopped  bool
	services map[string]*service
	order    []string
	jobs     map[string]*fakeJob
}

// container is where a fake process runs: a service or a job.
type container struct {
	sb      *fakeSandbox
	name    string // host name
	image   FakeImage
	view    *view
	user    string // default user
	workDir string
	env     map[string]string
}

func (c *container) userName(id int) string { return c.image.userName(id) }

// proc prepares a process as user in dir (empty: the container's) with
// env on top of the container's environment.
func (c *container) proc(user, dir string, env map[string]string) (*Proc, error) {
	uid, gid, err := c.image.resolveUser(orDefault(user, c.user))
	if err != nil {
		return nil, err
	}
	home := "/"
	if uid == 0 {
		home = "/root"
	} else if name := c.userName(uid); name != fmt.Sprint(uid) {
		home = "/home/" + name
	}
	e := map[string]string{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME": c.name, "HOME": home}
	maps.Copy(e, c.env)
	maps.Copy(e, env)
	return &Proc{Dir: orDefault(orDefault(dir, c.workDir), "/"), Env: e, UID: uid, GID: gid, ctr: c}, nil
}

// newContainer makes a container of img named name with mounts.
func (sb *fakeSandbox) newContainer(name string, img FakeImage, mounts []runner.Mount, user, workDir string, env map[string]string) *container {
	root := img.tree()
	_ = root.writeFile("/etc/hostname", []byte(name+"\n"), 0o644, 0, 0)
	var mps []mountPoint
	for _, m := range mounts {
		mps = append(mps, mountPoint{path: m.Path, fs: sb.volumes[m.Volume], readOnly: m.ReadOnly})
	}
	merged := maps.Clone(img.Env)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, env)
	sb.net.addrOf(name)
	return &container{sb: sb, name: name, image: img, view: newView(root, mps),
		user: orDefault(user, img.User), workDir: orDefault(workDir, img.WorkDir), env: merged}
}

// service is a service of a fake sandbox and its main process.
type service struct {
	spec runner.ServiceSpec
	ctr  *container

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	code   int
	log    *tail
}

func (sb *fakeSandbox) newService(spec runner.ServiceSpec, img FakeImage) *service {
	return &service{spec: spec, ctr: sb.newContainer(spec.Name, img, spec.Mounts, spec.User, spec.WorkDir, spec.Env)}
}

// start runs the service's command in the background.
func (s *service) start() {
	ctx, cancel := context.WithCancel(s.ctr.sb.ctx)
	done, log := make(chan struct{}), &tail{}
	s.mu.Lock()
	s.cancel, s.done, s.log = cancel, done, log
	s.mu.Unlock()
	cmd := s.spec.Command
	if len(cmd) == 0 {
		cmd = s.ctr.image.Command
	}
	if len(cmd) == 0 {
		cmd = []string{"sleep", "infinity"}
	}
	go func() {
		defer close(done)
		code := 126
		if p, err := s.ctr.proc("", "", nil); err != nil {
			fmt.Fprintln(log, err)
		} else {
			p.Args, p.Stdout, p.Stderr = cmd, log, log
			code = s.ctr.run(ctx, p)
		}
		s.ctr.sb.net.clear(s.ctr.name)
		s.mu.Lock()
		s.code = code
		s.mu.Unlock()
	}()
}

// stop ends the service's process and waits for it.
func (s *service) stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// waitReady waits for the service's readiness probe (none: running).
func (s *service) waitReady(ctx context.Context) error {
	s.mu.Lock()
	done, log := s.done, s.log
	s.mu.Unlock()
	probe := s.spec.Readiness
	timeout := runner.DefaultProbeTimeout
	if probe != nil && probe.Timeout > 0 {
		timeout = probe.Timeout
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			s.mu.Lock()
			code := s.code
			s.mu.Unlock()
			return fmt.Errorf("service %s exited with code %d before it was ready; its last output:\n%s", s.spec.Name, code, log.String())
		default:
		}
		if s.probe(ctx, probe) {
			return nil
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return fmt.Errorf("service %s not ready after %s; its last output:\n%s", s.spec.Name, timeout, log.String())
		case <-ctx.Done():
			return fmt.Errorf("service %s not ready: %w", s.spec.Name, ctx.Err())
		}
	}
}

// probe tells whether the service passes its readiness probe now.
func (s *service) probe(ctx context.Context, probe *runner.Probe) bool {
	if probe == nil {
		return true
	}
	n := s.ctr.sb.net
	switch probe.Kind {
	case runner.ProbeTCP:
		_, err := n.lookup(s.ctr.name, fmt.Sprintf("localhost:%d", probe.Port))
		return err == nil
	case runner.ProbeHTTP:
		l, err := n.lookup(s.ctr.name, fmt.Sprintf("localhost:%d", probe.Port))
		if err != nil || l.handler == nil {
			return false
		}
		status, _ := l.handler("GET", probe.Path)
		return status < 500
	case runner.ProbeExec:
		p, err := s.ctr.proc("", "", nil)
		if err != nil {
			return false
		}
		p.Args = probe.Command
		return s.ctr.run(ctx, p) == 0
	}
	return false
}

// tail keeps the last output of a process (for start errors).
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 4 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*tailSize {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf[max(0, len(t.buf)-tailSize):]))
}

// ID returns the session id.
func (sb *fakeSandbox) ID() string { return sb.spec.SessionID }

// service returns a service of a running sandbox.
func (sb *fakeSandbox) service(name string) (*service, error) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.stopped {
		return nil, runner.ErrStopped
	}
	svc, ok := sb.services[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", runner.ErrNoService, name)
	}
	return svc, nil
}

// bind returns a context that also ends when the sandbox stops.
func (sb *fakeSandbox) bind(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(sb.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// Exec runs a command in a service.
func (sb *fakeSandbox) Exec(ctx context.Context, service string, opts runner.ExecOptions) (runner.ExecResult, error) {
	svc, err := sb.service(service)
	if err != nil {
		return runner.ExecResult{}, err
	}
	p, err := svc.ctr.proc(opts.User, opts.WorkDir, opts.Env)
	if err != nil {
		return runner.ExecResult{}, fmt.Errorf("exec in %s: %w", service, err)
	}
	ctx, cancel := sb.bind(ctx)
	defer cancel()
	var stdout, stderr capped
	p.Args, p.Stdin, p.Stdout, p.Stderr = opts.Cmd, opts.Stdin, &stdout, &stderr
	code := svc.ctr.run(ctx, p)
	if sb.ctx.Err() != nil {
		return runner.ExecResult{}, runner.ErrStopped
	}
	if err := ctx.Err(); err != nil {
		return runner.ExecResult{}, fmt.Errorf("exec in %s: %w", service, err)
	}
	return runner.ExecResult{ExitCode: code, Stdout: stdout.bytes(), Stderr: stderr.bytes()}, nil
}

// capped keeps the first [runner.MaxExecOutput] bytes written to it.
type capped struct {
	mu  sync.Mutex
	buf []byte
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p[:min(len(p), runner.MaxExecOutput-len(c.buf))]...)
	return len(p), nil
}

func (c *capped) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.buf...)
}

// CopyTo extracts a tar stream into dir of a service.
func (sb *fakeSandbox) CopyTo(ctx context.Context, service, dir string, tar io.Reader) error {
	svc, err := sb.service(service)
	if err != nil {
		return err
	}
	if err := svc.ctr.view.extractTar(dir, tar); err != nil {
		return fmt.Errorf("copy to %s:%s: %w", service, dir, err)
	}
	return nil
}

// Restart ends a service's process, starts it again and waits for its
// readiness probe.
func (sb *fakeSandbox) Restart(ctx context.Context, service string) error {
	svc, err := sb.service(service)
	if err != nil {
		return err
	}
	svc.stop()
	svc.start()
	if err := svc.waitReady(ctx); err != nil {
		return fmt.Errorf("restart %s: %w", service, err)
	}
	return nil
}

// Stop ends every process of the sandbox and forgets it.
func (sb *fakeSandbox) Stop(ctx context.Context) error {
	sb.mu.Lock()
	if sb.stopped {
		sb.mu.Unlock()
		return nil
	}
	sb.stopped = true
	services := make([]*service, 0, len(sb.services))
	for _, s := range sb.services {
		services = append(services, s)
	}
	jobs := make([]*fakeJob, 0, len(sb.jobs))
	for _, j := range sb.jobs {
		jobs = append(jobs, j)
	}
	sb.mu.Unlock()
	sb.cancel()
	for _, s := range services {
		s.stop()
	}
	for _, j := range jobs {
		<-j.done
	}
	sb.d.mu.Lock()
	if sb.d.sandboxes[sb.spec.SessionID] == sb {
		delete(sb.d.sandboxes, sb.spec.SessionID)
	}
	sb.d.mu.Unlock()
	return nil
}
