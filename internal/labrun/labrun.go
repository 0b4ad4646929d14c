package labrun

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/backlab/backlab/internal/images"
	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/runner"
)

// MaxCheckerOutput caps what a check run reads of its checker's output;
// beyond it the run ends as an error.
const MaxCheckerOutput = 4 << 20

// maxLine caps one line of checker output.
const maxLine = 256 << 10

// ImageResolver returns the images of a lab.
type ImageResolver func(ctx context.Context, l *lab.Lab) (images.Set, error)

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

// NewSessionID returns a fresh, unguessable session id with prefix
// (128 random bits).
func NewSessionID(prefix string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

// Session is one running sandbox of a lab.
type Session struct {
	Lab     *lab.Lab
	Images  images.Set
	Sandbox runner.Sandbox
	r       *Runner
}

// Start resolves the lab's images and starts its sandbox. progress, when
// not nil, receives provisioning events. On error nothing is left running.
func (r *Runner) Start(ctx context.Context, l *lab.Lab, sessionID string, progress func(runner.Event)) (*Session, error) {
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
	return &Session{Lab: l, Images: set, Sandbox: sb, r: r}, nil
}

// Stop removes the session's sandbox.
func (s *Session) Stop(ctx context.Context) error {
	return s.Sandbox.Stop(ctx)
}

// Shell attaches the learner's shell in the workspace.
func (s *Session) Shell(ctx context.Context, size runner.TermSize) (runner.Terminal, error) {
	ws := s.Lab.Workspace
	cmd := ws.Shell
	if len(cmd) == 0 {
		cmd = []string{"bash", "-l"}
	}
	return s.Sandbox.Attach(ctx, ws.Service, runner.TTYOptions{
		Cmd: cmd, User: ws.User, WorkDir: ws.WorkDir, Size: size,
		Env: map[string]string{"TERM": "xterm-256color"},
	})
}

// StepStatus is how one step of a check run ended.
type StepStatus string

// Step statuses.
const (
	StepPending StepStatus = "pending"
	StepRunning StepStatus = "running"
	StepPassed  StepStatus = "passed"
	StepFailed  StepStatus = "failed"
)

// StepResult is the latest state of one declared step.
type StepResult struct {
	ID      string     `json:"id"`
	Title   string     `json:"title"`
	Status  StepStatus `json:"status"`
	Message string     `json:"message,omitempty"`
	Hint    string     `json:"hint,omitempty"`
}

// Result is a finished check run.
type Result struct {
	Outcome runner.Outcome `json:"outcome"`
	// Error says why the outcome is error or timeout.
	Error    string         `json:"error,omitempty"`
	ExitCode int            `json:"exit_code"`
	Steps    []StepResult   `json:"steps"`
	Metrics  []runner.Event `json:"metrics,omitempty"`
	Duration time.Duration  `json:"duration"`
}

// Failed returns the ids of the steps that failed.
func (r Result) Failed() []string {
	var ids []string
	for _, s := range r.Steps {
		if s.Status == StepFailed {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// Check runs the lab's checker once against what the learner saved. emit,
// when not nil, receives every event as it happens. The returned error is
// non-nil only when the check could not be run at all (the engine broke);
// a checker that misbehaves yields a Result with outcome error or timeout.
func (s *Session) Check(ctx context.Context, emit func(runner.Event)) (Result, error) {
	if emit == nil {
		emit = func(runner.Event) {}
	}
	start := time.Now()
	j := newJudge(s.Lab)
	send := func(ev runner.Event) {
		if ev.Time.IsZero() {
			ev.Time = time.Now().UTC()
		}
		emit(ev)
	}
	finish := func(res Result) (Result, error) {
		res.Duration = time.Since(start)
		send(runner.Event{Type: runner.EventCheckFinished, Outcome: res.Outcome, Message: res.Error})
		return res, nil
	}
	send(runner.Event{Type: runner.EventCheckStarted})

	for _, svc := range s.Lab.Checker.Restart {
		send(runner.Event{Type: runner.EventLog, Message: "restarting " + svc + " from your saved files"})
		if err := s.Sandbox.Restart(ctx, svc); err != nil {
			if ctx.Err() != nil {
				return Result{}, ctx.Err()
			}
			// The learner's service did not come back: their work fails,
			// the checker is not to blame.
			msg := fmt.Sprintf("not checked: service %s did not start after restart: %v", svc, err)
			for _, st := range s.Lab.Checker.Steps {
				ev := runner.Event{Type: runner.EventStepFailed, Step: st.ID, Title: st.Title, Message: msg,
					Hint: "Look at why " + svc + " failed to start (the log above), fix it, save, and check again."}
				j.observe(ev)
				send(ev)
			}
			res := j.result(1)
			res.Outcome = runner.OutcomeFailed
			return finish(res)
		}
	}

	timeout := s.Lab.CheckerTimeout()
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	mounts := make([]runner.Mount, 0, len(s.Lab.Checker.Mounts))
	for _, m := range s.Lab.Checker.Mounts {
		mounts = append(mounts, runner.Mount{Volume: m.Volume, Path: m.Path, ReadOnly: true})
	}
	env := map[string]string{}
	for k, v := range s.Lab.Checker.Env {
		env[k] = v
	}
	env["BACKLAB_LAB"] = s.Lab.ID
	env["BACKLAB_SESSION"] = s.Sandbox.ID()
	env["BACKLAB_TIMEOUT"] = timeout.String()
	job, err := s.Sandbox.RunJob(runCtx, runner.JobSpec{
		Name: "checker-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36), Image: s.Images.Checker,
		Env: env, Mounts: mounts,
	})
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		return Result{}, fmt.Errorf("run checker of %s: %w", s.Lab.ID, err)
	}
	defer func() {
		closeCtx, c := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer c()
		_ = job.Close(closeCtx)
	}()

	readErr := make(chan error, 1)
	go func() { readErr <- readEvents(job.Output(), func(ev runner.Event) { j.observe(ev); send(ev) }) }()
	var rerr error
	select {
	case rerr = <-readErr:
	case <-runCtx.Done():
	}
	if runCtx.Err() != nil && ctx.Err() == nil {
		res := j.result(-1)
		res.Outcome = runner.OutcomeTimeout
		res.Error = fmt.Sprintf("the checker ran longer than its timeout of %s and was stopped", timeout)
		return finish(res)
	}
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	code, err := job.Wait(runCtx)
	if err != nil {
		if runCtx.Err() != nil && ctx.Err() == nil {
			res := j.result(-1)
			res.Outcome = runner.OutcomeTimeout
			res.Error = fmt.Sprintf("the checker ran longer than its timeout of %s and was stopped", timeout)
			return finish(res)
		}
		return Result{}, fmt.Errorf("wait for checker of %s: %w", s.Lab.ID, err)
	}
	res := j.result(code)
	if rerr != nil {
		res.Outcome, res.Error = runner.OutcomeError, rerr.Error()
	} else {
		res.Outcome, res.Error = j.judge(code)
	}
	return finish(res)
}

// readEvents parses checker output: one JSON event a line; other lines
// become log events. It fails when the output passes MaxCheckerOutput.
func readEvents(r io.Reader, fn func(runner.Event)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	total := 0
	for {
		line, err := readLine(br)
		total += len(line) + 1
		if total > MaxCheckerOutput {
			go io.Copy(io.Discard, r) //nolint:errcheck // drain so the job can exit
			return fmt.Errorf("the checker wrote more than %d bytes of output", MaxCheckerOutput)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			fn(parseLine(line))
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read checker output: %w", err)
		}
	}
}

// readLine reads one line, truncating it at maxLine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if len(line) < maxLine {
			line = append(line, chunk...)
		}
		if err != nil || !isPrefix {
			return line, err
		}
	}
}

// parseLine turns one line into an event: a JSON event, or a log line.
func parseLine(line []byte) runner.Event {
	var ev runner.Event
	if len(line) > 0 && line[0] == '{' && json.Unmarshal(line, &ev) == nil && ev.Type != "" {
		switch ev.Type {
		case runner.EventStepStarted, runner.EventStepPassed, runner.EventStepFailed, runner.EventLog, runner.EventMetric:
			return ev
		}
		return runner.Event{Type: runner.EventLog, Message: "checker sent an event of unknown type: " + string(line)}
	}
	return runner.Event{Type: runner.EventLog, Message: string(line)}
}

// judge tracks the declared steps through a run.
type judge struct {
	steps    []StepResult
	index    map[string]int
	unknown  []string
	metrics  []runner.Event
	reported map[string]int
}

func newJudge(l *lab.Lab) *judge {
	j := &judge{index: map[string]int{}, reported: map[string]int{}}
	for i, st := range l.Checker.Steps {
		j.steps = append(j.steps, StepResult{ID: st.ID, Title: st.Title, Status: StepPending})
		j.index[st.ID] = i
	}
	return j
}

func (j *judge) observe(ev runner.Event) {
	switch ev.Type {
	case runner.EventMetric:
		j.metrics = append(j.metrics, ev)
		return
	case runner.EventStepStarted, runner.EventStepPassed, runner.EventStepFailed:
	default:
		return
	}
	i, ok := j.index[ev.Step]
	if !ok {
		j.unknown = append(j.unknown, ev.Step)
		return
	}
	st := &j.steps[i]
	switch ev.Type {
	case runner.EventStepStarted:
		st.Status = StepRunning
	case runner.EventStepPassed:
		st.Status, st.Message, st.Hint = StepPassed, ev.Message, ""
		j.reported[ev.Step]++
	case runner.EventStepFailed:
		st.Status, st.Message, st.Hint = StepFailed, ev.Message, ev.Hint
		j.reported[ev.Step]++
	}
}

func (j *judge) result(code int) Result {
	return Result{ExitCode: code, Steps: append([]StepResult(nil), j.steps...), Metrics: j.metrics}
}

// judge decides the outcome from the exit code and what was reported.
func (j *judge) judge(code int) (runner.Outcome, string) {
	if len(j.unknown) > 0 {
		return runner.OutcomeError, fmt.Sprintf("the checker reported steps the lab does not declare: %s", strings.Join(j.unknown, ", "))
	}
	var missing, failed []string
	for _, st := range j.steps {
		switch st.Status {
		case StepPassed:
		case StepFailed:
			failed = append(failed, st.ID)
		default:
			missing = append(missing, st.ID)
		}
	}
	switch {
	case code != 0 && code != 1:
		return runner.OutcomeError, fmt.Sprintf("the checker exited with status %d (0 = all passed, 1 = some failed, anything else is a checker error)", code)
	case len(missing) > 0:
		return runner.OutcomeError, fmt.Sprintf("the checker did not report these declared steps: %s", strings.Join(missing, ", "))
	case code == 0 && len(failed) > 0:
		return runner.OutcomeError, fmt.Sprintf("the checker exited 0 but reported failed steps: %s", strings.Join(failed, ", "))
	case code == 1 && len(failed) == 0:
		return runner.OutcomeError, "the checker exited 1 (some failed) but reported no failed step"
	case code == 0:
		return runner.OutcomePassed, ""
	default:
		return runner.OutcomeFailed, ""
	}
}

// Apply copies a solution folder onto the workspace: files/ is overlaid on
// the workspace's working directory, then apply.sh (if any) runs there as
// the workspace user. The script's output goes to out.
func (s *Session) Apply(ctx context.Context, dir string, out io.Writer) error {
	ws := s.Lab.Workspace
	filesDir := filepath.Join(dir, "files")
	if info, err := os.Stat(filesDir); err == nil && info.IsDir() {
		uid, gid, err := s.workspaceIDs(ctx)
		if err != nil {
			return err
		}
		tarball, err := tarDir(filesDir, uid, gid)
		if err != nil {
			return fmt.Errorf("apply solution %s: %w", dir, err)
		}
		if err := s.Sandbox.CopyTo(ctx, ws.Service, ws.WorkDir, tarball); err != nil {
			return fmt.Errorf("apply solution %s: copy files: %w", dir, err)
		}
	}
	return s.runScript(ctx, dir, out)
}

// runScript runs dir's apply.sh, if there is one, in the workspace.
func (s *Session) runScript(ctx context.Context, dir string, out io.Writer) error {
	ws := s.Lab.Workspace
	script, err := os.ReadFile(filepath.Join(dir, "apply.sh"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("apply solution %s: %w", dir, err)
	}
	res, err := s.Sandbox.Exec(ctx, ws.Service, runner.ExecOptions{
		Cmd: []string{"bash", "-euo", "pipefail", "-s"}, User: ws.User, WorkDir: ws.WorkDir,
		Stdin: bytes.NewReader(script),
	})
	if err != nil {
		return fmt.Errorf("apply solution %s: run apply.sh: %w", dir, err)
	}
	if out != nil {
		out.Write(res.Stdout)
		out.Write(res.Stderr)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("apply solution %s: apply.sh exited %d: %s", dir, res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	return nil
}

// workspaceIDs returns the numeric uid and gid of the workspace user.
func (s *Session) workspaceIDs(ctx context.Context) (int, int, error) {
	ws := s.Lab.Workspace
	res, err := s.Sandbox.Exec(ctx, ws.Service, runner.ExecOptions{Cmd: []string{"sh", "-c", "id -u; id -g"}, User: ws.User})
	if err != nil {
		return 0, 0, fmt.Errorf("find workspace user: %w", err)
	}
	f := strings.Fields(string(res.Stdout))
	if res.ExitCode != 0 || len(f) != 2 {
		return 0, 0, fmt.Errorf("find workspace user: id said %q", strings.TrimSpace(string(res.Stdout)+string(res.Stderr)))
	}
	uid, err1 := strconv.Atoi(f[0])
	gid, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("find workspace user: id said %q", strings.Join(f, " "))
	}
	return uid, gid, nil
}

// tarDir packs dir's contents, owned by uid:gid.
func tarDir(dir string, uid, gid int) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.IsDir() && !info.Mode().IsRegular() {
			return fmt.Errorf("%s: only files and folders can be part of a solution", path)
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = uid, gid, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(tw, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}
