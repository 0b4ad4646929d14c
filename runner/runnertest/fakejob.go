package runnertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/backlab/backlab/runner"
)

// fakeJob is a job of a fake sandbox.
type fakeJob struct {
	sb     *fakeSandbox
	name   string
	out    *stream
	cancel context.CancelFunc
	done   chan struct{}
	code   int

	closeOnce sync.Once
}

// RunJob starts a job: a script registered for its image with
// [FakeDriver.SetJob], or else its command in the fake's shell.
func (sb *fakeSandbox) RunJob(ctx context.Context, spec runner.JobSpec) (runner.Job, error) {
	if !runner.NamePattern.MatchString(spec.Name) {
		return nil, fmt.Errorf("job name %q: must match %s", spec.Name, runner.NamePattern)
	}
	for _, m := range spec.Mounts {
		if !m.ReadOnly {
			return nil, fmt.Errorf("job %s: the mount of volume %s at %s must be read-only", spec.Name, m.Volume, m.Path)
		}
		if _, ok := sb.volumes[m.Volume]; !ok {
			return nil, fmt.Errorf("job %s: no volume %q in the sandbox", spec.Name, m.Volume)
		}
	}
	img, err := sb.d.image(spec.Image)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", spec.Name, err)
	}
	if uid, _, err := img.resolveUser(orDefault(spec.User, img.User)); err != nil || uid == 0 {
		return nil, fmt.Errorf("job %s: refusing to run as root (or an unknown user): give the image a non-root USER", spec.Name)
	}
	jctx, cancel := context.WithCancel(sb.ctx)
	j := &fakeJob{sb: sb, name: spec.Name, out: newStream(), cancel: cancel, done: make(chan struct{})}
	sb.mu.Lock()
	switch {
	case sb.stopped:
		err = runner.ErrStopped
	case sb.jobs[spec.Name] != nil:
		err = fmt.Errorf("job %s: the name is in use", spec.Name)
	default:
		sb.jobs[spec.Name] = j
	}
	sb.mu.Unlock()
	if err != nil {
		cancel()
		return nil, err
	}
	ctr := sb.newContainer(spec.Name, img, spec.Mounts, spec.User, "", spec.Env)
	if spec.Files != nil {
		if err := ctr.view.extractTar("/", spec.Files); err != nil {
			j.fail(err)
			return nil, fmt.Errorf("job %s: files: %w", spec.Name, err)
		}
	}
	sb.d.mu.Lock()
	script := sb.d.jobs[spec.Image]
	sb.d.mu.Unlock()
	p, err := ctr.proc("", "", nil)
	if err != nil {
		j.fail(err)
		return nil, fmt.Errorf("job %s: %w", spec.Name, err)
	}
	p.Args, p.Stdout, p.Stderr = spec.Command, j.out, j.out
	if len(p.Args) == 0 {
		p.Args = img.Command
	}
	go func() {
		defer close(j.done)
		if script != nil {
			j.code = script(jctx, p)
		} else {
			j.code = ctr.run(jctx, p)
		}
		sb.net.clear(spec.Name)
		j.out.close()
	}()
	return j, nil
}

// fail ends a job that could not start.
func (j *fakeJob) fail(err error) {
	j.code = -1
	j.out.close()
	close(j.done)
	_ = j.Close(context.Background())
}

// Output returns the job's output, stdout and stderr merged.
func (j *fakeJob) Output() io.Reader { return j.out.reader() }

// Wait blocks until the job exits and returns its exit code.
func (j *fakeJob) Wait(ctx context.Context) (int, error) {
	select {
	case <-j.done:
		return j.code, nil
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// Close kills the job if it still runs and frees its name.
func (j *fakeJob) Close(ctx context.Context) error {
	j.closeOnce.Do(func() {
		j.cancel()
		<-j.done
		j.sb.mu.Lock()
		if j.sb.jobs[j.name] == j {
			delete(j.sb.jobs, j.name)
		}
		j.sb.mu.Unlock()
	})
	return nil
}

// stream is output that is written once and read as it grows.
type stream struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	closed bool
}

func newStream() *stream {
	s := &stream{}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, io.ErrClosedPipe
	}
	s.buf = append(s.buf, p...)
	s.cond.Broadcast()
	return len(p), nil
}

func (s *stream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.cond.Broadcast()
}

// reader reads the stream from its start.
func (s *stream) reader() io.Reader { return &streamReader{s: s} }

type streamReader struct {
	s   *stream
	off int
}

func (r *streamReader) Read(p []byte) (int, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for r.off == len(s.buf) && !s.closed {
		s.cond.Wait()
	}
	if r.off == len(s.buf) {
		return 0, io.EOF
	}
	n := copy(p, s.buf[r.off:])
	r.off += n
	return n, nil
}

// Step is one step a scripted checker reports (see [CheckerScript]).
type Step struct {
	ID string
	// Failed makes the step fail with Message and Hint.
	Failed        bool
	Message, Hint string
}

// CheckerScript returns a job script that reports steps as a lab's
// checker does, one JSON event a line: step.started, then step.passed
// or step.failed, for each step in order. It exits 1 when a step failed,
// else 0.
func CheckerScript(steps ...Step) Command {
	return func(ctx context.Context, p *Proc) int {
		enc := json.NewEncoder(p.Stdout)
		code := 0
		for _, st := range steps {
			if ctx.Err() != nil {
				return 143
			}
			_ = enc.Encode(runner.Event{Type: runner.EventStepStarted, Step: st.ID})
			ev := runner.Event{Type: runner.EventStepPassed, Step: st.ID, Message: st.Message}
			if st.Failed {
				ev.Type, ev.Hint, code = runner.EventStepFailed, st.Hint, 1
			}
			_ = enc.Encode(ev)
		}
		return code
	}
}
