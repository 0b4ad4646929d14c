package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/backlab/backlab/runner"
)

// MaxJobBuffer bounds how much job output waits for a reader; what comes
// beyond it while nobody reads is dropped.
const MaxJobBuffer = 16 << 20

// RunJob starts a one-off container in the sandbox network with the same
// hardening as a service; see [runner.Sandbox.RunJob]. A job never runs as
// root.
func (s *Sandbox) RunJob(ctx context.Context, spec runner.JobSpec) (runner.Job, error) {
	if err := s.checkLive(); err != nil {
		return nil, fmt.Errorf("run job %s: %w", spec.Name, err)
	}
	if !runner.NamePattern.MatchString(spec.Name) {
		return nil, fmt.Errorf("run job %q: name must match %s", spec.Name, runner.NamePattern)
	}
	if spec.Image == "" {
		return nil, fmt.Errorf("run job %s: no image", spec.Name)
	}
	for _, m := range spec.Mounts {
		if !m.ReadOnly {
			return nil, fmt.Errorf("run job %s: mount of volume %s at %s must be read-only: jobs may not change the learner's files", spec.Name, m.Volume, m.Path)
		}
	}
	user, err := s.d.checkUser(ctx, spec.Image, spec.User, false)
	if err != nil {
		return nil, fmt.Errorf("run job %s: %w", spec.Name, err)
	}
	cfg, hc, nc, err := s.containerConfig(containerParams{
		name: spec.Name, role: RoleJob, image: spec.Image, cmd: spec.Command, env: spec.Env,
		user: user, mounts: spec.Mounts, limits: spec.Limits,
	})
	if err != nil {
		return nil, fmt.Errorf("run job %s: %w", spec.Name, err)
	}
	cfg.AttachStdout, cfg.AttachStderr = true, true
	cli := s.d.cli
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: JobContainerName(s.spec.SessionID, spec.Name), Config: cfg, HostConfig: hc, NetworkingConfig: nc,
	})
	if err != nil {
		return nil, fmt.Errorf("run job %s: create container: %w", spec.Name, err)
	}
	j := &job{d: s.d, id: created.ID, name: spec.Name, out: newStreamBuffer(MaxJobBuffer), done: make(chan struct{})}
	fail := func(err error) (runner.Job, error) {
		_ = j.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("run job %s: %w", spec.Name, err)
	}
	if spec.Files != nil {
		if _, err := cli.CopyToContainer(ctx, created.ID, client.CopyToContainerOptions{DestinationPath: "/", Content: spec.Files}); err != nil {
			return fail(fmt.Errorf("copy files: %w", err))
		}
	}
	// Attach before start so that no output is missed.
	att, err := cli.ContainerAttach(ctx, created.ID, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return fail(fmt.Errorf("attach: %w", err))
	}
	j.att = att.HijackedResponse
	go func() {
		defer close(j.done)
		err := demux(j.out, j.out, att.Reader)
		j.out.CloseWithError(err)
	}()
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return fail(fmt.Errorf("start: %w", err))
	}
	s.log.Debug("job started", "job", spec.Name, "container", created.ID[:12])
	return j, nil
}

// job is a running job container.
type job struct {
	d    *Driver
	id   string
	name string
	att  client.HijackedResponse
	out  *streamBuffer
	done chan struct{} // closed when the output stream ended

	closeOnce sync.Once
	closeErr  error
}

// Output returns the job's merged stdout and stderr as it is written.
func (j *job) Output() io.Reader { return j.out }

// Wait blocks until the job exits and returns its exit code.
func (j *job) Wait(ctx context.Context) (int, error) {
	res := j.d.cli.ContainerWait(ctx, j.id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case r := <-res.Result:
		if r.Error != nil && r.Error.Message != "" {
			return int(r.StatusCode), fmt.Errorf("wait for job %s: %s", j.name, r.Error.Message)
		}
		// Let the output reach its end before reporting the exit.
		select {
		case <-j.done:
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
		}
		return int(r.StatusCode), nil
	case err := <-res.Error:
		return -1, fmt.Errorf("wait for job %s: %w", j.name, err)
	}
}

// Close kills the job if it still runs and removes its container.
func (j *job) Close(ctx context.Context) error {
	j.closeOnce.Do(func() {
		if j.att.Conn != nil {
			j.att.Close()
		}
		_, err := j.d.cli.ContainerRemove(ctx, j.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
			j.closeErr = fmt.Errorf("close job %s: %w", j.name, err)
		}
		j.out.CloseWithError(nil)
	})
	return j.closeErr
}

// streamBuffer is an in-memory pipe whose writes never block: a job's
// output keeps flowing when nobody reads it (up to a limit).
type streamBuffer struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	max    int
	closed bool
	err    error
}

func newStreamBuffer(max int) *streamBuffer {
	b := &streamBuffer{max: max}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// Write appends p, dropping what does not fit.
func (b *streamBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, io.ErrClosedPipe
	}
	keep := p
	if room := b.max - len(b.buf); len(keep) > room {
		keep = keep[:max(room, 0)]
	}
	b.buf = append(b.buf, keep...)
	b.cond.Broadcast()
	return len(p), nil
}

// Read blocks until data is buffered or the stream ended.
func (b *streamBuffer) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.buf) == 0 && !b.closed {
		b.cond.Wait()
	}
	if len(b.buf) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		return 0, io.EOF
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	if len(b.buf) == 0 {
		b.buf = nil
	}
	return n, nil
}

// CloseWithError ends the stream; readers get err (io.EOF when nil) once
// the buffer is drained. Only the first call counts.
func (b *streamBuffer) CloseWithError(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	b.closed, b.err = true, err
	b.cond.Broadcast()
}
