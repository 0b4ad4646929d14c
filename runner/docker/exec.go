package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/backlab/backlab/runner"
)

// DefaultShell is what Attach runs when TTYOptions.Cmd is empty.
var DefaultShell = []string{"bash", "-l"}

// Exec runs a command in a service without a TTY; see [runner.Sandbox.Exec].
func (s *Sandbox) Exec(ctx context.Context, name string, opts runner.ExecOptions) (runner.ExecResult, error) {
	svc, err := s.service(name)
	if err != nil {
		return runner.ExecResult{}, fmt.Errorf("exec in %s: %w", name, err)
	}
	res, err := s.exec(ctx, svc, opts, runner.MaxExecOutput)
	if err != nil {
		return res, fmt.Errorf("exec in %s: %w", name, err)
	}
	return res, nil
}

// exec runs opts in svc and keeps up to max bytes of each stream.
func (s *Sandbox) exec(ctx context.Context, svc *service, opts runner.ExecOptions, max int) (runner.ExecResult, error) {
	if len(opts.Cmd) == 0 {
		return runner.ExecResult{}, errors.New("no command")
	}
	cli := s.d.cli
	created, err := cli.ExecCreate(ctx, svc.id, client.ExecCreateOptions{
		User:         opts.User,
		WorkingDir:   opts.WorkDir,
		Env:          envList(opts.Env),
		Cmd:          opts.Cmd,
		AttachStdin:  opts.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return runner.ExecResult{}, fmt.Errorf("create exec: %w", err)
	}
	att, err := cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return runner.ExecResult{}, fmt.Errorf("attach exec: %w", err)
	}
	defer att.Close()
	// Unblock the reads below when ctx ends.
	stop := context.AfterFunc(ctx, func() { att.Conn.Close() })
	defer stop()

	if opts.Stdin != nil {
		go func() {
			_, _ = io.Copy(att.Conn, opts.Stdin)
			_ = att.CloseWrite()
		}()
	}
	var stdout, stderr bytes.Buffer
	outW := &capWriter{max: max, buf: &stdout}
	errW := &capWriter{max: max, buf: &stderr}
	if err := demux(outW, errW, att.Reader); err != nil && ctx.Err() == nil {
		return runner.ExecResult{}, fmt.Errorf("read exec output: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return runner.ExecResult{}, err
	}
	code, err := s.d.waitExec(ctx, created.ID, 20*time.Millisecond)
	if err != nil {
		return runner.ExecResult{}, err
	}
	return runner.ExecResult{ExitCode: code, Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, nil
}

// waitExec polls an exec until it no longer runs and returns its exit code.
func (d *Driver) waitExec(ctx context.Context, id string, every time.Duration) (int, error) {
	for {
		ins, err := d.cli.ExecInspect(ctx, id, client.ExecInspectOptions{})
		if err != nil {
			return -1, fmt.Errorf("inspect exec: %w", err)
		}
		if !ins.Running {
			return ins.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(every):
		}
	}
}

// demux splits a multiplexed stdout/stderr stream.
func demux(stdout, stderr io.Writer, r io.Reader) error {
	_, err := stdcopy.StdCopy(stdout, stderr, r)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// capWriter keeps the first max bytes written and drops the rest, while
// reporting every write as complete so the stream keeps flowing.
type capWriter struct {
	max int
	buf interface {
		io.Writer
		Len() int
	}
	mu sync.Mutex
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - w.buf.Len(); room > 0 {
		keep := p
		if len(keep) > room {
			keep = keep[:room]
		}
		_, _ = w.buf.Write(keep)
	}
	return len(p), nil
}

// Attach starts a command with a TTY in a service; see
// [runner.Sandbox.Attach].
func (s *Sandbox) Attach(ctx context.Context, name string, opts runner.TTYOptions) (runner.Terminal, error) {
	svc, err := s.service(name)
	if err != nil {
		return nil, fmt.Errorf("attach to %s: %w", name, err)
	}
	cmd := opts.Cmd
	if len(cmd) == 0 {
		cmd = DefaultShell
	}
	env := opts.Env
	if _, ok := env["TERM"]; !ok {
		env = make(map[string]string, len(opts.Env)+1)
		for k, v := range opts.Env {
			env[k] = v
		}
		env["TERM"] = "xterm-256color"
	}
	size := client.ConsoleSize{Height: uint(opts.Size.Rows), Width: uint(opts.Size.Cols)}
	created, err := s.d.cli.ExecCreate(ctx, svc.id, client.ExecCreateOptions{
		User:         opts.User,
		WorkingDir:   opts.WorkDir,
		Env:          envList(env),
		Cmd:          cmd,
		TTY:          true,
		ConsoleSize:  size,
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return nil, fmt.Errorf("attach to %s: create exec: %w", name, err)
	}
	att, err := s.d.cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: true, ConsoleSize: size})
	if err != nil {
		return nil, fmt.Errorf("attach to %s: %w", name, err)
	}
	t := &terminal{d: s.d, execID: created.ID, att: att}
	if opts.Size.Rows > 0 && opts.Size.Cols > 0 {
		// Engines before API 1.42 ignore the console size of an exec, and
		// the exec may not have started yet when the attach returns: set
		// the size once it runs.
		var rerr error
		for range 50 {
			if rerr = t.Resize(ctx, opts.Size); rerr == nil {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
		if rerr != nil {
			s.log.Warn("set initial terminal size", "service", name, "err", rerr)
		}
	}
	return t, nil
}

// terminal is a TTY exec attached over a hijacked connection.
type terminal struct {
	d      *Driver
	execID string
	att    client.ExecAttachResult
	once   sync.Once
}

// Read returns what the TTY printed.
func (t *terminal) Read(p []byte) (int, error) {
	n, err := t.att.Reader.Read(p)
	if err != nil && errors.Is(err, net.ErrClosed) {
		err = io.EOF
	}
	return n, err
}

// Write types p into the TTY.
func (t *terminal) Write(p []byte) (int, error) { return t.att.Conn.Write(p) }

// Close ends the attachment.
func (t *terminal) Close() error {
	t.once.Do(func() {
		_ = t.att.CloseWrite()
		t.att.Close()
	})
	return nil
}

// Resize changes the TTY's size.
func (t *terminal) Resize(ctx context.Context, size runner.TermSize) error {
	_, err := t.d.cli.ExecResize(ctx, t.execID, client.ExecResizeOptions{Height: uint(size.Rows), Width: uint(size.Cols)})
	if err != nil {
		return fmt.Errorf("resize terminal: %w", err)
	}
	return nil
}

// Wait blocks until the command exits and returns its exit code.
func (t *terminal) Wait(ctx context.Context) (int, error) {
	return t.d.waitExec(ctx, t.execID, 100*time.Millisecond)
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
