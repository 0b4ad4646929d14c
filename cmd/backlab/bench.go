package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/backlab/backlab/internal/ids"
	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/internal/labrun"
	"github.com/backlab/backlab/runner"
)

// cmdBenchSandbox measures cold sandbox-ready time for a lab: from the
// create call until every service is ready and a shell in the workspace
// answers, beside a raw `docker run` of the same images, alternating the
// two so that background load hits both alike.
func cmdBenchSandbox(ctx context.Context, args []string, stdout, stderr io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("bench sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 10, "rounds")
	pause := fs.Duration("pause", 500*time.Millisecond, "pause between starts")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *n < 1 {
		return errors.New("usage: backlab bench sandbox LAB [-n N]")
	}
	l, err := lab.Load(pos[0])
	if err != nil {
		return err
	}
	e, err := openEngine(ctx, logger, io.Discard)
	if err != nil {
		return err
	}
	defer e.Close()
	e.reapOrphans(ctx, stderr, logger)
	set, err := e.builder.Lab(ctx, l, true)
	if err != nil {
		return err
	}
	r := e.runner(logger)
	var ours, raw []time.Duration
	for i := 0; i < *n; i++ {
		d, err := benchBacklab(ctx, r, l)
		if err != nil {
			return fmt.Errorf("round %d (backlab): %w", i+1, err)
		}
		ours = append(ours, d)
		time.Sleep(*pause)
		d, err = benchRaw(ctx, l, set.Services)
		if err != nil {
			return fmt.Errorf("round %d (raw docker run): %w", i+1, err)
		}
		raw = append(raw, d)
		time.Sleep(*pause)
		fmt.Fprintf(stdout, "round %2d: backlab %6s  raw docker run %6s\n", i+1, ours[i].Round(time.Millisecond), raw[i].Round(time.Millisecond))
	}
	p50o, p95o := percentiles(ours)
	p50r, p95r := percentiles(raw)
	fmt.Fprintf(stdout, "\nlab %s, %d rounds\n", l.ID, *n)
	fmt.Fprintf(stdout, "| path | p50 | p95 |\n|---|---|---|\n")
	fmt.Fprintf(stdout, "| backlab (hardened, internal network, probes, shell answers) | %s | %s |\n", p50o.Round(time.Millisecond), p95o.Round(time.Millisecond))
	fmt.Fprintf(stdout, "| raw `docker run` of the same images (same order, same probes) | %s | %s |\n", p50r.Round(time.Millisecond), p95r.Round(time.Millisecond))
	fmt.Fprintf(stdout, "| ratio backlab / raw | %.2f | %.2f |\n", float64(p50o)/float64(p50r), float64(p95o)/float64(p95r))
	return nil
}

func percentiles(ds []time.Duration) (p50, p95 time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(s))+0.5) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return at(0.50), at(0.95)
}

// benchBacklab times Start plus a shell answering in the workspace.
func benchBacklab(ctx context.Context, r *labrun.Runner, l *lab.Lab) (time.Duration, error) {
	start := time.Now()
	s, err := r.Start(ctx, l, ids.New(ids.Bench), nil)
	if err != nil {
		return 0, err
	}
	defer s.Stop(context.WithoutCancel(ctx))
	t, err := s.Shell(ctx, runner.TermSize{Cols: 80, Rows: 24})
	if err != nil {
		return 0, err
	}
	defer t.Close()
	if err := shellAnswers(t); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// shellAnswers types an echo and waits for its output.
func shellAnswers(rw io.ReadWriter) error {
	if _, err := io.WriteString(rw, "echo ready-$((40+2))\n"); err != nil {
		return err
	}
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte("ready-42")) {
		n, err := rw.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return fmt.Errorf("shell did not answer: %w (got %q)", err, got)
		}
	}
	return nil
}

// benchRaw starts the same images with plain `docker run` (no hardening,
// a plain bridge network), waits for the same probes from the host and
// for a shell to answer, then removes everything.
func benchRaw(ctx context.Context, l *lab.Lab, imgs map[string]string) (time.Duration, error) {
	name := "backlab-bench-raw-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 36)
	var containers []string
	cleanup := func() {
		if len(containers) > 0 {
			exec.Command("docker", append([]string{"rm", "-f", "-v"}, containers...)...).Run()
		}
		for _, v := range l.Volumes {
			exec.Command("docker", "volume", "rm", "-f", name+"-"+v).Run()
		}
		exec.Command("docker", "network", "rm", name).Run()
	}
	defer cleanup()
	start := time.Now()
	if out, err := exec.CommandContext(ctx, "docker", "network", "create", "--label", runner.LabelManaged+"=bench", name).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("docker network create: %v: %s", err, out)
	}
	for _, svc := range l.Services {
		args := []string{"run", "-d", "--name", name + "-" + svc.Name, "--network", name, "--network-alias", svc.Name, "--label", runner.LabelManaged + "=bench"}
		for k, v := range svc.Env {
			args = append(args, "-e", k+"="+v)
		}
		if svc.User != "" {
			args = append(args, "--user", svc.User)
		}
		if svc.WorkDir != "" {
			args = append(args, "--workdir", svc.WorkDir)
		}
		for _, m := range svc.Mounts {
			args = append(args, "-v", name+"-"+m.Volume+":"+m.Path)
		}
		for p, opts := range svc.Tmpfs {
			args = append(args, "--tmpfs", p+":"+opts)
		}
		args = append(args, imgs[svc.Name])
		args = append(args, svc.Command...)
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("docker run %s: %v: %s", svc.Name, err, out)
		}
		containers = append(containers, strings.TrimSpace(string(out)))
		if err := rawWait(ctx, name+"-"+svc.Name, svc.Readiness); err != nil {
			return 0, fmt.Errorf("service %s: %w", svc.Name, err)
		}
	}
	ws := l.Workspace
	args := []string{"exec", "-i", "-t"}
	if ws.User != "" {
		args = append(args, "-u", ws.User)
	}
	args = append(args, "-w", ws.WorkDir, name+"-"+ws.Service, "bash", "-c", "echo ready-$((40+2))")
	if out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err != nil || !bytes.Contains(out, []byte("ready-42")) {
		// -t needs a terminal on stdin; fall back to a plain exec.
		args = slices.DeleteFunc(args, func(a string) bool { return a == "-t" })
		out, err = exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("ready-42")) {
			return 0, fmt.Errorf("shell did not answer: %v: %s", err, out)
		}
	}
	return time.Since(start), nil
}

// rawWait polls a lab readiness probe against a container started by hand.
func rawWait(ctx context.Context, container string, rd *lab.Readiness) error {
	if rd == nil {
		return nil
	}
	out, err := exec.CommandContext(ctx, "docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container).Output()
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	ip := strings.TrimSpace(string(out))
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		ok := false
		switch {
		case rd.TCP != 0:
			c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(rd.TCP)), time.Second)
			if err == nil {
				c.Close()
				ok = true
			}
		case rd.HTTP != nil:
			resp, err := client.Get("http://" + net.JoinHostPort(ip, strconv.Itoa(rd.HTTP.Port)) + rd.HTTP.Path)
			if err == nil {
				resp.Body.Close()
				ok = resp.StatusCode < 500
			}
		case len(rd.Exec) > 0:
			ok = exec.CommandContext(ctx, "docker", append([]string{"exec", container}, rd.Exec...)...).Run() == nil
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("not ready within 60s")
}
