package runnertest_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/backlab/backlab/runner"
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

// fakeSandbox starts a sandbox of two services sharing a volume: work
// (writable, working directory /data) and app (read-only, serving
// /data/www with busybox httpd on port 8080).
func fakeSandbox(t *testing.T, d *runnertest.FakeDriver) runner.Sandbox {
	t.Helper()
	img := runnertest.ConformanceImageRef
	sb, err := d.Start(t.Context(), runner.SandboxSpec{
		SessionID: "shell", LabID: "fake", Instance: "fake", Volumes: []string{"data"},
		Services: []runner.ServiceSpec{
			{Name: "work", Image: img, WorkDir: "/data", Mounts: []runner.Mount{{Volume: "data", Path: "/data"}}},
			{Name: "app", Image: img, Command: []string{"busybox", "httpd", "-f", "-p", "8080", "-h", "/data/www"},
				Mounts:    []runner.Mount{{Volume: "data", Path: "/data", ReadOnly: true}},
				Readiness: &runner.Probe{Kind: runner.ProbeHTTP, Port: 8080, Path: "/", Timeout: 5 * time.Second}},
		},
	}, nil)
	if sb != nil {
		t.Cleanup(func() { sb.Stop(context.Background()) })
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return sb
}

// TestFakeShell runs scripts in the fake's shell: the syntax, the
// commands, files shared through a volume, read-only mounts and the
// network between services.
func TestFakeShell(t *testing.T) {
	t.Parallel()
	d := runnertest.NewFakeDriver()
	d.AddImage(runnertest.ConformanceImageRef, func() runnertest.FakeImage {
		img := runnertest.ConformanceImage()
		img.Files["/data/www/index.html"] = "<h1>hi</h1>\n"
		return img
	}())
	sb := fakeSandbox(t, d)
	// Each step runs in work unless it names a service; they share files.
	tests := []struct {
		name       string
		service    string
		cmd        string
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string // contained in stderr
	}{
		{name: "pipes and substitution", cmd: `echo "$(printf 'a\nb\nc\n' | wc -l) lines"`, wantStdout: "3 lines\n"},
		{name: "arithmetic and exit", cmd: `echo $((6*7)); exit 3`, wantCode: 3, wantStdout: "42\n"},
		{name: "set -e stops", cmd: `set -e; false; echo not-here`, wantCode: 1},
		{name: "unknown command", cmd: `no-such-thing`, wantCode: 127, wantStderr: "command not found"},
		{name: "redirects and append", cmd: `echo one > f.txt; echo two >> f.txt; cat f.txt; cat missing 2>/dev/null || echo gone`, wantStdout: "one\ntwo\ngone\n"},
		{name: "stdin to a script", cmd: `read -r line; echo "got $line"`, stdin: "typed\n", wantStdout: "got typed\n"},
		{name: "mkdir, mv into a folder, ls", cmd: `mkdir -p d/e && touch d/x && mv d/x d/e && ls d/e`, wantStdout: "x\n"},
		{name: "mktemp and chmod --reference", cmd: `chmod 600 f.txt; t=$(mktemp -- ./.save.XXXXXX); chmod --reference=f.txt "$t"; stat -c %a "$t"; rm "$t"`, wantStdout: "600\n"},
		{name: "find prunes and prints", cmd: `mkdir -p .git/objects src && touch .git/HEAD src/main.go && find . -mindepth 1 \( -name .git -o -name www \) -prune -o -type f -printf '%y %P\n'`,
			wantStdout: "f d/e/x\nf f.txt\nf seed.txt\nf src/main.go\n"},
		{name: "grep and head", cmd: `printf 'a1\nb2\na3\na4\n' | grep a | head -n 2`, wantStdout: "a1\na3\n"},
		{name: "test and if", cmd: `if [ -d src ] && test -f src/main.go; then echo yes; else echo no; fi`, wantStdout: "yes\n"},
		{name: "read-only mount", service: "app", cmd: `echo x > /data/new.txt`, wantCode: 1, wantStderr: "read-only file system"},
		{name: "shared volume", service: "app", cmd: `cat /data/f.txt`, wantStdout: "one\ntwo\n"},
		{name: "httpd serves the volume", cmd: `wget -q -O - http://app:8080/index.html`, wantStdout: "<h1>hi</h1>\n"},
		{name: "httpd runs CGI scripts", cmd: `mkdir -p www/cgi-bin && printf 'printf "Status: 201\\r\\n\\r\\n%%s" "$QUERY_STRING"\n' > www/cgi-bin/q && wget -q -O - 'http://app:8080/cgi-bin/q?x=1'`, wantStdout: "x=1"},
		{name: "httpd 404", cmd: `wget -q -O - http://app:8080/nothing`, wantCode: 1, wantStderr: "404"},
		{name: "no such host", cmd: `wget -q -O - http://elsewhere:80/`, wantCode: 1, wantStderr: "no such host"},
	}
	for _, tt := range tests {
		ok := t.Run(tt.name, func(t *testing.T) {
			svc := tt.service
			if svc == "" {
				svc = "work"
			}
			res, err := sb.Exec(t.Context(), svc, runner.ExecOptions{Cmd: []string{"bash", "-c", tt.cmd}, Stdin: strings.NewReader(tt.stdin)})
			if err != nil {
				t.Fatalf("Exec: %v", err)
			}
			if res.ExitCode != tt.wantCode || string(res.Stdout) != tt.wantStdout || !strings.Contains(string(res.Stderr), tt.wantStderr) {
				t.Errorf("%s\n= (exit %d, stdout %q, stderr %q), want (exit %d, stdout %q, stderr with %q)",
					tt.cmd, res.ExitCode, res.Stdout, res.Stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
		if !ok {
			break // later steps build on earlier ones
		}
	}
}

// TestFakeTerminal types into the fake's TTY as a browser terminal does.
func TestFakeTerminal(t *testing.T) {
	t.Parallel()
	sb := fakeSandbox(t, runnertest.NewFakeDriver())
	term, err := sb.Attach(t.Context(), "work", runner.TTYOptions{Size: runner.TermSize{Cols: 80, Rows: 24}})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	defer term.Close()
	// CR ends a line as Enter does in a browser's terminal; backspace
	// edits it; a line left open continues on the next.
	io.WriteString(term, "echo helo\x7flo-$((1+1))\rif true; then\r echo inside\rfi\r")
	io.WriteString(term, "\x04")
	out, err := io.ReadAll(term)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	for _, want := range []string{"echo helo\b \blo-$((1+1))\r\n", "hello-2\r\n", "> ", "inside\r\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("terminal output %q lacks %q", out, want)
		}
	}
	if code, err := term.Wait(t.Context()); err != nil || code == 0 {
		t.Errorf("Wait after Ctrl-D = %d, %v; want the hangup's non-zero code", code, err)
	}
}

// TestCheckerScript runs scripted checkers as jobs and reads their
// events.
func TestCheckerScript(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		steps    []runnertest.Step
		wantCode int
		want     []string // type step, in order
	}{
		{"all pass", []runnertest.Step{{ID: "a"}, {ID: "b"}}, 0,
			[]string{"step.started a", "step.passed a", "step.started b", "step.passed b"}},
		{"second fails", []runnertest.Step{{ID: "a"}, {ID: "b", Failed: true, Hint: "try again"}}, 1,
			[]string{"step.started a", "step.passed a", "step.started b", "step.failed b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := runnertest.NewFakeDriver()
			d.AddImage("fake/checker", runnertest.FakeImage{User: "1000"})
			d.SetJob("fake/checker", runnertest.CheckerScript(tt.steps...))
			sb := fakeSandbox(t, d)
			job, err := sb.RunJob(t.Context(), runner.JobSpec{Name: "checker", Image: "fake/checker"})
			if err != nil {
				t.Fatalf("RunJob: %v", err)
			}
			defer job.Close(context.Background())
			out, _ := io.ReadAll(job.Output())
			code, err := job.Wait(t.Context())
			if err != nil || code != tt.wantCode {
				t.Errorf("Wait = %d, %v; want %d", code, err, tt.wantCode)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				var ev runner.Event
				if err := json.Unmarshal([]byte(line), &ev); err != nil {
					t.Fatalf("line %q is not an event: %v", line, err)
				}
				got = append(got, string(ev.Type)+" "+ev.Step)
				if ev.Type == runner.EventStepFailed && ev.Hint == "" {
					t.Errorf("failed step %s has no hint", ev.Step)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
		})
	}
}
