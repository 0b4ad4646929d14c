package runner

import (
	"context"
	"errors"
	"io"
)

// Errors drivers return.
var (
	ErrNoService = errors.New("runner: no such service")
	ErrStopped   = errors.New("runner: sandbox stopped")
)

// Driver provisions sandboxes on a container engine.
type Driver interface {
	// Start creates the sandbox spec describes and blocks until every service
	// is ready, or ctx ends, or a service fails. progress, when not nil, is
	// called as each service starts and becomes ready. On error the returned
	// Sandbox may be non-nil and must still be stopped; the driver has
	// already removed what it could.
	Start(ctx context.Context, spec SandboxSpec, progress func(Event)) (Sandbox, error)
	// List returns the sessions that have labelled resources on the engine.
	List(ctx context.Context) ([]SandboxInfo, error)
	// Reap removes every labelled resource whose session keep rejects, and
	// returns the sessions it removed.
	Reap(ctx context.Context, keep func(SandboxInfo) bool) ([]SandboxInfo, error)
}

// SandboxInfo identifies a sandbox found on the engine.
type SandboxInfo struct {
	SessionID string
	LabID     string
	Instance  string
}

// Sandbox is a running sandbox. Its methods are safe for concurrent use.
type Sandbox interface {
	// ID returns the session id.
	ID() string
	// Exec runs a command in a service without a TTY and returns once it
	// exits. Output beyond [MaxExecOutput] bytes per stream is dropped.
	Exec(ctx context.Context, service string, opts ExecOptions) (ExecResult, error)
	// Attach starts a command in a service with a TTY. The caller closes the
	// returned Terminal.
	Attach(ctx context.Context, service string, opts TTYOptions) (Terminal, error)
	// CopyTo extracts a tar stream into dir inside a service.
	CopyTo(ctx context.Context, service, dir string, tar io.Reader) error
	// Restart restarts a service and waits for its readiness probe.
	Restart(ctx context.Context, service string) error
	// RunJob starts a one-off container inside the sandbox network (a
	// checker). The caller must Close the job.
	RunJob(ctx context.Context, spec JobSpec) (Job, error)
	// Stop removes every resource of the sandbox. It is idempotent.
	Stop(ctx context.Context) error
}

// MaxExecOutput caps what Exec keeps of each output stream.
const MaxExecOutput = 1 << 20

// ExecOptions describe a command run in a service.
type ExecOptions struct {
	Cmd     []string
	User    string // empty: the service's user
	WorkDir string // empty: the service's working directory
	Env     map[string]string
	Stdin   io.Reader
}

// ExecResult is what a command left behind.
type ExecResult struct {
	ExitCode int
	Stdout   []byte
	Stderr   []byte
}

// TTYOptions describe an interactive command.
type TTYOptions struct {
	Cmd     []string // empty: the service's login shell ("bash -l")
	User    string
	WorkDir string
	Env     map[string]string
	Size    TermSize
}

// TermSize is a terminal's size in character cells.
type TermSize struct {
	Cols, Rows uint16
}

// Terminal is a command attached to a TTY. Reads return the TTY's output,
// writes go to its input. Close ends the attachment (the command gets a
// hangup).
type Terminal interface {
	io.ReadWriteCloser
	// Resize changes the TTY's size.
	Resize(ctx context.Context, size TermSize) error
	// Wait blocks until the command exits and returns its exit code.
	Wait(ctx context.Context) (int, error)
}

// JobSpec is a one-off container run inside a sandbox's network, out of the
// learner's reach: it shares no volume with the workspace unless Mounts says
// so (read-only mounts only).
type JobSpec struct {
	Name    string // unique within the sandbox, matches [NamePattern]
	Image   string
	Command []string
	Env     map[string]string
	User    string
	Mounts  []Mount // must be read-only
	Limits  Limits
	// Files is an optional tar stream extracted at / before the job starts.
	Files io.Reader
}

// Job is a running one-off container.
type Job interface {
	// Output returns the job's stdout and stderr, merged, as it is written.
	// It ends when the job exits.
	Output() io.Reader
	// Wait blocks until the job exits and returns its exit code.
	Wait(ctx context.Context) (int, error)
	// Close kills the job if it still runs and removes its container.
	Close(ctx context.Context) error
}
