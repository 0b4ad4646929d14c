package labrun

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/runner"
)

// ImageResolver returns the images of a lab.
type ImageResolver func(ctx context.Context, l *lab.Lab) (runner.ImageSet, error)

// Runner starts lab sessions on a driver.
type Runner struct {
	Driver runner.Driver
	Images ImageResolver
	// Instance labels what this process creates (see [InstanceID]).
	Instance string
	Log      *slog.Logger
}

func (r *Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// Run is one run of a lab's sandbox: the sandbox started from the lab's
// spec with its resolved images, from Start until Stop. (A learner's session in
// the server, package session, holds one; the store records sessions apart.)
type Run struct {
	Lab     *lab.Lab
	Images  runner.ImageSet
	Sandbox runner.Sandbox
	r       *Runner
}

// Start resolves the lab's images and starts its sandbox. progress, when
// not nil, receives provisioning events. On error nothing is left running.
func (r *Runner) Start(ctx context.Context, l *lab.Lab, sessionID string, progress func(runner.Event)) (*Run, error) {
	set, err := r.Images(ctx, l)
	if err != nil {
		return nil, err
	}
	spec := l.SandboxSpec(sessionID, r.Instance, func(svc lab.Service) string { return set.Services[svc.Name] })
	start := time.Now()
	sb, err := r.Driver.Start(ctx, spec, progress)
	if err != nil {
		if sb != nil {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = sb.Stop(stopCtx)
		}
		return nil, fmt.Errorf("start lab %s: %w", l.ID, err)
	}
	r.log().Info("sandbox ready", "lab", l.ID, "session", sessionID, "duration", time.Since(start).Round(time.Millisecond))
	return &Run{Lab: l, Images: set, Sandbox: sb, r: r}, nil
}

// Stop removes the session's sandbox.
func (run *Run) Stop(ctx context.Context) error {
	return run.Sandbox.Stop(ctx)
}

// Shell attaches the learner's shell in the workspace.
func (run *Run) Shell(ctx context.Context, size runner.TermSize) (runner.Terminal, error) {
	ws := run.Lab.Workspace
	cmd := ws.Shell
	if len(cmd) == 0 {
		cmd = []string{"bash", "-l"}
	}
	return run.Sandbox.Attach(ctx, ws.Service, runner.TTYOptions{
		Cmd: cmd, User: ws.User, WorkDir: ws.WorkDir, Size: size,
		Env: map[string]string{"TERM": "xterm-256color"},
	})
}
